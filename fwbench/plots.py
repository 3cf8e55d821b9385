"""Seaborn figures for the chapters; each takes a table from fwbench.report and returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from fwbench.stats import EQUIVALENCE_MARGIN

PHASES = ["train", "infer"]


def _panels(df: pd.DataFrame, columns: list, column_key: str, width: float = 5.5, height: float = 3.6):
    """A grid with one row per machine and one column per value of `column_key`; yields (axes, machine, column, rows)."""
    sns.set_theme(style="whitegrid", context="notebook")
    machines = sorted(df["machine_label"].unique())
    fig, axes = plt.subplots(len(machines), len(columns), figsize=(width * len(columns), height * len(machines)),
                             squeeze=False, constrained_layout=True)
    panels = [(axes[r][c], m, v, df[(df.machine_label == m) & (df[column_key] == v)])
              for r, m in enumerate(machines) for c, v in enumerate(columns)]
    return fig, panels


def _not_measured(ax, title: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, "not measured on this machine", ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def variant_palette(variants) -> dict:
    return dict(zip(sorted(set(variants)), sns.color_palette("colorblind", n_colors=max(len(set(variants)), 3))))


def speedup_chart(cmp: pd.DataFrame):
    """Speedup of each compiled variant over its framework's eager mode, with 95% CI: workloads on x, per phase."""
    fig, panels = _panels(cmp, PHASES, "phase")
    palette = variant_palette(cmp["variant"])
    workloads = sorted(cmp["workload"].unique())
    variants = sorted(cmp["variant"].unique())
    width = 0.8 / max(len(variants), 1)
    for ax, machine, phase, d in panels:
        for j, variant in enumerate(variants):
            dv = d[d["variant"] == variant].set_index("workload").reindex(workloads)
            x = np.arange(len(workloads)) + (j - (len(variants) - 1) / 2) * width
            ax.bar(x, dv["speedup"], width, color=palette[variant], label=variant)
            # An interval that could not be computed (one process) has no whisker rather than an infinite one.
            finite = (np.isfinite(dv["speedup_ci_high"]) & (dv["speedup_ci_low"] > 0)).to_numpy()
            if finite.any():
                f = dv[finite]
                ax.errorbar(x[finite], f["speedup"], yerr=[f["speedup"] - f["speedup_ci_low"],
                                                           f["speedup_ci_high"] - f["speedup"]],
                            fmt="none", ecolor="black", capsize=2, lw=0.8)
        ax.axhline(1.0, color="black", lw=1, ls="--")
        ax.axhspan(1 / (1 + EQUIVALENCE_MARGIN), 1 + EQUIVALENCE_MARGIN, color="0.85", zorder=0)
        ax.set_xticks(np.arange(len(workloads)), workloads, fontsize=8, rotation=30)
        ax.set_yscale("log")
        ax.set_ylabel("speedup over eager (x, log)")
        batches = ", ".join(str(int(b)) for b in sorted(d["batch_size"].unique()))
        ax.set_title(f"{machine}: {phase}, batch {batches}")
    handles = [plt.Rectangle((0, 0), 1, 1, color=palette[v]) for v in variants]
    fig.legend(handles, variants, loc="outside lower center", ncols=len(variants), frameon=False)
    return fig


def batch_chart(cells: pd.DataFrame):
    """Inference time per sample against batch size, one line per framework variant, one panel per workload."""
    infer = cells[cells["phase"] == "infer"].copy()
    infer["time per sample (µs)"] = infer["step_time_median_s"] / infer["batch_size"] * 1e6
    infer["variant "] = infer["framework"] + " " + infer["variant"]
    workloads = sorted(infer["workload"].unique())
    fig, panels = _panels(infer, workloads, "workload", width=4.2, height=3.4)
    palette = variant_palette(infer["variant "])
    for ax, machine, workload, d in panels:
        if d.empty:  # machines need not measure the same workloads
            _not_measured(ax, f"{machine}: {workload}")
            continue
        sns.lineplot(d, x="batch_size", y="time per sample (µs)", hue="variant ", style="mode", markers=True,
                     palette=palette, ax=ax, legend=False)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"{machine}: {workload}")
        ax.set_xlabel("batch size")
    handles = [plt.Line2D([], [], color=palette[v], marker="o") for v in sorted(palette)]
    fig.legend(handles, sorted(palette), loc="outside lower center", ncols=4, frameon=False, fontsize=8)
    return fig


