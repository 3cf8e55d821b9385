"""The export chapter's charts (seaborn), drawn from its tables."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

#: Colours of the export experiment's portability classes.
PORTABILITY_COLOURS = {"fails": "#cc3311", "differs": "#e69f00", "matches": "#009e73"}


def portability_chart(attempts: pd.DataFrame):
    """Outcome of every (source framework, export path) row and workload column; one panel per machine.

    Colour is the class (fails / works but differs / works and matches); the letter says it again
    (F, D, M) and a trailing `*` marks an artifact that also ran, and matched, at other batch sizes.
    """
    from matplotlib.colors import ListedColormap

    from fwbench.experiments.export.tables import is_true, matrix

    sns.set_theme(style="white", context="notebook")
    machines = sorted(attempts["machine_label"].unique())
    classes = list(PORTABILITY_COLOURS)
    workloads = sorted(attempts["workload"].unique())
    n_rows = (
        attempts.groupby("machine_label")
        .apply(lambda d: d[["framework", "path"]].drop_duplicates().shape[0], include_groups=False)
        .max()
    )
    # Each panel needs room for its title, tick labels and the legend beyond its rows, or constrained layout
    # collapses a one-path panel to nothing.
    fig, axes = plt.subplots(
        len(machines),
        1,
        figsize=(3.5 + 1.1 * len(workloads), 0.6 + (1.6 + 0.42 * n_rows) * len(machines)),
        squeeze=False,
        constrained_layout=True,
    )
    for ax, machine in zip(axes[:, 0], machines):
        dm = attempts[attempts["machine_label"] == machine]
        codes = matrix(dm).reindex(columns=workloads)
        dyn = (
            dm.assign(source_path=dm["framework"] + " " + dm["path"])
            .pivot_table(index="source_path", columns="workload", values="dynamic_batch_ok", aggfunc="first")
            .reindex(index=codes.index, columns=workloads)
        )
        numeric = codes.apply(lambda col: col.map(lambda o: classes.index(o) if o in classes else np.nan))
        labels = codes.apply(lambda col: col.map(lambda o: {"fails": "F", "differs": "D", "matches": "M"}.get(o, "")))
        labels = labels + dyn.apply(lambda col: col.map(lambda v: "*" if is_true(v) else "")).fillna("")
        sns.heatmap(
            numeric.astype(float),
            ax=ax,
            cmap=ListedColormap(list(PORTABILITY_COLOURS.values())),
            vmin=-0.5,
            vmax=2.5,
            cbar=False,
            annot=labels.fillna("").values,
            fmt="",
            linewidths=1,
            linecolor="white",
            annot_kws={"fontsize": 10, "fontweight": "bold", "color": "white"},
        )
        ax.set_title(f"{machine}: each export path on each workload")
        ax.set_xlabel("workload")
        ax.set_ylabel("source framework and export path")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in PORTABILITY_COLOURS.values()]
    fig.legend(
        handles, ["fails", "works but differs", "works and matches"], loc="outside lower center", ncols=3, frameon=False
    )
    return fig


def export_size_chart(attempts: pd.DataFrame):
    """Artifact size on disk per (source, path), one colour per workload; log scale."""
    sns.set_theme(style="whitegrid", context="notebook")
    d = attempts.dropna(subset=["export_bytes"]).copy()
    d["source and path"] = d["framework"] + " " + d["path"]
    d["MB"] = d["export_bytes"] / 1e6
    g = sns.catplot(
        data=d,
        kind="bar",
        x="MB",
        y="source and path",
        hue="workload",
        row="machine_label",
        height=0.32 * max(d["source and path"].nunique(), 4) + 1.2,
        aspect=2.0,
        palette="colorblind",
        legend_out=True,
    )
    g.set(xscale="log")
    g.set_axis_labels("artifact size on disk (MB, log)", "")
    g.set_titles("{row_name}")
    return g.figure


def export_latency_chart(attempts: pd.DataFrame):
    """Inference latency in the target runtime (median, 95% CI) per (source, path): batch 1 and batch 64 panels."""
    sns.set_theme(style="whitegrid", context="notebook")
    d = attempts.copy()
    d["label"] = d["framework"] + " " + d["path"]
    batches = [b for b in (1, 64) if d[f"latency_b{b}_s"].notna().any()]
    machines = sorted(d["machine_label"].unique())
    workloads = sorted(d["workload"].unique())
    labels = list(dict.fromkeys(d["label"]))
    palette = dict(zip(workloads, sns.color_palette("colorblind", n_colors=max(len(workloads), 3))))
    fig, axes = plt.subplots(
        len(machines),
        len(batches),
        figsize=(6.5 * len(batches), 0.8 + 0.42 * len(labels) * len(machines)),
        squeeze=False,
        constrained_layout=True,
    )
    height = 0.8 / max(len(workloads), 1)
    for r, machine in enumerate(machines):
        for c, b in enumerate(batches):
            ax = axes[r][c]
            dm = d[d["machine_label"] == machine]
            for j, w in enumerate(workloads):
                dw = dm[dm["workload"] == w].set_index("label").reindex(labels)
                y = np.arange(len(labels)) + (j - (len(workloads) - 1) / 2) * height
                med, lo, hi = (
                    pd.to_numeric(dw[f"latency_b{b}{part}"], errors="coerce") * 1e3
                    for part in ("_s", "_ci_low_s", "_ci_high_s")
                )  # no interval (one process): no whisker
                ax.barh(y, med, height, color=palette[w], label=w if (r, c) == (0, 0) else None)
                ax.errorbar(med, y, xerr=[med - lo, hi - med], fmt="none", ecolor="black", capsize=1.5, lw=0.7)
            ax.set_yticks(np.arange(len(labels)), labels, fontsize=9)
            ax.invert_yaxis()
            ax.set_xscale("log")
            ax.set_xlabel(f"latency per call at batch {b} (ms, log)")
            ax.set_title(f"{machine}: batch {b}")
    fig.legend(loc="outside lower center", ncols=max(len(workloads), 1), frameon=False)
    return fig
