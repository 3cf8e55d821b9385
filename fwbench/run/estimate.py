"""How long a profile's jobs are expected to take on this machine: its stored job times, the same jobs' times in
imported bundles (the committed references among them), else a stated default."""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from dataclasses import dataclass, field

from fwbench.experiments import EXPERIMENTS

#: The fields that name a measured cell and process whatever its parameters (a job id adds their digest).
CELL_FIELDS = ("experiment", "framework", "device", "workload", "variant", "process")

#: Where an estimate came from, in the words the table shows.
STORED, IMPORTED, MEDIAN, DEFAULT = "stored", "imported", "same experiment", "default"
SOURCES = (STORED, IMPORTED, MEDIAN, DEFAULT)


def _ok(pairs) -> list[tuple[str, dict]]:
    """The (run id, job) pairs of successful jobs with a stored time, oldest run first."""
    return sorted(
        (
            (run_id, job)
            for run_id, job in pairs
            if job.get("status") == "ok" and isinstance(job.get("duration_s"), (int, float))
        ),
        key=lambda pair: pair[0],
    )


class Times:
    """This machine's stored job durations: by job id, by cell and process, and each experiment's median; and the
    same job ids' times on machines whose bundles were imported."""

    def __init__(self, stored, imported=()):
        """`stored`: (run id, stored job) pairs of this machine, any order; a successful job's time counts.
        `imported`: the same from imported runs (other machines): a job id's median over them is its estimate where
        this machine never ran that job id, since a job id names its parameters (a full-profile job measured on
        the committed 2-core reference says more about a full-profile job here than a quick one of the same cell)."""
        ok = _ok(stored)
        # Oldest first, so that the newest result of a job id or a cell is the one kept.
        self.by_id = {job["job_id"]: job["duration_s"] for _, job in ok}
        self.by_cell = {tuple(job.get(k) for k in CELL_FIELDS): job["duration_s"] for _, job in ok}
        per_experiment: dict[str, dict[str, float]] = {}
        for _, job in ok:
            per_experiment.setdefault(job["experiment"], {})[job["job_id"]] = job["duration_s"]
        self.median = {name: statistics.median(times.values()) for name, times in per_experiment.items()}
        elsewhere: dict[str, dict[str, float]] = {}
        for run_id, job in _ok(imported):
            elsewhere.setdefault(job["job_id"], {})[run_id] = job["duration_s"]
        self.imported = {job_id: statistics.median(times.values()) for job_id, times in elsewhere.items()}

    def stored(self, job) -> float | None:
        """The newest stored time of this job, or of its cell and process under other parameters or code."""
        if job.job_id in self.by_id:
            return self.by_id[job.job_id]
        return self.by_cell.get(tuple(getattr(job, k) for k in CELL_FIELDS))

    def of(self, job) -> tuple[float, str]:
        """Seconds the job is expected to take, and where that came from: this machine's time of the job id, else
        another machine's (imported), else this machine's time of its cell under other parameters, else the
        median of the experiment's jobs here, else the experiment's stated default."""
        if job.job_id in self.by_id:
            return self.by_id[job.job_id], STORED
        if job.job_id in self.imported:
            return self.imported[job.job_id], IMPORTED
        seconds = self.stored(job)
        if seconds is not None:
            return seconds, STORED
        if job.experiment in self.median:
            return self.median[job.experiment], MEDIAN
        return EXPERIMENTS[job.experiment].default_job_s, DEFAULT


@dataclass
class Expected:
    """One experiment's share of a run and the time it is expected to take."""

    experiment: str = field(metadata={"help": "experiment name"})
    to_run: int = field(default=0, metadata={"help": "jobs that will run"})
    reused: int = field(default=0, metadata={"help": "jobs whose stored result is reused (no time)"})
    seconds: float = field(default=0.0, metadata={"help": "expected seconds of the jobs to run"})
    extra: int = field(default=0, metadata={"help": "processes sequential designs may add, at most"})
    extra_seconds: float = field(default=0.0, metadata={"help": "expected seconds of all of those processes"})
    sources: Counter = field(
        default_factory=Counter,
        metadata={"help": "where each job's estimate came from (one of SOURCES) -> jobs"},
    )

    @property
    def most_seconds(self) -> float:
        return self.seconds + self.extra_seconds