def size_chart(cells: pd.DataFrame, n_params: dict[str, int]):
    """Step time against parameter count over the MLP size sweep, per framework variant and phase."""
    d = cells[cells["workload"].isin(n_params)].copy()
    d["parameters"] = d["workload"].map(n_params)
    d["median step (ms)"] = d["step_time_median_s"] * 1e3
    d["variant "] = d["framework"] + " " + d["variant"]
    d = d[d["batch_size"] == d.groupby(["workload", "phase"])["batch_size"].transform("max")]
    fig, panels = _panels(d, PHASES, "phase")
    palette = variant_palette(d["variant "])
    for ax, machine, phase, dp in panels:
        if dp.empty:
            _not_measured(ax, f"{machine}: {phase}")
            continue
        sns.lineplot(dp, x="parameters", y="median step (ms)", hue="variant ", style="mode", markers=True,
                     palette=palette, ax=ax, legend=False)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{machine}: {phase}, batch {', '.join(str(int(b)) for b in sorted(dp['batch_size'].unique()))}")
    handles = [plt.Line2D([], [], color=palette[v], marker="o") for v in sorted(palette)]
    fig.legend(handles, sorted(palette), loc="outside lower center", ncols=4, frameon=False, fontsize=8)
    return fig


def compile_chart(cells: pd.DataFrame):
    """First call in a fresh process, cold vs warm compiler cache, per compiled variant and workload (train phase)."""
    d = cells[(cells["phase"] == "train") & (cells["mode"] == "graph")].copy()
    d["variant "] = d["framework"] + " " + d["variant"]
    long = d.melt(id_vars=["machine_label", "workload", "variant "], value_vars=["first_call_cold_s", "first_call_warm_s"],
                  var_name="cache", value_name="first call (s)").dropna()
    long["cache"] = long["cache"].map({"first_call_cold_s": "cold", "first_call_warm_s": "warm"})
    long["phase"] = "train"
    fig, panels = _panels(long, ["train"], "phase", width=9, height=3.8)
    palette = variant_palette(long["variant "])
    for ax, machine, _, dp in panels:
        for cache, marker, show_legend in (("cold", "o", True), ("warm", "X", False)):
            part = dp[dp["cache"] == cache]
            if not part.empty:
                sns.stripplot(part, x="workload", y="first call (s)", hue="variant ", dodge=True, ax=ax,
                              palette=palette, marker=marker, size=8, jitter=False, legend=show_legend)
        if dp.empty:
            _not_measured(ax, f"{machine}: first training call")
            continue
        ax.set_yscale("log")
        ax.set_title(f"{machine}: first training call (o cold, X warm)")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


OUTCOME_COLOURS = {"error": "#e69f00", "silent-wrong": "#cc3311", "works": "#009e73"}


