"""The export finding the book opens with: per machine, how many export paths work and match their source model on
every workload, per source framework, and how many (path, workload) pairs fail, from the chapter's own attempts."""

from __future__ import annotations

from fwbench.experiments.export import tables
from fwbench.report.findings import Finding, framework_name
from fwbench.report.results import Report
from fwbench.report.sanitize import md


def findings(report: Report) -> list[Finding]:
    """One sentence per machine, every count from `tables.attempts` (what the portability matrix shows)."""
    att = tables.attempts(report)
    out = []
    if att.empty:
        return out
    for machine, g in att.groupby("machine_label"):
        everywhere = g.groupby(["framework", "path"])["outcome"].apply(lambda s: (s == "matches").all())
        # In the chapter's order (tables.path_order).
        per_fw = everywhere.groupby(level="framework").agg(["sum", "size"]).reindex(list(dict.fromkeys(g["framework"])))
        n = {o: int((g["outcome"] == o).sum()) for o in ("matches", "differs", "fails")}
        text = (
            f"**Export paths that work on {md(machine)}**: "
            + ", ".join(f"{md(framework_name(fw))} {int(r['sum'])} of {int(r['size'])}" for fw, r in per_fw.iterrows())
            + f" paths ran and matched their source model on every workload ({md(', '.join(sorted(g['workload'].unique())))}); "
            f"of {len(g)} (path, workload) pairs {n['matches']} match, {n['differs']} run but differ, "
            f"{n['fails']} fail."
        )
        out.append(Finding(text, "fig-portability"))
    return out