def expected(jobs, to_run, stored, imported=()) -> list[Expected]:
    """Per experiment, in the profile's order: `jobs` the profile's jobs, `to_run` the ids of those that will run,
    `stored` this machine's stored (run id, job) pairs, `imported` those of runs imported from other machines."""
    times = Times(stored, imported)
    rows: dict[str, Expected] = {}
    cells: dict[str, list] = {}
    for job in jobs:
        row = rows.setdefault(job.experiment, Expected(job.experiment))
        cells.setdefault(job.cell_id, []).append(job)
        if job.job_id in to_run:
            seconds, source = times.of(job)
            row.to_run += 1
            row.seconds += seconds
            row.sources[source] += 1
        else:
            row.reused += 1
    for planned in cells.values():
        last = max(planned, key=lambda j: j.process)
        if not last.max_processes:
            continue
        # An added process is the cell's next warm one (fwbench.run.sequential): its own time if an earlier run
        # (here or on an imported machine) added it, else the time of the cell's last planned process.
        warm, _ = times.of(last)
        for process in range(len(planned), last.max_processes):
            seconds, source = times.of(dataclasses.replace(last, process=process))
            rows[last.experiment].extra += 1
            rows[last.experiment].extra_seconds += seconds if source in (STORED, IMPORTED) else warm
    return list(rows.values())


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def _sources(counts: Counter) -> str:
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{source} {counts[source]}" for source in SOURCES if counts[source])


def table(rows: list[Expected], where: str = "") -> list[str]:
    """The estimate as lines for a terminal: one per experiment, then the total."""
    grows = any(r.extra for r in rows)
    head = ["experiment", "to run", "reused", "expected min"] + (["at most min"] if grows else []) + ["estimated from"]
    body = [
        [r.experiment, str(r.to_run), str(r.reused), _minutes(r.seconds)]
        + ([_minutes(r.most_seconds)] if grows else [])
        + [_sources(r.sources) if r.to_run else "-"]
        for r in rows
    ]
    total = [
        "total",
        str(sum(r.to_run for r in rows)),
        str(sum(r.reused for r in rows)),
        _minutes(sum(r.seconds for r in rows)),
    ] + ([_minutes(sum(r.most_seconds for r in rows))] if grows else [])
    widths = [max(len(line[i]) for line in [head, *body, total] if i < len(line)) for i in range(len(head))]

    def row(cells: list[str]) -> str:
        return (
            "  "
            + "  ".join(
                c.ljust(w) if i in (0, len(head) - 1) else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()
        )

    lines = [
        f"fwbench: expected time{where}, from this machine's stored job times (the newest of the same job, else the "
        f"same job on an imported machine, else the newest of the same cell, else the median of the experiment's), "
        f"else each experiment's stated default; jobs only, the book not counted"
    ]
    lines += [row(head), *map(row, body), row(total)]
    if grows:
        lines.append("  (at most: with every process the sequential designs may add, each cell to its max_processes)")
    if any(r.sources[IMPORTED] for r in rows):
        lines.append(
            f"  ({IMPORTED}: the same job as measured on a machine whose bundle is in the store, a committed "
            "reference among them (reference/README.md names each): another machine, so a rough guide.)"
        )
    if any(r.sources[MEDIAN] or r.sources[DEFAULT] for r in rows):
        # Those estimates come from other jobs: a profile whose jobs measure more than they did takes longer.
        lines.append(
            f"  ({DEFAULT}: the experiment's mean job in the quick profile on a 2-core VM; {MEDIAN}: the median of "
            "this machine's stored jobs of the experiment. Jobs that measure more, as the full profile's do, "
            "take longer than these say.)"
        )
    return lines


def over_budget(rows: list[Expected], budget_min: float | None) -> str | None:
    """The one warning line when the expected time of the jobs to run exceeds the profile's budget, else None."""
    seconds = sum(r.seconds for r in rows)
    if budget_min is None or seconds <= budget_min * 60:
        return None
    return f"fwbench: warning: expected {_minutes(seconds)} min, over this profile's budget of {budget_min:g} min"
