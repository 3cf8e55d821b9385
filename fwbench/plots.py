"""Seaborn figures for the chapters; each takes a table from fwbench.report and returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

PHASES = ["train", "infer"]


def _panels(df: pd.DataFrame, width: float = 5.5, height: float = 3.6):
    """A grid with one row per machine and one column per phase; yields (axes, machine, phase, rows)."""
    sns.set_theme(style="whitegrid", context="notebook")
    machines = sorted(df["machine_label"].unique())
    fig, axes = plt.subplots(len(machines), len(PHASES), figsize=(width * len(PHASES), height * len(machines)),
                             squeeze=False, constrained_layout=True)
    panels = [(axes[r][c], m, p, df[(df.machine_label == m) & (df.phase == p)])
              for r, m in enumerate(machines) for c, p in enumerate(PHASES)]
    return fig, panels


def _palette(df: pd.DataFrame) -> dict:
    return dict(zip(sorted(df["framework"].unique()), sns.color_palette("colorblind")))


def speedup_chart(cmp: pd.DataFrame):
    """Speedup of each compiled variant over its framework's eager mode, with 95% CI, per machine and phase."""
    fig, panels = _panels(cmp)
    palette = _palette(cmp)
    for ax, machine, phase, d in panels:
        d = d.sort_values(["framework", "variant"])
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
    fig, panels = _panels(wide)
    palette = _palette(wide)
    for ax, machine, phase, d in panels:
        d = d.sort_values(["framework", "mode", "variant"])
        for i, row in enumerate(d.itertuples()):
            med = row.step_time_median_s * 1e3
            err = [[med - row.step_time_ci_low_s * 1e3], [row.step_time_ci_high_s * 1e3 - med]]
            ax.errorbar(med, i, xerr=err, fmt="o" if row.mode == "graph" else "s",
                        color=palette[row.framework], capsize=3)
        ax.set_yticks(np.arange(len(d)), [f"{f} {v}" for f, v in zip(d["framework"], d["variant"])], fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("median step time (ms, log scale)")
        batches = ", ".join(str(int(b)) for b in sorted(d["batch_size"].unique()))
        ax.set_title(f"{machine}: {phase} step, batch {batches}")
        ax.invert_yaxis()
    return fig
