"""The data-parallel chapter's chart (seaborn), drawn from its tables."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

CONFIG_ORDER = ["1x1", "1x2", "2x1"]
CONFIG_LABELS = {"1x1": "1 process x 1 thread", "1x2": "1 process x 2 threads", "2x1": "2 processes x 1 thread"}


def step_chart(steps: pd.DataFrame):
    """Step time of each configuration per framework (geometric mean over processes, 95% interval over processes),
    one panel per machine and workload; a configuration with one process has no whisker."""
    sns.set_theme(style="whitegrid", context="notebook")
    panels = sorted(steps.groupby(["machine_label", "workload"]).groups)
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(7.5, 1.2 + 2.4 * len(panels)), squeeze=False, constrained_layout=True
    )
    colours = dict(zip(CONFIG_ORDER, sns.color_palette("colorblind", len(CONFIG_ORDER))))
    for ax, (machine, workload) in zip(axes[:, 0], panels):
        d = steps[(steps["machine_label"] == machine) & (steps["workload"] == workload)]
        frameworks = sorted(d["framework"].unique())
        width = 0.8 / len(CONFIG_ORDER)
        for i, config in enumerate(CONFIG_ORDER):
            dc = d[d["config"] == config].set_index("framework").reindex(frameworks)
            y = np.arange(len(frameworks)) + (i - 1) * width
            est = dc["step_time_s"].to_numpy(float) * 1e3
            lo = np.where(np.isfinite(dc["ci_low_s"]) & (dc["ci_low_s"] > 0), dc["ci_low_s"] * 1e3, est)
            hi = np.where(np.isfinite(dc["ci_high_s"]), dc["ci_high_s"] * 1e3, est)
            ax.barh(y, est, height=width, color=colours[config], label=CONFIG_LABELS[config])
            ax.errorbar(
                est,
                y,
                xerr=[np.nan_to_num(est - lo), np.nan_to_num(hi - est)],
                fmt="none",
                ecolor="black",
                capsize=3,
                lw=1,
            )
        ax.set_yticks(np.arange(len(frameworks)), frameworks)
        ax.set_xlabel("training step time, ms (global batch, slowest rank)")
        ax.set_title(f"{machine}: {workload}")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
    return fig
