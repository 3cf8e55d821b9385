"""Which framework to pick for distributed training, per machine, from what one host shows: the frameworks whose
two-process data-parallel training checked correct; one host separates them on nothing else the claim is about."""

from __future__ import annotations

from fwbench.experiments.data_parallel import tables
from fwbench.report.decision import Pick
from fwbench.report.findings import framework_name
from fwbench.report.results import Report


def picks(report: Report) -> list[Pick]:
    """Per machine: the frameworks whose collectives checked correct; those that checked wrong or failed named.
    Coverage of other setups is documentation, and step times on one host measure overhead, not scaling: neither
    picks a framework here."""
    right = tables.correctness(report)
    out = []
    if right.empty:
        return out
    for machine, g in right.groupby("machine_label"):
        good = sorted(g[g["collectives"] == "correct"]["framework"].unique())
        bad = sorted(g[g["collectives"] != "correct"]["framework"].unique())
        pick = (
            "no difference we can detect between " + ", ".join(framework_name(f) for f in good)
            if len(good) > 1
            else framework_name(good[0])
            if good
            else "none: no framework checked correct"
        )
        by = (
            "data parallel on two CPU processes trained correctly in "
            + (", ".join(framework_name(f) for f in good) or "none")
            + (f"; not in {', '.join(framework_name(f) for f in bad)}" if bad else "")
        )
        how = (
            "one host shows data parallelism only (the S1 verdict says what it cannot show); the other setups "
            "are compared from documentation in the chapter"
        )
        out.append(Pick("Distributed training", machine, pick, by, how, "chapters/data_parallel#tab-dp-coverage"))
    return out