def scorecard_chart(cases: pd.DataFrame, bugs: list[str]):
    """Outcome of every planted bug (columns) per framework and mode (rows), no tool on; one panel per machine.

    Colour is the outcome; the letter says it again (E error, S silent-wrong, W works) and
    a trailing `+` marks an error whose printout names the planted line.
    """
    from matplotlib.colors import ListedColormap

    sns.set_theme(style="white", context="notebook")
    d = cases[cases["tool"] == "none"]
    machines = sorted(d["machine_label"].unique())
    outcomes = list(OUTCOME_COLOURS)
    fig, axes = plt.subplots(len(machines), 1, figsize=(1.0 + 0.85 * len(bugs), 0.9 + 0.55 * 6 * len(machines)),
                             squeeze=False, constrained_layout=True)
    for ax, machine in zip(axes[:, 0], machines):
        dm = d[d["machine_label"] == machine].copy()
        dm["row"] = dm["framework"] + " " + dm["mode"].map({"eager": "eager", "graph": "compiled"})
        rows = sorted(dm["row"].unique())
        codes = dm.pivot_table(index="row", columns="bug", values="outcome", aggfunc="first").reindex(
            index=rows, columns=bugs)
        shown = dm.pivot_table(index="row", columns="bug", values="user_line_shown", aggfunc="first").reindex(
            index=rows, columns=bugs)
        numeric = codes.apply(lambda col: col.map(lambda o: outcomes.index(o) if o in outcomes else np.nan))
        labels = codes.apply(lambda col: col.map(lambda o: {"error": "E", "silent-wrong": "S", "works": "W"}.get(o, "")))
        labels = labels + shown.apply(lambda col: col.map(lambda s: "+" if s is True else "")).fillna("")
        sns.heatmap(numeric.astype(float), ax=ax, cmap=ListedColormap(list(OUTCOME_COLOURS.values())), vmin=-0.5,
                    vmax=2.5, cbar=False, annot=labels.values, fmt="", linewidths=1, linecolor="white",
                    annot_kws={"fontsize": 10, "fontweight": "bold", "color": "white"})
        ax.set_title(f"{machine}: outcome of each planted bug, no debugging tool on")
        ax.set_xlabel("planted bug")
        ax.set_ylabel("")
        ax.tick_params(axis="x", rotation=35)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in OUTCOME_COLOURS.values()]
    fig.legend(handles, [f"{o}" for o in OUTCOME_COLOURS], loc="outside lower center", ncols=3, frameon=False)
    return fig


def overhead_chart(overhead: pd.DataFrame):
    """Training-step slowdown of each debugging tool (on over off) with its 95% CI, per framework and mode."""
    sns.set_theme(style="whitegrid", context="notebook")
    d = overhead.copy()
    d["tool "] = d["framework"] + " " + d["tool"] + " (" + d["mode"].map({"eager": "eager", "graph": "compiled"}) + ")"
    machines = sorted(d["machine_label"].unique())
    fig, axes = plt.subplots(len(machines), 1, figsize=(7.5, 0.6 + 0.45 * max(len(d) / max(len(machines), 1), 2)),
                             squeeze=False, constrained_layout=True)
    for ax, machine in zip(axes[:, 0], machines):
        dm = d[d["machine_label"] == machine].sort_values("slowdown")
        y = np.arange(len(dm))
        ax.barh(y, dm["slowdown"], color="#0072b2")
        ax.errorbar(dm["slowdown"], y, xerr=[dm["slowdown"] - dm["ci_low"], dm["ci_high"] - dm["slowdown"]],
                    fmt="none", ecolor="black", capsize=2, lw=0.8)
        ax.axvline(1.0, color="black", lw=1, ls="--")
        ax.set_yticks(y, dm["tool "], fontsize=9)
        ax.set_xscale("log")
        ax.set_xlabel("training step time, tool on / tool off (x, log)")
        ax.set_title(f"{machine}: what each debugging tool costs")
    return fig


#: Colours of the export experiment's portability classes.
PORTABILITY_COLOURS = {"fails": "#cc3311", "differs": "#e69f00", "matches": "#009e73"}


