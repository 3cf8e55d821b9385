"""The serving finding the book opens with: which runtime served the most requests, and which answered one client
soonest, per machine (each workload in turn), from the same estimates as the chapter's *best of each runtime* table."""

from __future__ import annotations

import pandas as pd

from fwbench.experiments.serving import tables as sr
from fwbench.measure import stats
from fwbench.report.findings import Finding, ci_text
from fwbench.report.results import Report, plain_number
from fwbench.report.sanitize import md

#: How a lead reads, by the class of its comparison (arranged so that "faster" means the leader is ahead).
_LEAD = {"faster": "ahead", "equivalent": "equivalent"}


def _ratio_ci(c: stats.Comparison) -> str:
    return ci_text(c.ci_low, c.ci_high, "{:.2f}x".format, "too few starts for an interval")


def _lead(leader: pd.Series, next_: pd.Series, column: str) -> str:
    """`leader` against the runner-up over their server starts: the ratio (the leader's advantage), its interval and
    class ("ahead", "equivalent" within the equivalence margin, or "inconclusive")."""
    if column == "peak_by_process":  # more requests per second is better: leader / next
        c = stats.compare(sr.per_start(leader, column), sr.per_start(next_, column))
        said = f"{c.ratio:.2f}x the next, {md(next_['label'])}"
    else:  # a lower p99 is better: next / leader
        c = stats.compare(sr.per_start(next_, column), sr.per_start(leader, column))
        said = f"the next, {md(next_['label'])}, at {c.ratio:.2f}x that"
    return f"{said} ({_ratio_ci(c)}; {_LEAD.get(c.verdict, 'inconclusive')})"


def findings(report: Report) -> list[Finding]:
    """One sentence per machine: for each workload, the runtime with the highest estimated peak throughput against
    the next one, and the one with the lowest single-client p99 against the next; ratios with 95% intervals over
    server starts (`stats.compare`, as claim X4 uses them)."""
    best = sr.best_per_variant(sr.levels(report))
    out = []
    if best.empty:
        return out
    for machine, m in best.groupby("machine_label"):
        parts = []
        for workload, g in m.groupby("workload"):
            g = g.sort_values("peak_rps", ascending=False)
            top = g.iloc[0]
            text = (
                f"{md(workload)} ({g['label'].nunique()} runtimes): {md(top['label'])} at "
                f"{plain_number(top['peak_rps'], 3)} req/s"
            )
            if len(g) > 1:
                text += ", " + _lead(top, g.iloc[1], "peak_by_process")
            quick = g.dropna(subset=["single_client_p99_s"]).sort_values("single_client_p99_s")
            if not quick.empty:
                first = quick.iloc[0]
                text += f"; lowest single-client p99: {md(first['label'])} at {sr.ms(first['single_client_p99_s'])}" + (
                    ", " + _lead(first, quick.iloc[1], "p99_by_process") if len(quick) > 1 else ""
                )
            parts.append(text)
        out.append(
            Finding(f"**Most requests per second on {md(machine)}**: " + ". ".join(parts) + ".", "tab-best-runtime")
        )
    return out
