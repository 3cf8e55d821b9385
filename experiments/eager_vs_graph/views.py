"""Views of the store only this experiment has: each compiled variant against its own eager mode, loss agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fwbench.experiments.eager_vs_graph.pairs import CROSS_COMPARISONS
from fwbench.measure import stats
from fwbench.report.results import SAMPLE_KEYS, Report, comparison_columns

EXP = "eager_vs_graph"
#: What names a cell of `failed_cells` (the shared report's key of cells that failed a check).
FAILED_KEYS = ("machine_label", "framework", "device", "workload", "variant", "params_digest")


def _key(row) -> tuple:
    return tuple(row[k] for k in SAMPLE_KEYS)


def comparisons(report: Report) -> pd.DataFrame:
    """Each graph variant against its framework's eager mode in the same cell: speedup with CI, break-even."""
    return report.memoized((EXP, "comparisons"), lambda: _comparisons(report))


def _comparisons(report: Report) -> pd.DataFrame:
    cells = report.cell_table(EXP)
    if cells.empty or "step_time_median_s" not in cells:
        return pd.DataFrame()
    # Rows of a shape-change probe carry no steady state; only timed cells compare.
    cells = cells.dropna(subset=["step_time_median_s"])
    samples = report.samples(EXP)
    rows = []
    keys = ["machine_label", "framework", "device", "workload", "phase", "batch_size", "params_digest"]
    for cell, group in cells.groupby(keys):
        eager = group[group["mode"] == "eager"]
        if eager.empty:
            continue
        e = eager.iloc[0]
        for _, g in group[group["mode"] == "graph"].iterrows():
            c = stats.compare(samples[_key(e)], samples[_key(g)])
            row = {
                **dict(zip(keys, cell)),
                "variant": g["variant"],
                "machine_id": g["machine_id"],
                "framework_version": g["framework_version"],
                "runs": g["runs"],
                "eager_median_s": e["step_time_median_s"],
                "graph_median_s": g["step_time_median_s"],
                **comparison_columns(c),
                "first_call_eager_s": e["first_call_cold_s"],
                "first_call_graph_s": g["first_call_cold_s"],
                "first_call_graph_warm_s": g["first_call_warm_s"],
            }
            # Break-even from the cold first calls: what a fresh machine pays.
            row["break_even_steps"] = (
                stats.break_even_steps(
                    e["first_call_cold_s"], e["step_time_median_s"], g["first_call_cold_s"], g["step_time_median_s"]
                )
                if np.isfinite(g["first_call_cold_s"])
                else np.nan
            )
            rows.append(row)
    return pd.DataFrame(rows)


def compared_cells(report: Report) -> pd.DataFrame:
    """Every comparison behind E1-E6, one row each, with its class."""
    frames = []
    cmp = comparisons(report)
    if not cmp.empty:
        frames.append(cmp.assign(comparison=cmp["framework"] + " " + cmp["variant"] + " vs eager"))
    for base, others in CROSS_COMPARISONS:
        pairs = report.cross_framework(EXP, base, others)
        if not pairs.empty:
            frames.append(pairs.assign(comparison=pairs["baseline"] + " vs " + pairs["other"]))
    if not frames:
        return pd.DataFrame(columns=["machine_label", "workload", "phase", "batch_size", "comparison", "verdict"])
    return pd.concat(frames, ignore_index=True)


def resolution_sentence(report: Report) -> str:
    """What the comparisons behind E1-E6 can decide at the size they were measured, paired (one framework's
    variants, same processes) and unpaired (frameworks, separate processes) apart: empty when none compared."""
    from fwbench.report.reliability import resolution

    cells = compared_cells(report)
    if cells.empty or "paired" not in cells:
        return ""
    parts = []
    for paired, what in (
        (True, "within a framework (paired, same processes)"),
        (False, "between frameworks (separate processes)"),
    ):
        r = resolution(cells[cells["paired"] == paired])
        if r["cells"]:
            parts.append(
                f"{what}, a difference of about {r['detectable_ratio']:.2f}x is decided half the time and "
                f"{r['can_be_equivalent']:.0%} of the {r['cells']} intervals are narrow enough ever to read "
                f"equivalent"
            )
    if not parts:
        return ""
    return (
        "What these comparisons can decide at the size measured: " + "; ".join(parts) + ". Smaller differences "
        "read inconclusive here; more processes per cell narrow the intervals (the variance plan below says how "
        "many)."
    )


