"""Which serving runtime to pick for low latency and for throughput, per machine, from the *best of each runtime*
table and the comparison over server starts that claim X4 uses."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fwbench.experiments.serving import tables as sr
from fwbench.measure import stats
from fwbench.measure.stats import EQUIVALENCE_MARGIN
from fwbench.report.decision import Pick
from fwbench.report.results import Report, plain_number


def _compare(leader, nxt, column: str) -> stats.Comparison:
    """The leader's advantage over the runner-up, arranged so that "faster" means the leader is ahead."""
    if column == "peak_by_process":
        return stats.compare(sr.per_start(leader, column), sr.per_start(nxt, column))
    return stats.compare(sr.per_start(nxt, column), sr.per_start(leader, column))


def _pick(job: str, machine: str, m: pd.DataFrame, value: str, column: str, ascending: bool, unit) -> Pick:
    winners, leads, close, n = {}, [], [], 0
    for workload, g in m.dropna(subset=[value]).groupby("workload"):
        g = g.sort_values(value, ascending=ascending)
        n += 1
        top = g.iloc[0]
        winners[workload] = top["label"]
        if len(g) < 2:
            close.append(f"{workload}: only {top['label']} measured")
            continue
        nxt = g.iloc[1]
        c = _compare(top, nxt, column)
        ci = (
            f"95% CI {c.ci_low:.2f}x – {c.ci_high:.2f}x"
            if np.isfinite(c.ci_low) and np.isfinite(c.ci_high)
            else "too few server starts for an interval"
        )
        said = f"{workload}: {unit(top[value])}, {c.ratio:.2f}x better than {nxt['label']} ({ci})"
        if c.verdict == "faster":
            leads.append(said)
        else:
            close.append(
                said
                + (
                    f", equivalent (within ±{EQUIVALENCE_MARGIN:.0%})"
                    if c.verdict == "equivalent"
                    else ", inconclusive"
                )
            )
    if not winners:
        return None
    picked = sorted(set(winners.values()))
    evidence = "chapters/serving#tab-best-runtime"
    if not leads:
        return Pick(
            job,
            machine,
            "no difference we can detect",
            "; ".join(close),
            f"no runtime was ahead of the next beyond the ±{EQUIVALENCE_MARGIN:.0%} "
            f"margin on any of {n} workload(s); more server starts would narrow the intervals",
            evidence,
        )
    pick = (
        picked[0] if len(picked) == 1 else "depends on the model: " + "; ".join(f"{w}: {r}" for w, r in winners.items())
    )
    return Pick(
        job,
        machine,
        pick,
        "; ".join(leads + close),
        f"ahead of the next runtime beyond the ±{EQUIVALENCE_MARGIN:.0%} margin on {len(leads)} of {n} "
        "workload(s), over server starts (each a fresh server process)",
        evidence,
    )


def picks(report: Report) -> list[Pick]:
    """Per machine: the runtime with the lowest single-client p99 (low-latency serving) and the one with the highest
    peak throughput (throughput serving), each against the runtime next to it."""
    best = sr.best_per_variant(sr.levels(report))
    out = []
    if best.empty:
        return out
    for machine, m in best.groupby("machine_label"):
        for job, value, column, ascending, unit in [
            ("Low-latency serving", "single_client_p99_s", "p99_by_process", True, sr.ms),
            ("Throughput serving", "peak_rps", "peak_by_process", False, lambda v: f"{plain_number(v, 3)} req/s"),
        ]:
            pick = _pick(job, machine, m, value, column, ascending, unit)
            if pick is not None:
                out.append(pick)
    return out
