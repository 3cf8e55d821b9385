"""How sure the timing verdicts are: vote counts, the harness's own false-positive rate, exclusions, variance plan."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fwbench.measure import stats

#: The claims whose verdicts rest on eager-vs-graph timings.
TIMING_CLAIMS = ("E1", "E2", "E3", "E4", "E5", "E6")


def verdict_tally(report) -> pd.DataFrame:
    """One row per timing claim: its verdict and how many cells supported, contradicted or left it open."""
    from fwbench.report.claims import ROLES, load_claims, verdict_for

    rows = []
    for claim in load_claims():
        if claim.id not in TIMING_CLAIMS:
            continue
        v = verdict_for(claim, report)
        roles = v.cells["role"] if "role" in v.cells else pd.Series(dtype=str)
        rows.append({"claim": claim.id, "verdict": v.verdict,
                     **{r: int((roles == r).sum()) for r in ROLES}, "cells": len(roles)})
    return pd.DataFrame(rows, columns=["claim", "verdict", "supports", "contradicts", "inconclusive", "cells"])


#: Every comparison the timing verdicts read beyond each compiled mode against its own eager mode (E1, E4):
#: (baseline, candidates) pairs of (framework, variant), as E2, E3, E5 and E6 compare them.
CROSS_COMPARISONS = (
    (("torch", "eager"), [("tensorflow", "eager")]),
    (("tensorflow", "tf.function"), [("torch", "torch.compile")]),
    (("tensorflow", "tf.function+xla"), [("torch", "torch.compile"), ("tensorflow", "tf.function")]),
    (("jax", "jax.jit"), [("torch", "torch.compile"), ("torch", "torch.compile-reduce-overhead"),
                          ("tensorflow", "tf.function"), ("tensorflow", "tf.function+xla")]),
)


def compared_cells(report) -> pd.DataFrame:
    """Every comparison behind E1-E6, one row each, with its class."""
    frames = []
    cmp = report.comparisons()
    if not cmp.empty:
        frames.append(cmp.assign(comparison=cmp["framework"] + " " + cmp["variant"] + " vs eager"))
    for base, others in CROSS_COMPARISONS:
        pairs = report.cross_framework(base, others)
        if not pairs.empty:
            frames.append(pairs.assign(comparison=pairs["baseline"] + " vs " + pairs["other"]))
    if not frames:
        return pd.DataFrame(columns=["machine_label", "workload", "phase", "batch_size", "comparison", "verdict"])
    return pd.concat(frames, ignore_index=True)


def inconclusive_share(report) -> float:
    """Share of the compared cells behind E1-E6 whose class is inconclusive."""
    cells = compared_cells(report)
    return float((cells["verdict"] == "inconclusive").mean()) if len(cells) else math.nan


def aa_sentence(report) -> str:
    """The A/A false-positive rate per machine, in one sentence for the claims page and the chapter."""
    rates = report.false_positive_rates()
    if rates.empty:
        return "No A/A control was stored, so the harness's false-positive rate is unknown here."
    parts = []
    for machine, g in rates.groupby("machine_label"):
        n, fp = int(g["controls"].sum()), int(g["false_positives"].sum())
        parts.append(f"{machine}: {fp} of {n} A/A comparisons called faster or slower ({fp / n:.0%})")
    return ("Harness false-positive rate (identical alternatives compared by the same code, equivalence margin "
            f"±{stats.EQUIVALENCE_MARGIN:.0%}): " + "; ".join(parts) + ".")


def variance_plan(report, experiment: str = "eager_vs_graph") -> pd.DataFrame:
    """Per machine: the measured between- and within-process spread, and the processes x steps that reach an
    interval of ± the margin at least cost (Kalibera & Jones), against what was run."""
    durations = {}
    for run, job in report.experiment_jobs(experiment):
        if job["status"] == "ok" and job.get("duration_s"):
            alternatives = max(1, len(job.get("samples", [])))
            durations.setdefault(run.manifest["machine_label"], []).append(job["duration_s"] / alternatives)
    rows = []
    per_machine: dict[str, list] = {}
    for key, per in report.samples(experiment).items():
        if len(per) >= 2:
            per_machine.setdefault(key[0], []).append(per)
    for machine, cells in per_machine.items():
        comps = [stats.variance_components(p) for p in cells]
        between = float(np.nanmedian([c.between for c in comps]))
        within = float(np.nanmedian([c.within for c in comps]))
        steps = float(np.median([c.steps for c in comps]))
        step_s = float(np.median([np.median(np.concatenate(list(p.values()))) for p in cells]))
        process_s = float(np.median(durations.get(machine, [math.nan])))
        plan = (stats.plan(stats.Variance(between, within, steps, 0), process_s, step_s)
                if np.isfinite(process_s) else {"processes": math.nan, "steps_per_process": math.nan})
        rows.append({"machine": machine, "cells": len(cells),
                     "between-process sd": math.sqrt(between), "within-process sd": math.sqrt(within),
                     "processes run": int(np.median([len(p) for p in cells])), "steps run": int(steps),
                     "processes needed": plan["processes"], "steps needed": plan["steps_per_process"]})
    return pd.DataFrame(rows, columns=["machine", "cells", "between-process sd", "within-process sd", "processes run",
                                       "steps run", "processes needed", "steps needed"])


def replacement_sentence(report, experiment: str = "eager_vs_graph") -> str:
    """Per machine, how many replacement processes (fwbench.run.replace) joined how many cells;
    empty where none ran."""
    per: dict[str, dict] = {}
    for run, job in report.experiment_jobs(experiment):
        if isinstance(job.get("replacement"), dict):
            counts = per.setdefault(run.manifest["machine_label"], {"processes": 0, "cells": set()})
            counts["processes"] += 1
            counts["cells"].add(job.get("cell_id", job["job_id"]))
    if not per:
        return ""
    parts = [f"{machine}: {c['processes']} replacement process{'es' * (c['processes'] != 1)} in "
             f"{len(c['cells'])} cell{'s' * (len(c['cells']) != 1)}" for machine, c in sorted(per.items())]
    return ("A cell whose series came out unstable measured itself again in fresh processes (see the method "
            "page), so that it keeps its planned processes: " + "; ".join(parts) + ". Their stable series count "
            "like any other process's; the series they replaced are listed below.")


def stolen_sentence(report, experiment: str = "eager_vs_graph") -> str:
    """Per machine, how many timed blocks were dropped and run again because the hypervisor took the CPUs during
    them (fwbench.measure.timing), and how many were kept past the bound; empty where no job recorded it."""
    per: dict[str, list[float]] = {}
    for run, job in report.experiment_jobs(experiment):
        if job["status"] != "ok":
            continue
        for entry in job.get("samples", []):
            if "stolen_blocks_dropped" not in entry:
                continue
            counts = per.setdefault(run.manifest["machine_label"], [0, 0, 0.0, 0])
            counts[0] += entry["stolen_blocks_dropped"]
            counts[1] += entry["stolen_blocks_kept"]
            counts[2] += entry["stolen_s"]
            counts[3] += math.ceil(len(entry["values"]) / max(entry.get("block", 1), 1))
    parts = []
    for machine, (dropped, kept, seconds, blocks) in sorted(per.items()):
        share = dropped / (dropped + blocks) if dropped + blocks else 0.0
        parts.append(f"{machine}: {dropped} of {dropped + blocks} timed blocks ({share:.0%}) dropped and run again, "
                     f"{seconds * 1e3:,.0f} ms stolen during them"
                     + (f"; {kept} stolen block(s) kept past the bound" if kept else ""))
    if not parts:
        return ""
    return ("Blocks during which the hypervisor gave the CPUs to another guest (steal) measured the neighbours, "
            "not the framework: " + "; ".join(parts) + ".")
