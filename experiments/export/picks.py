"""Which framework to pick for exporting to mobile, per machine: whose edge path ran and matched its source model
on every workload, from the chapter's own attempts."""

from __future__ import annotations

from fwbench.experiments.export import tables
from fwbench.experiments.export.claims import EDGE_PATHS
from fwbench.report.decision import Pick
from fwbench.report.findings import framework_name
from fwbench.report.results import Report


def picks(report: Report) -> list[Pick]:
    """Per machine: each source framework's edge path (TFLite, ExecuTorch) by how many workloads it ran on, matched
    its source model and took other batch sizes; the pick is the one that did on every workload."""
    att = tables.attempts(report)
    out = []
    if att.empty:
        return out
    edge = att[att.apply(lambda r: r["path"] in EDGE_PATHS.get(r["framework"], []), axis=1)]
    for machine, g in edge.groupby("machine_label"):
        works, said = {}, []
        for (fw, path), p in g.groupby(["framework", "path"]):
            ok = p[(p["outcome"] == "matches") & p["dynamic_batch_ok"].map(tables.is_true)]
            works[f"{framework_name(fw)} → {path}"] = (len(ok), len(p))
            said.append(f"{framework_name(fw)} → {path}: {len(ok)} of {len(p)} workload(s)")
        everywhere = [k for k, (ok, n) in works.items() if ok == n and n]
        how = (
            "ran, matched its source model within tolerance and took other batch sizes on: "
            + "; ".join(said)
            + ". Latency between working paths: claim X5"
        )
        if len(everywhere) == 1:
            pick = everywhere[0]
        elif everywhere:
            pick = "either: " + ", ".join(everywhere)
        else:
            pick = "none worked on every workload"
        out.append(Pick("Export to mobile", machine, pick, "", how, "chapters/export#fig-portability"))
    return out