def portability_chart(attempts: pd.DataFrame):
    """Outcome of every (source framework, export path) row and workload column; one panel per machine.

    Colour is the class (fails / works but differs / works and matches); the letter says it again
    (F, D, M) and a trailing `*` marks an artifact that also ran, and matched, at other batch sizes.
    """
    from matplotlib.colors import ListedColormap

    from fwbench.export_report import is_true, matrix

    sns.set_theme(style="white", context="notebook")
    machines = sorted(attempts["machine_label"].unique())
    classes = list(PORTABILITY_COLOURS)
    workloads = sorted(attempts["workload"].unique())
    n_rows = attempts.groupby("machine_label").apply(lambda d: d[["framework", "path"]].drop_duplicates().shape[0],
                                                     include_groups=False).max()
    fig, axes = plt.subplots(len(machines), 1, figsize=(3.5 + 1.1 * len(workloads), 0.9 + 0.42 * n_rows * len(machines)),
                             squeeze=False, constrained_layout=True)
    for ax, machine in zip(axes[:, 0], machines):
        dm = attempts[attempts["machine_label"] == machine]
        codes = matrix(dm).reindex(columns=workloads)
        dyn = dm.assign(source_path=dm["framework"] + " " + dm["path"]).pivot_table(
            index="source_path", columns="workload", values="dynamic_batch_ok", aggfunc="first").reindex(
            index=codes.index, columns=workloads)
        numeric = codes.apply(lambda col: col.map(lambda o: classes.index(o) if o in classes else np.nan))
        labels = codes.apply(lambda col: col.map(lambda o: {"fails": "F", "differs": "D", "matches": "M"}.get(o, "")))
        labels = labels + dyn.apply(lambda col: col.map(lambda v: "*" if is_true(v) else "")).fillna("")
        sns.heatmap(numeric.astype(float), ax=ax, cmap=ListedColormap(list(PORTABILITY_COLOURS.values())), vmin=-0.5,
                    vmax=2.5, cbar=False, annot=labels.fillna("").values, fmt="", linewidths=1, linecolor="white",
                    annot_kws={"fontsize": 10, "fontweight": "bold", "color": "white"})
        ax.set_title(f"{machine}: each export path on each workload")
        ax.set_xlabel("workload")
        ax.set_ylabel("source framework and export path")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in PORTABILITY_COLOURS.values()]
    fig.legend(handles, ["fails", "works but differs", "works and matches"], loc="outside lower center", ncols=3,
               frameon=False)
    return fig


def export_size_chart(attempts: pd.DataFrame):
    """Artifact size on disk per (source, path), one colour per workload; log scale."""
    sns.set_theme(style="whitegrid", context="notebook")
    d = attempts.dropna(subset=["export_bytes"]).copy()
    d["source and path"] = d["framework"] + " " + d["path"]
    d["MB"] = d["export_bytes"] / 1e6
    g = sns.catplot(data=d, kind="bar", x="MB", y="source and path", hue="workload", row="machine_label",
                    height=0.32 * max(d["source and path"].nunique(), 4) + 1.2, aspect=2.0, palette="colorblind",
                    legend_out=True)
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
    fig, axes = plt.subplots(len(machines), len(batches), figsize=(6.5 * len(batches), 0.8 + 0.42 * len(labels) * len(machines)),
                             squeeze=False, constrained_layout=True)
    height = 0.8 / max(len(workloads), 1)
    for r, machine in enumerate(machines):
        for c, b in enumerate(batches):
            ax = axes[r][c]
            dm = d[d["machine_label"] == machine]
            for j, w in enumerate(workloads):
                dw = dm[dm["workload"] == w].set_index("label").reindex(labels)
                y = np.arange(len(labels)) + (j - (len(workloads) - 1) / 2) * height
                med = dw[f"latency_b{b}_s"] * 1e3
                lo, hi = dw[f"latency_b{b}_ci_low_s"] * 1e3, dw[f"latency_b{b}_ci_high_s"] * 1e3
                ax.barh(y, med, height, color=palette[w], label=w if (r, c) == (0, 0) else None)
                ax.errorbar(med, y, xerr=[med - lo, hi - med], fmt="none", ecolor="black", capsize=1.5, lw=0.7)
            ax.set_yticks(np.arange(len(labels)), labels, fontsize=9)
            ax.invert_yaxis()
            ax.set_xscale("log")
            ax.set_xlabel(f"latency per call at batch {b} (ms, log)")
            ax.set_title(f"{machine}: batch {b}")
    fig.legend(loc="outside lower center", ncols=max(len(workloads), 1), frameon=False)
    return fig


