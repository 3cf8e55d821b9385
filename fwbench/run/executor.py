"""Where jobs execute: the interface between the runner's driver-side logic and a place that runs jobs (this machine,
or the nodes of a Ray cluster), and what a place hands back for each job: its result, notebook and log as data."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol


@dataclass
class Target:
    """One kind of machine that runs a share of the profile, as one run in the store."""

    fingerprint: dict = field(
        metadata={
            "help": "the machine's fingerprint (fwbench.measure.fingerprint), from the "
            "machine itself: job keys are made from it"
        }
    )
    jobs: tuple = field(
        metadata={"help": "the profile's jobs this machine runs ('devices: [auto]' expanded from its own view)"}
    )
    hardware_class: str | None = field(
        default=None,
        metadata={"help": "the Ray hardware class its nodes advertise; None for this machine (the local executor)"},
    )
    cpus: int | None = field(
        default=None,
        metadata={"help": "CPUs a job may use there ('threads: auto'); None: this process's own (fwbench.measure.env)"},
    )
    load: Callable[[], dict] | None = field(
        default=None,
        metadata={
            "help": "what other programs take from the machine's CPUs now (fwbench.measure.threads.machine_load)"
        },
    )
    record: dict | None = field(
        default=None,
        metadata={"help": "what the run's manifest stores of where it ran ('executor'); None for a local run"},
    )


@dataclass
class Outcome:
    """What executing one job gave back, as data: the driver files it in the store (scrubbed, validated, atomic)."""

    body: dict = field(metadata={"help": "the job's result body (fwbench.run.runner.execute_job)"})
    started: str = field(metadata={"help": "UTC time the job started, ISO 8601 to the second"})
    finished: str = field(metadata={"help": "UTC time its kernel ended"})
    notebook: str | None = field(default=None, metadata={"help": "the executed notebook's text, if one was written"})
    log: str | None = field(default=None, metadata={"help": "the kernel's stderr log, if any"})
    artifacts_dir: Path | None = field(
        default=None, metadata={"help": "a folder of exported models on this machine (local runs), copied into the run"}
    )
    artifacts: dict[str, bytes] = field(
        default_factory=dict,
        metadata={"help": "exported models as relative path -> bytes (remote runs), written into the run"},
    )
    executor: dict | None = field(
        default=None,
        metadata={
            "help": "where and how it ran (node, hardware class, variables the executor had set); stored with the job"
        },
    )


class Lane(Protocol):
    """One target's execution of one run: at most `capacity()` jobs in flight, results in any order."""

    def capacity(self) -> int: ...

    def schedule(self, batch: list) -> None:
        """The next batch of jobs (its positions are what `submit` and `done` are given)."""

    def submit(self, index: int, job) -> object:
        """Start the job at position `index` of the batch; return a handle for `wait`."""

    def wait(self) -> tuple[object, Outcome]:
        """The next finished job's handle and outcome (never raises for a job's own failure)."""

    def done(self, index: int, job) -> None:
        """The job is stored: what it kept for its cell's later processes may go."""

    def close(self) -> None: ...


class Executor(Protocol):
    """A place that runs jobs: the local machine (fwbench.run.runner.LocalExecutor) or a Ray cluster
    (fwbench.run.ray_executor.RayExecutor)."""

    name: str

    def session(self) -> contextlib.AbstractContextManager:
        """Held for the whole run: the local machine's one-benchmark lock, or the connection to the cluster."""

    def targets(self, profile) -> list[Target]:
        """The machines that run the profile, each with its own fingerprint and jobs."""

    def lane(self, target: Target, run_id: str, keep: Callable[[str], bool]) -> Lane:
        """Executes the target's jobs of run `run_id`; `keep(cell_id)` says a cell may still get processes."""

    def each(self, targets: list[Target], work: Callable[[Target], object]) -> list:
        """`work(target)` for every target (one after the other, or side by side) and the results in order."""


def one_by_one(targets: list[Target], work: Callable[[Target], object]) -> list:
    """Each target in turn (the local machine has one)."""
    return [work(t) for t in targets]


@contextlib.contextmanager
def nothing_held() -> Iterator[None]:
    yield
