"""The timers every measurement goes through: first call apart, warm-up, synchronized repeats, interleaving."""

from __future__ import annotations

import contextlib
import gc
import os
import math
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager

from fwbench.measure.stats import Summary, summarize
from fwbench.measure.steady import SteadyConfig, level_shift, settled


@dataclass(frozen=True)
class TimerConfig:
    """How many times to call the function under test, and for how long at most."""

    warmup: int = field(default=10, metadata={"help": "untimed calls after the first call, before timing starts"})
    repeats: int = field(default=100, metadata={"help": "timed calls (upper bound; see max_time_s)"})
    min_repeats: int = field(default=10, metadata={"help": "timed calls made even when max_time_s is exceeded"})
    max_time_s: float = field(default=30.0, metadata={"help": "stop timing after this much wall time (and min_repeats)"})

    def __post_init__(self):
        for name in ("warmup", "repeats", "min_repeats"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"TimerConfig.{name} must be a non-negative integer, got {value!r}")
        if self.repeats < 1 or self.min_repeats > self.repeats:
            raise ValueError("TimerConfig needs repeats >= 1 and min_repeats <= repeats")
        if not self.max_time_s > 0:
            raise ValueError("TimerConfig.max_time_s must be positive")


#: Timed calls between two garbage collections (the collector never runs inside a clock).
_GC_EVERY = 10


@dataclass
class Timing:
    """Raw result of timing one function: first call and steady-state samples, in seconds."""

    first_call_s: float
    samples_s: list[float]
    warmup: int
    first_output: Any = field(default=None, repr=False)

    def summary(self) -> Summary:
        return summarize(self.samples_s)


def _call(fn: Callable[[], Any], sync: Callable[[Any], Any]) -> tuple[float, Any]:
    # The clock stops only after sync(): JAX, CUDA and TF may return before the
    # work is done, and timing the dispatch instead of the work is the classic lie.
    start = time.perf_counter_ns()
    out = fn()
    sync(out)
    return (time.perf_counter_ns() - start) * 1e-9, out


def measure(fn: Callable[[], Any], sync: Callable[[Any], Any], config: TimerConfig = TimerConfig(),
            observe: Callable[[int, Any], None] | None = None) -> Timing:
    """Time `fn` honestly.

    The first call (which includes tracing and compiling for graph modes) is
    kept as its own figure; then `config.warmup` untimed calls; then up to
    `config.repeats` timed calls, each followed by `sync(output)` before the
    clock stops. `observe(i, output)` sees the outputs of the first call (i=0)
    and the warm-up calls, outside the clock, e.g. to record a loss trajectory.
    """
    first, first_out = _call(fn, sync)
    if observe:
        observe(0, first_out)
    # Compiling leaves heaps of garbage; without this, the collector's passes over it
    # land inside the timed calls (seen: torch.compile median 4.1 ms vs 1.8 ms).
    gc.collect()
    for i in range(config.warmup):
        _, out = _call(fn, sync)
        if observe:
            observe(i + 1, out)
    gc.collect()
    samples: list[float] = []
    deadline = time.perf_counter() + config.max_time_s
    gc.disable()  # the collector runs between timed calls only, every _GC_EVERY of them
    try:
        while len(samples) < config.repeats:
            if len(samples) >= config.min_repeats and time.perf_counter() > deadline:
                break
            samples.append(_call(fn, sync)[0])
            if len(samples) % _GC_EVERY == 0:
                gc.collect()
    finally:
        gc.enable()
    return Timing(first_call_s=first, samples_s=samples, warmup=config.warmup, first_output=first_out)


# ---- interleaved measurement of alternatives in one process ------------------------------------------

