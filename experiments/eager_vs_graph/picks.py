"""Which framework and mode to pick for training, per machine and device, from the *who is fastest* table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fwbench.experiments.eager_vs_graph.findings import MIN_PROCESSES, fastest
from fwbench.measure.stats import EQUIVALENCE_MARGIN
from fwbench.report.decision import Pick
from fwbench.report.findings import framework_name
from fwbench.report.results import Report

JOB_OF_DEVICE = {"cpu": "Training on CPU", "cuda": "Training on GPU"}


def _choice(row) -> str:
    return f"{framework_name(row['framework'])} {row['best_variant']}"


def _lead(runner_up) -> str:
    """How far ahead the winner is of the next framework: the factor and its 95% interval."""
    lo, hi = runner_up["times_fastest_ci_low"], runner_up["times_fastest_ci_high"]
    ci = f" (95% CI {lo:.2f}x – {hi:.2f}x)" if np.isfinite(lo) and np.isfinite(hi) else " (no interval)"
    return f"{runner_up['times_fastest']:.2f}x ahead of {_choice(runner_up)}{ci}"


def _one(machine: str, device: str, train: pd.DataFrame) -> Pick:
    """The pick for one machine and device over its workloads (the training step at the headline batch)."""
    winners, leads, close = {}, [], []
    thin = {}
    for workload, w in train.groupby("workload"):
        win = w[w["standing"] == "fastest"].iloc[0]
        if win["n_processes"] < MIN_PROCESSES:
            thin[workload] = int(win["n_processes"])
            continue
        others = w[w["standing"] != "fastest"].sort_values("times_fastest")
        winners[workload] = _choice(win)
        if others.empty:
            close.append(f"{workload}: only {framework_name(win['framework'])} measured")
            continue
        nxt = others.iloc[0]
        if nxt["standing"] == "slower":
            leads.append((workload, nxt))
        else:
            word = (
                f"equivalent (within ±{EQUIVALENCE_MARGIN:.0%}) to"
                if nxt["standing"] == "equivalent"
                else "inconclusive against"
            )
            close.append(f"{workload}: {word} {_choice(nxt)}")
    job = JOB_OF_DEVICE.get(device, f"Training on {device}")
    if not winners:  # every workload measured with too few processes: nothing to pick from
        return Pick(
            job,
            machine,
            "too few processes to pick",
            how_sure="; ".join(f"{w}: {n} process(es) per cell" for w, n in thin.items())
            + f"; {MIN_PROCESSES} are needed for an interval that separates anything",
            evidence="chapters/eager_vs_graph#fastest",
        )
    close += [f"{w}: too few processes to compare ({n} per cell)" for w, n in thin.items()]
    picked = sorted(set(winners.values()))
    n = len(winners)
    if len(picked) == 1 and not leads:
        # The same winner everywhere, but never ahead of the next beyond the margin.
        return Pick(
            job,
            machine,
            "no difference we can detect",
            how_sure=f"on all {n} workload(s) the fastest was not ahead of the next choice beyond the "
            f"±{EQUIVALENCE_MARGIN:.0%} margin: "
            + "; ".join(close)
            + ". More processes per cell would narrow the intervals.",
            evidence="chapters/eager_vs_graph#fastest",
        )
    if len(picked) == 1:
        factors = [nxt["times_fastest"] for _, nxt in leads]
        by = "; ".join(f"{w}: {_lead(nxt)}" for w, nxt in leads)
        if len(factors) > 1:
            by = f"{min(factors):.2f}x to {max(factors):.2f}x ahead of the next framework's best ({by})"
        sure = f"ahead beyond the ±{EQUIVALENCE_MARGIN:.0%} margin on {len(leads)} of {n} workload(s)" + (
            "; " + "; ".join(close) if close else ""
        )
        return Pick(job, machine, picked[0], by, sure, "chapters/eager_vs_graph#fastest")
    per = "; ".join(f"{w}: {c}" for w, c in winners.items())
    return Pick(
        job,
        machine,
        "depends on the model: " + per,
        "; ".join(f"{w}: {_lead(nxt)}" for w, nxt in leads),
        f"the fastest differs between workloads; ahead beyond the margin on {len(leads)} of {n}"
        + ("; " + "; ".join(close) if close else ""),
        "chapters/eager_vs_graph#fastest",
    )


def picks(report: Report) -> list[Pick]:
    """One pick per machine and device: the framework and mode whose training step was fastest on every workload
    (each framework at its best mode), or "depends on the model", or "no difference we can detect"."""
    table = fastest(report)
    if table.empty:
        return []
    out = []
    for (machine, device), g in table[table["phase"] == "train"].groupby(["machine_label", "device"]):
        out.append(_one(machine, device, g))
    return out
