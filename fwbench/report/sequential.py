"""How many processes each cell of a sequential design got, and why it stopped: the table chapters and bench-report show."""

from __future__ import annotations

import pandas as pd

COLUMNS = ["machine", "framework", "variant", "device", "workload", "processes", "stopped because", "early"]


def cells_table(report, experiment: str) -> pd.DataFrame:
    """Per machine and cell of a sequential design (fwbench.run.sequential): how many processes it got of its
    design's start and cap, and why it stopped, judged on the stored results as the runner judged them (the
    experiment's own sequential rule, `judge`, at the last look). Empty where no stored job carries a design."""
    from fwbench.experiments import part
    from fwbench.measure.sequential import Design
    from fwbench.report.findings import framework_name

    cells: dict[tuple, list[dict]] = {}
    for run, job in report.experiment_jobs(experiment):
        if isinstance(job.get("design"), dict) and job.get("cell_id"):
            cells.setdefault((run.manifest["machine_label"], job["cell_id"]), []).append(job)
    if not cells:
        return pd.DataFrame(columns=COLUMNS)
    judge = part(experiment, "sequential").judge
    rows = []
    for machine in sorted({m for m, _ in cells}):
        mine = {
            cell: sorted(docs, key=lambda d: d.get("process", 0)) for (m, cell), docs in cells.items() if m == machine
        }
        designs = {cell: Design(docs[0]["design"]["start"], docs[0]["design"]["cap"]) for cell, docs in mine.items()}
        states = judge(mine, designs)
        for cell, docs in mine.items():
            rows.append(
                {
                    "machine": machine,
                    "framework": framework_name(docs[0]["framework"]),
                    "variant": docs[0]["variant"],
                    "device": docs[0]["device"],
                    "workload": docs[0]["workload"],
                    "processes": f"{len(docs)} (from {designs[cell].start}, at most {designs[cell].cap})",
                    "stopped because": why_stopped(states[cell], len(docs), designs[cell]),
                    "early": len(docs) < designs[cell].cap,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def why_stopped(state: dict, processes: int, design) -> str:
    """A cell's state at its last look (`judge`'s open, futile and decided) as the reason it got no more processes."""
    if state["open"]:
        return (
            f"cap reached with {len(state['open'])} comparison(s) still undecided"
            if processes >= design.cap
            else f"{len(state['open'])} comparison(s) still open (the run ended early)"
        )
    if state["futile"]:
        return f"{len(state['futile'])} comparison(s) could not be decided by the cap; the rest ({state['decided']}) decided"
    return f"every comparison decided ({state['decided']})"


def how_many(grown: pd.DataFrame, cell: str, unit: str, comparisons: str) -> str:
    """The paragraph above a chapter's `cells_table`: what the design did, in the experiment's words (`cell`: what
    a cell is, "runtime"; `unit`: what it gets more of, "server starts"; `comparisons`: what keeps it open)."""
    early = int(grown["early"].sum())
    return (
        f"**How many {unit} each {cell} got.** Each {cell} started with the {unit} the profile plans and got one "
        f"more per round while {comparisons} was undecided, up to a cap: a group-sequential design, each look's "
        f"interval a repeated confidence interval, so stopping early keeps the error rate. {early} of {len(grown)} "
        f"{cell}(s) stopped before the cap; their estimates are from fewer {unit}, as the table says. A comparison "
        f"that more {unit} could not have decided stops too (futility): it stays inconclusive."
    )
