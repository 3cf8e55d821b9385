"""Seaborn figures for the chapters; each takes a table from fwbench.report and returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

PHASES = ["train", "infer"]


def _grid(machines: list[str], n_cols: int, width: float = 5.5, height: float = 3.6):
    fig, axes = plt.subplots(len(machines), n_cols, figsize=(width * n_cols, height * len(machines)),
                             squeeze=False, constrained_layout=True)
    return fig, axes


def speedup_chart(cmp: pd.DataFrame):
    """Speedup of each compiled variant over its framework's eager mode, with 95% CI, per machine and phase."""
    sns.set_theme(style="whitegrid", context="notebook")
    machines = sorted(cmp["machine_label"].unique())
    fig, axes = _grid(machines, len(PHASES))
    palette = dict(zip(sorted(cmp["framework"].unique()), sns.color_palette("colorblind")))
    for r, machine in enumerate(machines):
        for c, phase in enumerate(PHASES):
            ax = axes[r][c]
            d = cmp[(cmp.machine_label == machine) & (cmp.phase == phase)].sort_values(["framework", "variant"])
            labels = [f"{v}\n({dev}, {wl})" for v, dev, wl in zip(d["variant"], d["device"], d["workload"])]
            x = np.arange(len(d))
            ax.bar(x, d["speedup"], color=[palette[f] for f in d["framework"]])
            ax.errorbar(x, d["speedup"], yerr=[d["speedup"] - d["speedup_ci_low"], d["speedup_ci_high"] - d["speedup"]],
                        fmt="none", ecolor="black", capsize=4, lw=1)
            ax.axhline(1.0, color="black", lw=1, ls="--")
            ax.set_xticks(x, labels, fontsize=8)
            ax.set_ylabel("speedup over eager (x)")
            ax.set_title(f"{machine}: {phase} step")
    handles = [plt.Rectangle((0, 0), 1, 1, color=col) for col in palette.values()]
    fig.legend(handles, list(palette), loc="outside lower center", ncols=len(palette), frameon=False)
    return fig


def step_time_chart(wide: pd.DataFrame):
    """Median step time of every variant with its 95% CI (log scale), per machine and phase."""
    sns.set_theme(style="whitegrid", context="notebook")
    machines = sorted(wide["machine_label"].unique())
    fig, axes = _grid(machines, len(PHASES))
    palette = dict(zip(sorted(wide["framework"].unique()), sns.color_palette("colorblind")))
    for r, machine in enumerate(machines):
        for c, phase in enumerate(PHASES):
            ax = axes[r][c]
            d = wide[(wide.machine_label == machine) & (wide.phase == phase)].sort_values(["framework", "mode", "variant"])
            y = np.arange(len(d))
            med = d["step_time_median_s"] * 1e3
            lo = med - d["step_time_ci_low_s"] * 1e3
            hi = d["step_time_ci_high_s"] * 1e3 - med
            for i, (_, row) in enumerate(d.iterrows()):
                ax.errorbar(med.iloc[i], y[i], xerr=[[lo.iloc[i]], [hi.iloc[i]]], fmt="o" if row["mode"] == "graph" else "s",
                            color=palette[row["framework"]], capsize=3)
            ax.set_yticks(y, [f"{f} {v}" for f, v in zip(d["framework"], d["variant"])], fontsize=8)
            ax.set_xscale("log")
            ax.set_xlabel("median step time (ms, log scale)")
            ax.set_title(f"{machine}: {phase} step, batch {', '.join(str(int(b)) for b in sorted(d['batch_size'].unique()))}")
            ax.invert_yaxis()
    return fig
