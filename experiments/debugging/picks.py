"""Which framework to pick for debugging, per machine: the one that handled the most planted bugs as a developer
wants (an error naming the line, or print and breakpoints that work), eager and compiled, with no tool on."""

from __future__ import annotations

from fwbench.experiments.debugging import tables
from fwbench.report.decision import Pick
from fwbench.report.findings import framework_name
from fwbench.report.results import Report


def picks(report: Report) -> list[Pick]:
    """Per machine: frameworks ranked by bugs handled well in eager mode, then compiled; a framework whose job
    did not complete is named, not ranked. Counts of planted bugs, not timings: no interval applies."""
    cases = tables.cases(report)
    out = []
    if cases.empty:
        return out
    gone = tables.missing(report)
    for machine, g in tables.scores(cases).groupby("machine_label"):
        wide = g.pivot_table(index="framework", columns="mode", values=["good", "cases"], aggfunc="sum").fillna(0)
        rank = sorted(
            wide.index,
            key=lambda f: (
                -wide.loc[f, ("good", "eager")] if ("good", "eager") in wide else 0,
                -wide.loc[f, ("good", "graph")] if ("good", "graph") in wide else 0,
            ),
        )

        def said(f):
            parts = [
                f"{int(wide.loc[f, ('good', m)])} of {int(wide.loc[f, ('cases', m)])} {word}"
                for m, word in (("eager", "eager"), ("graph", "compiled"))
                if ("good", m) in wide
            ]
            return f"{framework_name(f)}: " + ", ".join(parts)

        key = lambda f: tuple(
            int(wide.loc[f, ("good", m)]) if ("good", m) in wide else 0  # noqa: E731
            for m in ("eager", "graph")
        )
        top = [f for f in rank if key(f) == key(rank[0])]
        pick = (
            framework_name(top[0])
            if len(top) == 1
            else "no difference we can detect between " + " and ".join(framework_name(f) for f in top)
        )
        by = "; ".join(said(f) for f in rank)
        lost = gone[gone["machine_label"] == machine]
        how = (
            "counts of planted bugs handled as a developer wants, with no debugging tool on (one case per bug "
            "and mode: no interval applies)"
        )
        if not lost.empty:
            how += (
                "; no result for "
                + ", ".join(framework_name(f) for f in lost["framework"])
                + " (its job did not complete)"
            )
        out.append(Pick("Debugging", machine, pick, by, how, "chapters/debugging"))
    return out
