"""The ergonomics chapter's chart: each count of each program, one panel per count."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from fwbench.experiments.ergonomics.tables import COUNTS, PROGRAM_NAMES


def counts_chart(df: pd.DataFrame):
    """One panel per count (lines, tokens, API names, concepts, nesting), one bar per program, a row per machine;
    each bar labelled with its exact count (counts have no interval)."""
    sns.set_theme(style="whitegrid", context="notebook")
    d = df.dropna(subset=["logical lines"])
    machines = sorted(d["machine_label"].unique())
    names = [n for n in PROGRAM_NAMES.values() if n in set(d["program"])]
    colours = dict(zip(PROGRAM_NAMES.values(), sns.color_palette("colorblind", n_colors=len(PROGRAM_NAMES))))
    metrics = list(COUNTS.values())
    fig, axes = plt.subplots(
        len(machines),
        len(metrics),
        figsize=(2.6 * len(metrics), 0.9 + 2.4 * len(machines)),
        squeeze=False,
        constrained_layout=True,
    )
    for r, machine in enumerate(machines):
        dm = d[d["machine_label"] == machine].set_index("program").reindex(names)
        for c, metric in enumerate(metrics):
            ax = axes[r][c]
            values = dm[metric].astype(float)
            bars = ax.barh(range(len(names)), values, color=[colours[n] for n in names])
            ax.bar_label(bars, labels=["" if pd.isna(v) else f"{int(v)}" for v in values], padding=2, fontsize=8)
            ax.set_yticks(range(len(names)), names if c == 0 else [""] * len(names), fontsize=9)
            ax.invert_yaxis()
            ax.set_xlim(0, max(values.max() * 1.25, 1))
            ax.set_title(metric if len(machines) == 1 else f"{machine}: {metric}", fontsize=10)
    return fig
