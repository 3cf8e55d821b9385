"""What other programs take from the CPUs while a whole block of work runs (a load level, an epoch, a series of
latency calls), and a block run again when they took too much: for experiments that do not interleave steps."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from fwbench.measure.threads import descendants, machine_cpu

#: Tick rounding: the kernel counts CPU time in 10 ms ticks, per CPU and per process.
SLACK_S = 0.03

T = TypeVar("T")


@dataclass(frozen=True)
class Guard:
    """When a block counts as measured on a busy machine, and how often it is run again."""

    busy_cpus: float = field(
        default=0.25,
        metadata={
            "help": "a block is busy when other programs (the machine's busy CPU time in /proc/stat less this "
            "process's, its live descendants' and its ended children's) used more than this many CPUs on average "
            "while it ran; the eager-vs-graph rounds use the same bound (fwbench.measure.timing)",
            "bounds": "cpus",
        },
    )
    redo: int = field(
        default=2,
        metadata={
            "help": "times a busy block is run again before it is kept, marked busy (and left out of verdicts)",
            "bounds": "count",
        },
    )


def busy_cpus_field(block: str):
    """An experiment's `busy_cpus` parameter, its help text naming the experiment's timed `block`."""
    return field(
        default=Guard.busy_cpus,
        metadata={
            "bounds": "cpus",
            "help": f"{block} counts as measured on a busy machine when other programs used more than this many "
            "CPUs on average meanwhile (fwbench.measure.quiet)",
        },
    )


def busy_redo_field(again: str, left_out: str = "the comparisons"):
    """An experiment's `busy_redo` parameter: how often a busy block (`again` says how it is run again) is."""
    return field(
        default=Guard.redo,
        metadata={
            "bounds": "count",
            "help": f"times a busy {again} before it is kept, marked busy and left out of {left_out}",
        },
    )


def _tick() -> float:
    return os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def own_cpu_s() -> float:
    """CPU seconds used so far by this process, its live descendants (servers, load generators, workers, in sessions
    of their own or not) and every descendant that has ended and been waited for: the job's own work, which must
    not read as another program taking the machine (Linux; this process's own time elsewhere).

    A child that starts and ends inside a block (a load generator) leaves the live descendants before the block's
    end is read: its time is then in this process's children's times, or in its parent's if that is a descendant."""
    times = os.times()
    total = time.process_time() + times.children_user + times.children_system
    tick = _tick()
    for pid in descendants():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # utime, stime, cutime, cstime: fields 14-17 of stat (the children it has waited for included)
            total += sum(int(v) for v in fields[11:15]) / tick
        except (OSError, ValueError, IndexError):  # ended meanwhile
            pass
    return total


@dataclass
class Window:
    """One block's reading: wall time, and the CPUs other programs used on average over it (None off Linux)."""

    wall_s: float = 0.0
    other_cpus: float | None = None

    def busy(self, guard: Guard) -> bool:
        if self.other_cpus is None or self.wall_s <= 0:
            return False
        return self.other_cpus * self.wall_s > guard.busy_cpus * self.wall_s + SLACK_S


class Watch:
    """`with Watch() as w: ...` reads what other programs took from the CPUs while the block ran into `w.window`."""

    def __enter__(self) -> "Watch":
        self._machine, self._own, self._t = machine_cpu(), own_cpu_s(), time.perf_counter()
        self.window = Window()
        return self

    def __exit__(self, *exc) -> None:
        wall = time.perf_counter() - self._t
        machine, own = machine_cpu(), own_cpu_s()
        other = None
        if machine is not None and self._machine is not None and wall > 0:
            other = max(0.0, (machine["busy"] - self._machine["busy"]) - (own - self._own)) / wall
        self.window = Window(wall, other)


@dataclass
class Guarded:
    """What `guarded` gives back besides the block's result: how it went, for the block's records."""

    other_cpus: float | None = field(metadata={"help": "CPUs other programs used during the kept attempt"})
    attempts: int = field(metadata={"help": "times the block ran (1: it was quiet the first time)"})
    busy: bool = field(metadata={"help": "the kept attempt was busy too: the block is left out of verdicts"})

    def records(self) -> dict[str, float]:
        """The block's metrics (busy_block, block_attempts, other_cpus where known)."""
        out = {"busy_block": float(self.busy), "block_attempts": float(self.attempts)}
        if self.other_cpus is not None:
            out["other_cpus"] = round(self.other_cpus, 3)
        return out


def guarded(block: Callable[[], T], guard: Guard = Guard()) -> tuple[T, Guarded]:
    """Run `block`; while other programs took more than `guard.busy_cpus` CPUs during it, run it again, up to
    `guard.redo` times. The last attempt is kept, marked busy if it was."""
    attempts = 0
    while True:
        attempts += 1
        with Watch() as w:
            out = block()
        busy = w.window.busy(guard)
        if not busy or attempts > guard.redo:
            return out, Guarded(w.window.other_cpus, attempts, busy)
