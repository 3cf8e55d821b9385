"""Replacement processes: a cell whose series were stored as unstable gets fresh processes, so it keeps the processes
its profile planned instead of losing them to exclusions (and a verdict at the edge with them)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from fwbench.matrix.profile import Job
from fwbench.store.replacement import is_current


def series_health(doc: dict) -> dict[tuple, bool]:
    """(variant, phase, batch size) -> whether the job's own series of it is a steady state (A/A twins and empty
    series left out, as the report leaves them out of its samples)."""
    out = {}
    samples = doc.get("samples")
    for entry in samples if isinstance(samples, list) else []:
        if entry.get("replicate", 0) != 0 or not entry["values"]:
            continue
        key = (entry.get("variant", doc["variant"]), entry["phase"], entry["batch_size"])
        out[key] = entry.get("stable", True) is not False
    return out


def short_series(docs: list[dict], wanted: int) -> list[str]:
    """The series with fewer than `wanted` stable processes among the ok jobs `docs`, as 'variant phase bN: k of n'."""
    stable: dict[tuple, int] = {}
    for doc in docs:
        if doc["status"] != "ok":
            continue
        for key, steady in series_health(doc).items():
            stable[key] = stable.get(key, 0) + steady
    return [
        f"{v} {phase} b{batch}: {n} of {wanted} stable"
        for (v, phase, batch), n in sorted(stable.items(), key=str)
        if n < wanted
    ]


@dataclass
class Replacements:
    """Decides, from the newest stored result of every slot, which replacement process each cell needs next."""

    jobs: tuple = field(metadata={"help": "the profile's jobs (its planned processes)"})
    key_of: object = field(metadata={"help": "job -> job key (fwbench.run.inputs.Inputs.key_of)"})
    newest: dict = field(metadata={"help": "job id -> (run id, stored job) of this machine, newest; kept up to date"})
    added: dict = field(default_factory=dict, metadata={"help": "job id -> the 'replacement' entry of a job to run"})

    def __post_init__(self):
        self.cells: dict[str, list[Job]] = {}
        for job in self.jobs:
            if job.replacements > 0:
                self.cells.setdefault(job.cell_id, []).append(job)

    def store(self, run_id: str, doc: dict) -> None:
        self.newest[doc["job_id"]] = (run_id, doc)

    def next_for(self, cell_id: str) -> Job | None:
        """The cell's next replacement process, or None: every series has as many stable processes as the cell has
        planned processes that ran (failed ones are not replaced), the cap is reached, or a planned process has no
        result yet."""
        planned = self.cells.get(cell_id)
        if not planned:
            return None
        current = {job_id: run_id for job_id, (run_id, _) in self.newest.items()}
        docs = []
        for job in planned:
            if job.job_id not in self.newest:
                return None
            docs.append(self.newest[job.job_id][1])
        first, cap = len(planned), planned[0].replacements
        template = max(planned, key=lambda j: j.process)
        process = first
        while process < first + cap:
            job = dataclasses.replace(template, process=process)
            stored = self.newest.get(job.job_id)
            # A replacement of this cell as it stands, ok or not (a failed one counts toward the cap, so rounds end).
            if not (
                stored
                and stored[1].get("job_key") == self.key_of(job)
                and isinstance(stored[1].get("replacement"), dict)
                and is_current(stored[1], current)
            ):
                break
            docs.append(stored[1])
            process += 1
        # A failed process is a result of its own, shown as such: it is not measured again.
        short = short_series(docs, sum(doc["status"] == "ok" for doc in docs[:first]))
        if not short or process >= first + cap:
            return None
        self.added[job.job_id] = {
            "for": [{"run_id": self.newest[j.job_id][0], "job_id": j.job_id} for j in planned],
            "short": short,
        }
        return job

    def after_busy(self, job: Job) -> bool:
        """Whether a replacement to run is for series stored as measured on a busy machine (rather than unsteady on a
        quiet one): started now, while the machine may still be busy, it would be measured on a busy machine too."""
        entry = self.added.get(job.job_id) or {}
        for slot in entry.get("for", []):
            doc = self.newest.get(slot["job_id"], (None, {}))[1]
            samples = doc.get("samples") if isinstance(doc, dict) else None
            if isinstance(samples, list) and any(isinstance(e, dict) and e.get("busy") is True for e in samples):
                return True
        return False

    def round(self) -> list[Job]:
        """One replacement for every cell that needs one, in the profile's order of cells."""
        return [job for cell_id in self.cells if (job := self.next_for(cell_id)) is not None]