def _plain_log_ticks(axis) -> None:
    """Tick labels of a log axis as plain numbers (0.2, 1, 10), not powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def latency_throughput_chart(levels: pd.DataFrame, workload: str):
    """Closed-loop latency-throughput curves of one workload: throughput on x, p99 latency on y (log), one line per
    serving variant, points in order of concurrency; rows: machine and batching, columns: wire format."""
    sns.set_theme(style="whitegrid", context="notebook")
    d = levels[(levels["workload"] == workload) & (levels["kind"] == "closed")].dropna(subset=["latency_p99_s"])
    d = d.assign(row=[f"{m}, {'batching' if b else 'no batching'}" for m, b in zip(d["machine_label"], d["batching"])])
    rows, cols = sorted(d["row"].unique()), sorted(d["format"].unique())
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(6.0 * len(cols) + 2.2, 3.8 * len(rows)), squeeze=False,
                             constrained_layout=True, sharey=True)
    palette = variant_palette(d["label"])
    for r, row in enumerate(rows):
        for c, fmt in enumerate(cols):
            ax, p = axes[r][c], d[(d["row"] == row) & (d["format"] == fmt)]
            for lab, g in p.sort_values("concurrency").groupby("label"):
                ax.plot(g["throughput_rps"], g["latency_p99_s"] * 1e3, marker="o", color=palette[lab], label=lab)
                last = g.iloc[-1]
                ax.annotate(f"{int(last['concurrency'])}", (last["throughput_rps"], last["latency_p99_s"] * 1e3),
                            fontsize=7, xytext=(3, 0), textcoords="offset points")
            ax.set_yscale("log")
            _plain_log_ticks(ax.yaxis)
            ax.set_title(f"{row}, {fmt}", fontsize=10)
            ax.set_xlabel("throughput (requests/s)")
            ax.set_ylabel("p99 latency (ms, log)" if c == 0 else "")
    handles = {lab: plt.Line2D([], [], color=col, marker="o") for lab, col in palette.items()}
    fig.legend(handles.values(), handles.keys(), loc="outside right upper", fontsize=8)
    return fig


def cold_start_chart(servers: pd.DataFrame):
    """Cold start (process start to first correct response) per serving variant and workload; log scale."""
    sns.set_theme(style="whitegrid", context="notebook")
    d = servers.dropna(subset=["cold_start_s"])
    d = d[d["batching"] == False]  # noqa: E712 - one start per variant: batching does not change start-up
    g = sns.catplot(data=d, kind="bar", x="cold_start_s", y="label", hue="workload", row="machine_label",
                    height=0.34 * max(d["label"].nunique(), 4) + 1.2, aspect=2.0, palette="colorblind", legend_out=True)
    g.set(xscale="log")
    for ax in g.axes.flat:
        _plain_log_ticks(ax.xaxis)
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
    wide = d.pivot_table(index=["machine_label", "workload", "label", "concurrency"], columns="batching",
                         values="throughput_rps").dropna()
    if True not in wide or False not in wide:
        return None
    wide = wide.assign(ratio=wide[True] / wide[False]).reset_index()
    workloads = sorted(wide["workload"].unique())
    fig, panels = _panels(wide, workloads, "workload", width=6.0, height=0.3 * wide["label"].nunique() + 1.6)
    for ax, machine, workload, p in panels:
        sns.barplot(data=p.assign(clients=p["concurrency"].astype(int)), y="label", x="ratio", hue="clients",
                    ax=ax, palette="crest", orient="h")
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_xscale("log")
        _plain_log_ticks(ax.xaxis)
        ax.set_title(f"{machine}: {workload} ({fmt})", fontsize=10)
        ax.set_xlabel("throughput with batching / without (log)")
        ax.set_ylabel("")
        ax.legend(title="clients", fontsize=7, title_fontsize=8)
    return fig


def history_chart(tables: dict[str, pd.DataFrame]):
    """One panel per selection: median step time per stored run over time, a line per machine, CI as error bars."""
    names = [n for n, t in tables.items() if not t.empty]
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 2.6 * len(names)), squeeze=False)
    machines = sorted({m for n in names for m in tables[n]["machine"]})
    colours = dict(zip(machines, sns.color_palette("colorblind", len(machines))))
    for ax, name in zip(axes[:, 0], names):
        t = tables[name]
        for machine, g in t.groupby("machine"):
            y = g["median_s"] * 1e3
            err = [y - g["ci_low_s"] * 1e3, g["ci_high_s"] * 1e3 - y]
            ax.errorbar(g["started"], y, yerr=err, marker="o", capsize=3, color=colours[machine], label=machine)
            for _, r in g.iterrows():  # the framework version under each point: upgrades are visible
                ax.annotate(r["framework version"], (r["started"], r["median_s"] * 1e3), fontsize=7,
                            textcoords="offset points", xytext=(0, -11), ha="center", color=colours[machine])
        ax.set_title(name)
        ax.set_ylabel("median step (ms)")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