@dataclass(frozen=True)
class InterleaveConfig:
    """Blocks, warm-up bounds and the time budget of an interleaved measurement."""

    block: int = field(default=8, metadata={"help": "timed steps per block at most; alternatives take turns block by block"})
    block_s: float = field(default=0.02, metadata={
        "help": "target duration of a block: slow steps get fewer steps per block (at least one)"})
    block_warmup: int = field(default=2, metadata={
        "help": "untimed steps at the start of every block of a short step (< short_step_s): the first steps "
                "after another alternative ran find their caches cold, a cost a training loop does not pay"})
    short_step_s: float = field(default=0.005, metadata={"help": "steps shorter than this get block_warmup"})
    min_samples: int = field(default=12, metadata={"help": "timed steps per alternative at least, even past max_time_s and max_blocks"})
    min_blocks: int = field(default=4, metadata={"help": "timed rounds at least"})
    max_blocks: int = field(default=40, metadata={"help": "timed rounds at most"})
    max_time_s: float = field(default=2.0, metadata={"help": "budget for the timed rounds of all alternatives together"})
    warmup_min: int = field(default=4, metadata={"help": "untimed steps after the first call at least"})
    warmup_max: int = field(default=60, metadata={"help": "untimed steps at most while waiting for a steady state"})
    max_stolen_blocks: int = field(default=40, metadata={
        "help": "blocks per alternative that may be dropped and run again because the hypervisor took CPU time "
                "while they ran (steal in /proc/stat); past this, stolen blocks are kept and counted"})
    steady: SteadyConfig = field(default_factory=SteadyConfig, metadata={"help": "settling and level-shift rules"})

    def __post_init__(self):
        if not isinstance(self.block_warmup, int) or isinstance(self.block_warmup, bool) or self.block_warmup < 0:
            raise ValueError(f"block_warmup must be a non-negative integer, got {self.block_warmup!r}")
        if not isinstance(self.max_stolen_blocks, int) or isinstance(self.max_stolen_blocks, bool) or self.max_stolen_blocks < 0:
            raise ValueError(f"max_stolen_blocks must be a non-negative integer, got {self.max_stolen_blocks!r}")
        for name in ("block", "min_samples", "min_blocks", "max_blocks", "warmup_min", "warmup_max"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.min_blocks > self.max_blocks or self.warmup_min > self.warmup_max:
            raise ValueError("need min_blocks <= max_blocks and warmup_min <= warmup_max")
        for name in ("max_time_s", "block_s", "short_step_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")


@dataclass
class Series:
    """One alternative's measurement: first call, warm-up, timed steps in time order, and their health."""

    name: str
    first_call_s: float = math.nan
    first_output: Any = field(default=None, repr=False)
    discarded: int = 0
    settled: bool = False
    steps_per_block: int = 1
    untimed_per_block: int = 0
    samples_s: list[float] = field(default_factory=list)
    attempts: int = 1
    stable: bool = True
    problem: str = ""
    #: Why the first attempt was not kept (empty if it was).
    remeasured_because: str = ""
    #: Timed blocks dropped (and run again) because the hypervisor stole CPU time during them, and those kept
    #: anyway once max_stolen_blocks were dropped; the seconds stolen during the dropped ones.
    stolen_dropped: int = 0
    stolen_kept: int = 0
    stolen_s: float = 0.0

    def health(self, config: InterleaveConfig) -> str:
        """Empty if the series is a steady state; else what is wrong with it."""
        if not self.settled:
            return f"did not settle within {config.warmup_max} warm-up steps"
        shift = level_shift(self.samples_s, min_segment=5, config=config.steady)
        return shift.describe() if shift else ""


def _block(fn, sync, steps: int, untimed: int = 0) -> list[float]:
    # The collector is off inside a block and runs between blocks, outside every clock.
    times = []
    gc.disable()
    try:
        for _ in range(untimed):
            _call(fn, sync)
        for _ in range(steps):
            times.append(_call(fn, sync)[0])
    finally:
        gc.enable()
    return times


def stolen_s() -> float | None:
    """CPU seconds the hypervisor has taken from this (virtual) machine so far, all CPUs together (Linux; None
    elsewhere or where the kernel does not account steal). Cheap enough to read around every block."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()
        return int(fields[8]) / _TICK if len(fields) > 8 else None
    except (OSError, ValueError):
        return None


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _collect() -> None:
    """Collect garbage outside the clocks; objects that survived are frozen so later collections stay short
    (a full pass over a framework's heap after compiling took tens of milliseconds)."""
    gc.collect()
    gc.freeze()


def _warm(series: Series, fn, sync, config: InterleaveConfig, observe, start_index: int) -> None:
    """Untimed blocks until consecutive block medians agree (or the warm-up bound is reached); sizes the blocks."""
    medians, sizes, done = [], [], 0
    size = config.block
    while done < config.warmup_max:
        steps = min(size, config.warmup_max - done)
        times = []
        for k in range(steps):
            elapsed, out = _call(fn, sync)
            times.append(elapsed)
            if observe:
                observe(series.name, start_index + done + k + 1, out)
        done += steps
        medians.append(statistics.median(times))
        sizes.append(steps)
        # Blocks of about block_s: a slow step warms up (and is timed) a few steps at a time.
        size = max(1, min(config.block, round(config.block_s / max(medians[-1], 1e-9))))
        _collect()
        if done >= config.warmup_min and settled(medians, config.steady, sizes):
            series.settled = True
            break
    series.discarded += done
    series.steps_per_block = size
    series.untimed_per_block = config.block_warmup if medians[-1] < config.short_step_s else 0


def measure_interleaved(fns: dict[str, Callable[[], Any]], sync: Callable[[Any], Any], config: InterleaveConfig,
                        rng: random.Random, observe: Callable[[str, int, Any], None] | None = None,
                        wall: dict[str, float] | None = None,
                        contexts: dict[str, Callable[[], ContextManager]] | None = None) -> dict[str, Series]:
    """Time several alternatives in one process so that drift of the machine hits them alike.

    Each alternative's first call is timed on its own (trace and compile), in a seeded random order.
    Each then warms up until its block medians settle, which also sizes its blocks (about `block_s`).
    The timed part is rounds: in each round every alternative runs one block, in a fresh seeded random
    order, until every alternative has `min_samples` steps, `min_blocks` rounds have run and the budget
    is spent (or `max_blocks` rounds). A series that never settled or whose timed steps shift level is
    measured once more (all alternatives again, interleaved); if it is still not steady it is kept but
    marked unstable, with the reason. `observe(name, i, output)` sees the first call (i=0) and the
    warm-up outputs of the first attempt. `wall`, when given, gains the wall seconds spent on "first calls",
    "warm-up" and "timed rounds" (untimed block steps and collections included), for the job's time budget.
    `contexts[name]()`, where given, is entered around each of that alternative's first call, warm-up and
    blocks (a debugging tool switched on for its turns only), so entering it is never inside a clock.
    """
    contexts = contexts or {}

    def within(n: str) -> ContextManager:
        return contexts[n]() if n in contexts else contextlib.nullcontext()

    wall = {} if wall is None else wall
    tick = time.perf_counter()

    def lap(part: str) -> None:
        nonlocal tick
        now = time.perf_counter()
        wall[part] = wall.get(part, 0.0) + now - tick
        tick = now

    names = list(fns)
    series = {n: Series(n) for n in names}
    for n in rng.sample(names, len(names)):
        with within(n):
            series[n].first_call_s, out = _call(fns[n], sync)
        series[n].first_output = out
        if observe:
            observe(n, 0, out)
        _collect()
    lap("first calls")
    for attempt in (1, 2):
        for n in rng.sample(names, len(names)):
            s = series[n]
            if not s.settled:
                with within(n):
                    _warm(s, fns[n], sync, config, observe if attempt == 1 else None, s.discarded)
            s.samples_s, s.attempts = [], attempt
            s.stolen_dropped, s.stolen_kept, s.stolen_s = 0, 0, 0.0
        lap("warm-up")
        deadline = time.perf_counter() + config.max_time_s
        rounds = 0
        while True:
            short = any(len(series[n].samples_s) < config.min_samples for n in names)
            # min_samples wins over max_blocks: a series too short for the level-shift test is no measurement.
            if not short and (rounds >= config.max_blocks
                              or (rounds >= config.min_blocks and time.perf_counter() >= deadline)):
                break
            for n in rng.sample(names, len(names)):
                s = series[n]
                before = stolen_s()
                with within(n):
                    times = _block(fns[n], sync, s.steps_per_block, s.untimed_per_block)
                after = stolen_s()
                # A block during which the hypervisor ran someone else measured the neighbours, not the
                # framework: on a shared VM that is the main cause of slow processes (see issue 14's note).
                stolen = (after - before) if before is not None and after is not None else 0.0
                if stolen > 0 and s.stolen_dropped < config.max_stolen_blocks:
                    s.stolen_dropped += 1
                    s.stolen_s += stolen
                    continue
                s.stolen_kept += stolen > 0
                s.samples_s += times
            _collect()
            rounds += 1
        lap("timed rounds")
        problems = {n: series[n].health(config) for n in names}
        if not any(problems.values()):
            break
        for n, problem in problems.items():
            if problem and attempt == 2:
                series[n].stable, series[n].problem = False, problem
            elif problem:  # warm up again: whatever was still changing may have finished
                series[n].settled, series[n].remeasured_because = False, problem
    return series
