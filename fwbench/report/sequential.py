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
    last_run: dict[tuple, object] = {}  # the newest run that measured the cell: where its rounds ended
    for run, job in report.experiment_jobs(experiment):
        if isinstance(job.get("design"), dict) and job.get("cell_id"):
            key = (run.manifest["machine_label"], job["cell_id"])
            cells.setdefault(key, []).append(job)
            if key not in last_run or run.run_id > last_run[key].run_id:
                last_run[key] = run
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
                    "stopped because": why_stopped(
                        states[cell],
                        len(docs),
                        designs[cell],
                        last_run[(machine, cell)].manifest.get("sequential_stop"),
                    ),
                    "early": len(docs) < designs[cell].cap,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def why_stopped(state: dict, processes: int, design, stop: dict | None = None) -> str:
    """A cell's state at its last look (`judge`'s open, futile and decided) as the reason it got no more processes;
    `stop`: what its run's manifest says stopped the rounds (the profile's budget), if anything did."""
    if state["open"]:
        if processes >= design.cap:
            return f"cap reached with {len(state['open'])} comparison(s) still undecided"
        if isinstance(stop, dict) and stop.get("reason") == "budget":
            return (
                f"{len(state['open'])} comparison(s) still open when the run had taken its profile's budget "
                f"({stop['budget_min']:g} min)"
            )
        return f"{len(state['open'])} comparison(s) still open (the run ended early)"
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
        f"that more {unit} could not have decided stops too (futility): it stays inconclusive. No round starts once "
        f"the run has taken its profile's time budget: a first look on a slow or busy machine stays a first look."
    )
