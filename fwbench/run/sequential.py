"""Sequential rounds: a cell starts with few processes and gets one more per round while a comparison it takes part in is undecided.

Time goes where the answer is still open. Each cell of a sequential experiment block (`max_processes` in the
profile) runs its first `processes` processes as planned; after every round the experiment's own rule
(`experiments/<name>/sequential.py`, `open_cells`) reads the stored results of the cells and names those whose
comparisons are still undecided at this look's boundary (fwbench.measure.sequential: repeated confidence
intervals, so stopping early keeps the error rate). Those cells, and only those, get their next process, in a
seeded random order, until they are decided or reach `max_processes`. A stored extension says which processes it
was added for, at which look and why, so the report counts it only while those are still the newest of their
slots (fwbench.store.replacement.is_current), and the book can say per cell how many processes ran and why it
stopped.
"""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass, field

from fwbench.experiments import part
from fwbench.matrix.profile import Job
from fwbench.measure.sequential import Design
from fwbench.store.replacement import is_current

#: Where a stored job says it was added by this rule.
ENTRY = "sequential"


@dataclass
class Extensions:
    """Decides, from the newest stored result of every slot, which cells of sequential blocks get a process next."""

    jobs: tuple = field(metadata={"help": "the profile's jobs (each sequential cell's first processes)"})
    key_of: object = field(metadata={"help": "job -> job key (fwbench.run.inputs.Inputs.key_of)"})
    newest: dict = field(metadata={"help": "job id -> (run id, stored job) of this machine, newest; kept up to date"})
    seed: int = field(default=0, metadata={"help": "seed of each round's random order"})
    added: dict = field(default_factory=dict, metadata={"help": "job id -> the 'sequential' entry of a job to run"})
    budget_min: float | None = field(
        default=None, metadata={"help": "the profile's budget: no round starts once the run has taken this long"}
    )
    clock: object = field(default=time.monotonic, metadata={"help": "seconds, monotonic (the run's clock)"})

    def __post_init__(self):
        self.cells: dict[str, list[Job]] = {}
        for job in self.jobs:
            if job.max_processes > 0:
                self.cells.setdefault(job.cell_id, []).append(job)
        self.rounds = 0
        self.started = self.clock()
        #: Set when the budget stopped the rounds with cells still open: what the run's manifest records.
        self.stopped: dict | None = None

    def store(self, run_id: str, doc: dict) -> None:
        self.newest[doc["job_id"]] = (run_id, doc)

    def design(self, cell_id: str) -> Design:
        planned = self.cells[cell_id]
        return Design(start=len(planned), cap=planned[0].max_processes)

    def _docs(self, cell_id: str) -> tuple[list[dict], int] | None:
        """The cell's stored results as they stand (planned processes, then its current extensions in order) and the
        next process number; None while a planned process has no result yet."""
        planned = self.cells[cell_id]
        if any(job.job_id not in self.newest for job in planned):
            return None
        current = {job_id: run_id for job_id, (run_id, _) in self.newest.items()}
        docs = [self.newest[job.job_id][1] for job in planned]
        template = max(planned, key=lambda j: j.process)
        process = len(planned)
        while process < planned[0].max_processes:
            stored = self.newest.get(dataclasses.replace(template, process=process).job_id)
            if not (
                stored
                and stored[1].get("job_key") == self.key_of(dataclasses.replace(template, process=process))
                and isinstance(stored[1].get(ENTRY), dict)
                and is_current(stored[1], current)
            ):
                break
            docs.append(stored[1])
            process += 1
        return docs, process

    def open_cells(self) -> dict[str, str]:
        """cell id -> why it needs another process (its undecided comparisons), over every sequential block."""
        by_experiment: dict[str, dict[str, list[dict]]] = {}
        for cell_id, planned in self.cells.items():
            got = self._docs(cell_id)
            if got is not None:
                by_experiment.setdefault(planned[0].experiment, {})[cell_id] = got[0]
        reasons: dict[str, str] = {}
        for experiment, cells in by_experiment.items():
            rule = part(experiment, "sequential")
            reasons.update(rule.open_cells(cells, {c: self.design(c) for c in cells}))
        return reasons

    def next_for(self, cell_id: str, reasons: dict[str, str]) -> Job | None:
        """The cell's next process, or None: decided, at its cap, or a process of it has no result yet."""
        got = self._docs(cell_id)
        if got is None or cell_id not in reasons:
            return None
        docs, process = got
        planned = self.cells[cell_id]
        if process >= planned[0].max_processes:
            return None
        job = dataclasses.replace(max(planned, key=lambda j: j.process), process=process)
        self.added[job.job_id] = {
            "for": [{"run_id": self.newest[d["job_id"]][0], "job_id": d["job_id"]} for d in docs],
            "look": len(docs),
            "open": reasons[cell_id][:2000],
        }
        return job

    def may_grow(self, cell_id: str) -> bool:
        """Whether the cell could still get a process (not at its cap): its temporary folder is kept meanwhile."""
        got = self._docs(cell_id) if cell_id in self.cells else None
        return got is not None and got[1] < self.cells[cell_id][0].max_processes

    def round(self) -> list[Job]:
        """One more process for every open cell, in a seeded random order (so drift hits the cells alike); none
        once the run has taken its profile's budget (a first look on a slow or noisy machine stays a first look:
        the cells still open keep the processes they have, and the book says the budget stopped them)."""
        reasons = self.open_cells() if self.cells else {}
        if self.budget_spent():
            growable = [c for c in reasons if self.may_grow(c)]
            if growable:
                spent = (self.clock() - self.started) / 60
                self.stopped = {
                    "reason": "budget",
                    "budget_min": self.budget_min,
                    "after_min": round(spent, 2),
                    "open_cells": len(growable),
                }
            return []
        batch = [job for cell_id in self.cells if (job := self.next_for(cell_id, reasons)) is not None]
        self.rounds += 1
        return random.Random(f"{self.seed}|sequential|{self.rounds}").sample(batch, len(batch))

    def budget_spent(self) -> bool:
        return self.budget_min is not None and self.clock() - self.started >= self.budget_min * 60
