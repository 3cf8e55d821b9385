"""The serving chapter's charts (seaborn), drawn from its tables."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from fwbench.report.plots import panel_grid, plain_log_ticks, variant_palette

#: Per series of a latency-throughput chart, in label order, so no two series look alike even in one colour family.
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
DASHES = ["-", "--", "-.", ":"]


def latency_throughput_chart(levels: pd.DataFrame, workload: str):
    """Closed-loop latency-throughput curves of one workload: throughput on x, p99 latency on y (log), one line per
    serving variant, points in order of concurrency; rows: machine and batching, columns: wire format."""
    sns.set_theme(style="whitegrid", context="notebook")
    d = levels[(levels["workload"] == workload) & (levels["kind"] == "closed")].dropna(subset=["latency_p99_s"])
    d = d.assign(row=[f"{m}, {'batching' if b else 'no batching'}" for m, b in zip(d["machine_label"], d["batching"])])
    rows, cols = sorted(d["row"].unique()), sorted(d["format"].unique())
    # Shared axes: panels read against each other (batching on/off, formats) without re-reading the scales.
    fig, axes = plt.subplots(
        len(rows),
        len(cols),
        figsize=(6.0 * len(cols) + 2.2, 3.8 * len(rows)),
        squeeze=False,
        constrained_layout=True,
        sharey=True,
        sharex=True,
    )
    palette = variant_palette(d["label"])
    # Shades of one framework's family can sit close: a marker and a dash of its own keep every series apart.
    markers = dict(zip(sorted(palette), MARKERS * (len(palette) // len(MARKERS) + 1)))
    dashes = dict(zip(sorted(palette), DASHES * (len(palette) // len(DASHES) + 1)))
    for r, row in enumerate(rows):
        for c, fmt in enumerate(cols):
            ax, p = axes[r][c], d[(d["row"] == row) & (d["format"] == fmt)]
            for lab, g in p.sort_values("concurrency").groupby("label"):
                ax.plot(
                    g["throughput_rps"],
                    g["latency_p99_s"] * 1e3,
                    marker=markers[lab],
                    ls=dashes[lab],
                    color=palette[lab],
                    label=lab,
                )
                last = g.iloc[-1]
                ax.annotate(
                    f"{int(last['concurrency'])}",
                    (last["throughput_rps"], last["latency_p99_s"] * 1e3),
                    fontsize=7,
                    xytext=(3, 0),
                    textcoords="offset points",
                )
            ax.set_yscale("log")
            plain_log_ticks(ax.yaxis)
            ax.set_title(f"{row}, {fmt}", fontsize=10)
            ax.set_xlabel("throughput (requests/s)")
            ax.set_ylabel("p99 latency (ms, log)" if c == 0 else "")
    handles = {lab: plt.Line2D([], [], color=col, marker=markers[lab], ls=dashes[lab]) for lab, col in palette.items()}
    fig.legend(handles.values(), handles.keys(), loc="outside right upper", fontsize=8)
    return fig


def cold_start_chart(servers: pd.DataFrame):
    """Cold start (process start to first correct response) per serving variant and workload; log scale."""
    sns.set_theme(style="whitegrid", context="notebook")
    d = servers.dropna(subset=["cold_start_s"])
    d = d[d["batching"] == False]  # noqa: E712 - one start per variant: batching does not change start-up
    g = sns.catplot(
        data=d,
        kind="bar",
        x="cold_start_s",
        y="label",
        hue="workload",
        row="machine_label",
        height=0.34 * max(d["label"].nunique(), 4) + 1.2,
        aspect=2.0,
        palette="colorblind",
        legend_out=True,
    )
    g.set(xscale="log")
    for ax in g.axes.flat:
        plain_log_ticks(ax.xaxis)
    g.set_axis_labels("cold start: process start to first correct response (s, log)", "")
    g.set_titles("{row_name}")
    return g.figure


def batching_chart(levels: pd.DataFrame):
    """Throughput with dynamic batching over without, per variant, at each closed-loop concurrency (JSON format
    where measured, else the first format); one panel per (machine, workload). Above 1: batching helps."""
    sns.set_theme(style="whitegrid", context="notebook")
    d = levels[levels["kind"] == "closed"]
    fmt = "json" if (d["format"] == "json").any() else (d["format"].iloc[0] if not d.empty else "json")
    d = d[d["format"] == fmt]
    wide = d.pivot_table(
        index=["machine_label", "workload", "label", "concurrency"], columns="batching", values="throughput_rps"
    ).dropna()
    if True not in wide or False not in wide:
        return None
    wide = wide.assign(ratio=wide[True] / wide[False]).reset_index()
    workloads = sorted(wide["workload"].unique())
    fig, panels = panel_grid(wide, workloads, "workload", width=6.0, height=0.3 * wide["label"].nunique() + 1.6)
    for ax, machine, workload, p in panels:
        sns.barplot(
            data=p.assign(clients=p["concurrency"].astype(int)),
            y="label",
            x="ratio",
            hue="clients",
            ax=ax,
            palette="crest",
            orient="h",
        )
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
        ax.set_title(f"{machine}: {workload} ({fmt})", fontsize=10)
        ax.set_xlabel("throughput with batching / without (log)")
        ax.set_ylabel("")
        ax.legend(title="clients", fontsize=7, title_fontsize=8)
    return fig