def inconclusive_share(report: Report) -> float:
    """Share of the compared cells behind E1-E6 whose class is inconclusive."""
    cells = compared_cells(report)
    return float((cells["verdict"] == "inconclusive").mean()) if len(cells) else np.nan


def loss_outliers(report: Report) -> pd.DataFrame:
    """Cells whose loss after the recorded steps is outside its workload's tolerance of the group's median."""
    return report.memoized((EXP, "loss_outliers"), lambda: _loss_outliers(report))


def _loss_outliers(report: Report) -> pd.DataFrame:
    from fwbench.workloads import WORKLOADS

    df = report.records
    df = df[(df.experiment == EXP) & (df.status == "ok") & (df.metric == "loss_after_steps")]
    rows = []
    for _, g in df.groupby(["machine_label", "device", "workload", "batch_size"]):
        ref = float(g["value"].median())
        tol = getattr(WORKLOADS.get(g["workload"].iloc[0]), "loss_rtol_after_steps", np.nan)
        bad = g[(g["value"] - ref).abs() / abs(ref) > tol] if np.isfinite(tol) and ref else g.iloc[0:0]
        rows += bad[list(FAILED_KEYS)].to_dict("records")
    return pd.DataFrame(rows, columns=list(FAILED_KEYS))


def failed_cells(report: Report) -> dict[tuple, set[str]]:
    """The cells a check across jobs failed, for the shared report to keep out of every comparison (as it keeps a
    cell whose own check failed): (machine, framework, device, workload, variant, params digest) -> check names.
    Here: a loss after the recorded steps that disagrees with the other frameworks and variants of its group."""
    failed: dict[tuple, set[str]] = {}
    for _, row in loss_outliers(report).iterrows():
        failed.setdefault(tuple(row[k] for k in FAILED_KEYS), set()).add("loss_after_steps_agreement")
    return failed


def loss_agreement(report: Report) -> pd.DataFrame:
    """Loss after the recorded training steps, across frameworks and variants, against each workload's tolerance."""
    from fwbench.workloads import WORKLOADS

    df = report.records
    df = df[(df.experiment == EXP) & (df.status == "ok") & (df.metric == "loss_after_steps")]
    rows = []
    for (machine, device, workload, batch), g in df.groupby(["machine_label", "device", "workload", "batch_size"]):
        ref = float(g["value"].median())
        spread = float((g["value"] - ref).abs().max() / abs(ref))
        spec = WORKLOADS.get(workload)
        tol = getattr(spec, "loss_rtol_after_steps", np.nan)
        rows.append(
            {
                "machine": machine,
                "device": device,
                "workload": workload,
                "batch": batch,
                "frameworks x variants": g[["framework", "variant"]].drop_duplicates().shape[0],
                "median loss": ref,
                "max relative deviation": spread,
                "tolerance": tol,
                "agree": bool(spread <= tol) if np.isfinite(tol) else None,
            }
        )
    return pd.DataFrame(rows)


def tidy_rows(report: Report):
    """Rows of the tidy export that compare jobs: the break-even of each compiled variant against eager."""
    cmp = comparisons(report)
    for c in cmp.to_dict("records") if not cmp.empty else []:
        yield {
            "run_id": c["runs"],
            "machine_id": c["machine_id"],
            "machine_label": c["machine_label"],
            "experiment": EXP,
            "framework": c["framework"],
            "framework_version": c["framework_version"],
            "device": c["device"],
            "workload": c["workload"],
            "phase": c["phase"],
            "mode": "graph",
            "variant": c["variant"],
            "batch_size": c["batch_size"],
            "params_digest": c["params_digest"],
            "metric": "break_even_steps",
            "value": c["break_even_steps"],
            "unit": "steps",
            "status": "ok",
            "job_id": "",
            "error": "",
        }
