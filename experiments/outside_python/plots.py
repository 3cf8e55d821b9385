"""The outside_python chapter's charts (seaborn), drawn from its tables."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

#: Colours of the portability classes (the export chapter's).
OUTCOME_COLOURS = {"fails": "#cc3311", "differs": "#e69f00", "matches": "#009e73"}


def outcome_chart(att: pd.DataFrame):
    """Outcome of every (source, workload) row in every host:runtime column, one panel per machine: colour and letter
    (F, D, M) give the class; `*` marks a model that also ran, and matched, at the other batch sizes."""
    from matplotlib.colors import ListedColormap

    from fwbench.experiments.outside_python.tables import RUNTIME_ORDER, is_true

    sns.set_theme(style="white", context="notebook")
    classes = list(OUTCOME_COLOURS)
    machines = sorted(att["machine_label"].unique())
    d = att.assign(source=att["framework"] + " " + att["workload"])
    columns = [r for r in RUNTIME_ORDER if r in set(d["runtime"])] + sorted(set(d["runtime"]) - set(RUNTIME_ORDER))
    rows = max(d[d["machine_label"] == m]["source"].nunique() for m in machines)
    fig, axes = plt.subplots(
        len(machines),
        1,
        figsize=(2.5 + 1.5 * len(columns), 0.6 + (1.8 + 0.45 * rows) * len(machines)),
        squeeze=False,
        constrained_layout=True,
    )
    for ax, machine in zip(axes[:, 0], machines):
        dm = d[d["machine_label"] == machine]
        codes = dm.pivot_table(index="source", columns="runtime", values="outcome", aggfunc="first").reindex(
            columns=columns
        )
        dyn = dm.pivot_table(index="source", columns="runtime", values="dynamic_batch_ok", aggfunc="first").reindex(
            index=codes.index, columns=columns
        )
        numeric = codes.apply(lambda col: col.map(lambda o: classes.index(o) if o in classes else np.nan))
        labels = codes.apply(lambda col: col.map(lambda o: {"fails": "F", "differs": "D", "matches": "M"}.get(o, "")))
        labels = labels.fillna("") + dyn.apply(lambda col: col.map(lambda v: "*" if is_true(v) else "")).fillna("")
        sns.heatmap(
            numeric.astype(float),
            ax=ax,
            cmap=ListedColormap(list(OUTCOME_COLOURS.values())),
            vmin=-0.5,
            vmax=2.5,
            cbar=False,
            annot=labels.values,
            fmt="",
            linewidths=1,
            linecolor="white",
            annot_kws={"fontsize": 10, "fontweight": "bold", "color": "white"},
        )
        ax.set_title(f"{machine}: each source model in each runtime outside Python (blank: no path)")
        ax.set_xlabel("host:runtime")
        ax.set_ylabel("source framework and workload")
        ax.tick_params(axis="x", labelrotation=20)
        ax.tick_params(axis="y", labelrotation=0)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in OUTCOME_COLOURS.values()]
    fig.legend(
        handles, ["fails", "works but differs", "works and matches"], loc="outside lower center", ncols=3, frameon=False
    )
    return fig


def latency_chart(att: pd.DataFrame):
    """Inference latency per (source, host:runtime): geometric mean of the per-process medians with 95% intervals
    over processes, batch 1 and batch 64 panels, one row of panels per machine; log scale."""
    from matplotlib.ticker import NullFormatter

    sns.set_theme(style="whitegrid", context="notebook")
    d = att.dropna(subset=["latency_b1_s"]).copy()
    d["label"] = d["framework"] + " " + d["workload"] + " → " + d["runtime"]
    batches = [b for b in (1, 64) if d[f"latency_b{b}_s"].notna().any()]
    machines = sorted(d["machine_label"].unique())
    labels = list(dict.fromkeys(d["label"]))
    hosts = sorted(d["host"].unique())
    palette = dict(zip(hosts, sns.color_palette("colorblind", n_colors=max(len(hosts), 3))))
    fig, axes = plt.subplots(
        len(machines),
        len(batches),
        figsize=(6.5 * len(batches), 1.2 + 0.42 * len(labels) * len(machines)),
        squeeze=False,
        constrained_layout=True,
    )
    for r, machine in enumerate(machines):
        dm = d[d["machine_label"] == machine].set_index("label").reindex(labels)
        for c, b in enumerate(batches):
            ax = axes[r][c]
            med, lo, hi = (
                pd.to_numeric(dm[f"latency_b{b}{part}"], errors="coerce") * 1e3
                for part in ("_s", "_ci_low_s", "_ci_high_s")
            )
            y = np.arange(len(labels))
            colours = [palette.get(h, "grey") for h in dm["host"].fillna("")]
            ax.barh(y, med, 0.7, color=colours)
            ax.errorbar(med, y, xerr=[med - lo, hi - med], fmt="none", ecolor="black", capsize=2, lw=0.8)
            ax.set_yticks(y, labels, fontsize=9)
            ax.invert_yaxis()
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(
                NullFormatter()
            )  # a narrow log range labels its minor ticks on top of each other
            ax.set_xlabel(f"latency per call at batch {b} (ms, log)")
            ax.set_title(f"{machine}: batch {b}")
    handles = [plt.Rectangle((0, 0), 1, 1, color=palette[h]) for h in hosts]
    fig.legend(handles, [f"in {h}" for h in hosts], loc="outside lower center", ncols=len(hosts), frameon=False)
    return fig
