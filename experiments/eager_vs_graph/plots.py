"""The eager-vs-graph chapter's charts (seaborn), drawn from its tables."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from fwbench.measure.stats import EQUIVALENCE_MARGIN
from fwbench.report.plots import PHASES, not_measured, panel_grid, variant_palette


def speedup_chart(cmp: pd.DataFrame):
    """Speedup of each compiled variant over its framework's eager mode, with 95% CI: workloads on x, per phase."""
    fig, panels = panel_grid(cmp, PHASES, "phase")
    palette = variant_palette(cmp["variant"])
    variants = sorted(cmp["variant"].unique())
    for ax, machine, phase, d in panels:
        if d.empty:
            not_measured(ax, f"{machine}: {phase}")
            continue
        # Only what this machine measured: no empty slots for workloads or variants it did not run.
        workloads = sorted(d["workload"].unique())
        here = [v for v in variants if v in set(d["variant"])]
        width = 0.8 / max(len(here), 1)
        for j, variant in enumerate(here):
            dv = d[d["variant"] == variant].set_index("workload").reindex(workloads)
            x = np.arange(len(workloads)) + (j - (len(here) - 1) / 2) * width
            ax.bar(x, dv["speedup"], width, color=palette[variant], label=variant)
            if len(workloads) * len(here) <= 12:  # few bars: print each value on it
                for xi, v in zip(x, dv["speedup"]):
                    if np.isfinite(v):
                        ax.annotate(
                            f"{v:.3g}x",
                            (xi, v),
                            textcoords="offset points",
                            xytext=(0, 2),
                            ha="center",
                            fontsize=6,
                            rotation=90,
                            va="bottom",
                        )
            # An interval that could not be computed (one process) has no whisker rather than an infinite one.
            finite = (np.isfinite(dv["speedup_ci_high"]) & (dv["speedup_ci_low"] > 0)).to_numpy()
            if finite.any():
                f = dv[finite]
                ax.errorbar(
                    x[finite],
                    f["speedup"],
                    yerr=[f["speedup"] - f["speedup_ci_low"], f["speedup_ci_high"] - f["speedup"]],
                    fmt="none",
                    ecolor="black",
                    capsize=2,
                    lw=0.8,
                )
        ax.axhline(1.0, color="black", lw=1, ls="--")
        ax.axhspan(1 / (1 + EQUIVALENCE_MARGIN), 1 + EQUIVALENCE_MARGIN, color="0.85", zorder=0)
        ax.set_xticks(np.arange(len(workloads)), workloads, fontsize=8, rotation=30)
        ax.set_yscale("log")
        ax.set_ylabel("speedup over eager (x, log)")
        batches = ", ".join(str(int(b)) for b in sorted(d["batch_size"].unique()))
        ax.set_title(f"{machine}: {phase}, batch {batches}")
    handles = [plt.Rectangle((0, 0), 1, 1, color=palette[v]) for v in variants]
    fig.legend(handles, variants, loc="outside lower center", ncols=min(len(variants), 4), frameon=False)
    return fig


def swept_workloads(cells: pd.DataFrame) -> list[str]:
    """Workloads whose inference some machine timed at two or more batch sizes: the only ones a line across batch
    sizes can show (a workload timed at one size would be an empty panel or a lone point)."""
    infer = cells[cells["phase"] == "infer"]
    if infer.empty:
        return []
    sizes = infer.groupby(["machine_label", "workload"])["batch_size"].nunique()
    return sorted(sizes[sizes >= 2].index.get_level_values("workload").unique())


def batch_chart(cells: pd.DataFrame):
    """Inference time per sample against batch size, one line per framework variant, one panel per workload."""
    infer = cells[cells["phase"] == "infer"].copy()
    infer["time per sample (µs)"] = infer["step_time_median_s"] / infer["batch_size"] * 1e6
    infer["variant "] = infer["framework"] + " " + infer["variant"]
    workloads = swept_workloads(cells)
    infer = infer[infer["workload"].isin(workloads)]
    fig, panels = panel_grid(infer, workloads, "workload", width=4.2, height=3.4)
    palette = variant_palette(infer["variant "])
    for ax, machine, workload, d in panels:
        if d.empty:  # machines need not measure the same workloads
            not_measured(ax, f"{machine}: {workload}")
            continue
        sns.lineplot(
            d,
            x="batch_size",
            y="time per sample (µs)",
            hue="variant ",
            style="mode",
            markers=True,
            palette=palette,
            ax=ax,
            legend=False,
        )
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
    d["step (ms, geo. mean of process medians)"] = d["step_time_median_s"] * 1e3
    d["variant "] = d["framework"] + " " + d["variant"]
    d = d[d["batch_size"] == d.groupby(["workload", "phase"])["batch_size"].transform("max")]
    fig, panels = panel_grid(d, PHASES, "phase")
    palette = variant_palette(d["variant "])
    for ax, machine, phase, dp in panels:
        if dp.empty:
            not_measured(ax, f"{machine}: {phase}")
            continue
        sns.lineplot(
            dp,
            x="parameters",
            y="step (ms, geo. mean of process medians)",
            hue="variant ",
            style="mode",
            markers=True,
            palette=palette,
            ax=ax,
            legend=False,
        )
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
    long = d.melt(
        id_vars=["machine_label", "workload", "variant "],
        value_vars=["first_call_cold_s", "first_call_warm_s"],
        var_name="cache",
        value_name="first call (s)",
    ).dropna()
    long["cache"] = long["cache"].map({"first_call_cold_s": "cold", "first_call_warm_s": "warm"})
    long["phase"] = "train"
    fig, panels = panel_grid(long, ["train"], "phase", width=9, height=3.8)
    palette = variant_palette(long["variant "])
    for ax, machine, _, dp in panels:
        for cache, marker, show_legend in (("cold", "o", True), ("warm", "X", False)):
            part = dp[dp["cache"] == cache]
            if not part.empty:
                sns.stripplot(
                    part,
                    x="workload",
                    y="first call (s)",
                    hue="variant ",
                    dodge=True,
                    ax=ax,
                    palette=palette,
                    marker=marker,
                    size=8,
                    jitter=False,
                    legend=show_legend,
                )
        if dp.empty:
            not_measured(ax, f"{machine}: first training call")
            continue
        ax.set_yscale("log")
        ax.set_title(f"{machine}: first training call (o cold, X warm)")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig
