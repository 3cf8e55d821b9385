"""The ergonomics finding the book opens with: per machine, the four programs' sizes and whether they reached the
same losses, from the chapter's own table."""

from __future__ import annotations

from fwbench.experiments.ergonomics import tables
from fwbench.report.findings import Finding
from fwbench.report.results import Report
from fwbench.report.sanitize import md


def findings(report: Report) -> list[Finding]:
    """One sentence per machine: logical lines and tokens of each program, and the loss check (a mismatch first)."""
    df = tables.programs(report)
    out = []
    if df.empty:
        return out
    agree = tables.loss_agreement(df)
    for machine, g in df.groupby("machine_label"):
        g = g.dropna(subset=["logical lines"])
        if g.empty:
            continue
        sizes = ", ".join(
            f"{md(r['program'])} {int(r['logical lines'])} lines / {int(r['tokens'])} tokens" for _, r in g.iterrows()
        )
        a = agree[agree["machine_label"] == machine]
        if a.empty:
            same = "no program ran to its end, so their losses were not compared"
        elif a["agree"].all():
            same = (
                f"all {int(a['programs'].max())} that ran reached the same losses (within "
                f"{a['tolerance'].max():g} relative)"
            )
        else:
            same = "**their losses differ beyond the tolerance**: they do not compute the same thing"
        out.append(
            Finding(
                f"**The same cnn task, written four ways by this project** ({md(machine)}): {sizes}; {same}.",
                "fig-ergonomics-counts",
            )
        )
    return out
