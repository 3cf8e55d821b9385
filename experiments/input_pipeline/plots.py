"""Figures of the input-pipeline experiment: samples per second against workers, per loader and format."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

#: One colour per loader, one line style per format kind, in every figure.
COLOURS = {"tf.data": "#ff7f0e", "DataLoader": "#1f77b4", "grain": "#2ca02c"}
STYLES = {"common": "-", "own": "--"}


def throughput(pipes: pd.DataFrame):
    """samples/s (95% interval over processes) against workers; one panel per machine and page cache."""
    pipes = pipes.dropna(subset=["samples_per_s"])
    panels = list(pipes.groupby(["machine_label", "page_cache"])) if not pipes.empty else []
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(6 * max(1, len(panels)), 4), squeeze=False)
    for ax, ((machine, cache), g) in zip(axes[0], panels):
        for (loader, fmt, kind), s in g.groupby(["loader", "format", "kind"]):
            s = s.sort_values("workers")
            lo = (s["samples_per_s"] - s["samples_per_s_ci_low"]).clip(lower=0)
            hi = (s["samples_per_s_ci_high"] - s["samples_per_s"]).replace(np.inf, np.nan)
            ax.errorbar(
                s["workers"],
                s["samples_per_s"],
                yerr=[lo.fillna(0), hi.fillna(0)],
                capsize=3,
                color=COLOURS.get(loader),
                linestyle=STYLES.get(kind, ":"),
                marker="o",
                label=f"{loader} ({fmt})",
            )
        ax.set_title(f"{machine}, {cache} page cache", fontsize=9)
        ax.set_xlabel("workers (processes; tf.data: map threads)")
        ax.set_ylabel("samples per second")
        ax.set_xticks(sorted(g["workers"].unique()))
        # Two processes give a t interval with one degree of freedom, often far wider than the estimates: the axis
        # follows the estimates, and a whisker past it is cut at the panel's top (the table holds its end).
        ax.set_ylim(0, 2 * float(g["samples_per_s"].max()))
        ax.legend(fontsize=8)
    if not panels:
        axes[0][0].text(0.5, 0.5, "no pipeline measured", ha="center", va="center")
        axes[0][0].set_axis_off()
    fig.tight_layout()
    return fig
