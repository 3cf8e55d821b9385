"""The timers every measurement goes through: first call apart, warm-up, synchronized repeats, interleaving."""

from __future__ import annotations

import contextlib
import gc
import math
import os
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager

from fwbench.measure.stats import Summary, summarize
from fwbench.measure.steady import SteadyConfig, level_shift, settled
from fwbench.measure.threads import descendants_cpu_s, machine_cpu, run_delay_s

#: Tick rounding of /proc/stat (10 ms ticks on several counters) allowed before a window counts as busy.
BUSY_SLACK_S = 0.015
#: Steal a block may hold and still be kept, as a share of its wall time, never past BUSY_SLACK_S: /proc/stat counts
#: steal in 10 ms ticks. On this project's 2-vCPU VM a third of the 0.35 s single-step blocks of JAX's eager rnn
#: read one tick (median step 5% slower than with none; two ticks: 30%), and dropping a block on any tick kept that
#: series out of the verdicts in 15 of 20 quiet processes. A block under 0.2 s is still dropped on one tick.
STEAL_SHARE = 0.05
#: Rounds are judged busy or not in windows at least this long: tick rounding dwarfs a round of a few
#: milliseconds (quiet, 30 ms windows read other programs at +-0.3 CPUs here, 100 ms ones at +-0.1).
BUSY_WINDOW_S = 0.1


@dataclass(frozen=True)
class TimerConfig:
    """How many times to call the function under test, and for how long at most."""

    warmup: int = field(default=10, metadata={"help": "untimed calls after the first call, before timing starts"})
    repeats: int = field(default=100, metadata={"help": "timed calls (upper bound; see max_time_s)"})
    min_repeats: int = field(default=10, metadata={"help": "timed calls made even when max_time_s is exceeded"})
    max_time_s: float = field(
        default=30.0, metadata={"help": "stop timing after this much wall time (and min_repeats)"}
    )

    def __post_init__(self):
        for name in ("warmup", "repeats", "min_repeats"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"TimerConfig.{name} must be a non-negative integer, got {value!r}")
        if self.repeats < 1 or self.min_repeats > self.repeats:
            raise ValueError("TimerConfig needs repeats >= 1 and min_repeats <= repeats")
        if not self.max_time_s > 0:
            raise ValueError("TimerConfig.max_time_s must be positive")


class GcClock:
    """Time the garbage collector spends while a clock runs, from `gc.callbacks`: the collector stays on inside
    every timed step (a user's loop pays for it, and frameworks differ in the garbage they leave), and this says
    how much of a step it was. Installed with `with GcClock() as gc_clock:`; `running` says whose time it is."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.collections: dict[str, int] = {}
        self.running: str | None = None
        self._started = 0

    def _callback(self, phase: str, info: dict) -> None:
        if self.running is None:
            return
        if phase == "start":
            self._started = time.perf_counter_ns()
        elif self._started:
            self.seconds[self.running] = (
                self.seconds.get(self.running, 0.0) + (time.perf_counter_ns() - self._started) * 1e-9
            )
            self.collections[self.running] = self.collections.get(self.running, 0) + 1
            self._started = 0

    def __enter__(self) -> "GcClock":
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc) -> bool:
        gc.callbacks.remove(self._callback)
        return False


@dataclass
class Timing:
    """Raw result of timing one function: first call and steady-state samples, in seconds."""

    first_call_s: float
    samples_s: list[float]
    warmup: int
    first_output: Any = field(default=None, repr=False)
    #: Seconds the garbage collector ran inside the timed calls, and how many collections that was.
    gc_s: float = 0.0
    gc_collections: int = 0

    def summary(self) -> Summary:
        return summarize(self.samples_s)


def _call(fn: Callable[[], Any], sync: Callable[[Any], Any]) -> tuple[float, Any]:
    # The clock stops only after sync(): JAX, CUDA and TF may return before the
    # work is done, and timing the dispatch instead of the work is the classic lie.
    start = time.perf_counter_ns()
    out = fn()
    sync(out)
    return (time.perf_counter_ns() - start) * 1e-9, out


def measure(
    fn: Callable[[], Any],
    sync: Callable[[Any], Any],
    config: TimerConfig = TimerConfig(),
    observe: Callable[[int, Any], None] | None = None,
) -> Timing:
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
    for i in range(config.warmup):
        _, out = _call(fn, sync)
        if observe:
            observe(i + 1, out)
    # The garbage of compiling and warming up is theirs: collected once, before the clock. From here on the
    # collector runs when it would in a user's loop, inside the timed calls, and its time is recorded.
    gc.collect()
    samples: list[float] = []
    deadline = time.perf_counter() + config.max_time_s
    with GcClock() as gc_clock:
        gc_clock.running = "timed"
        while len(samples) < config.repeats:
            if len(samples) >= config.min_repeats and time.perf_counter() > deadline:
                break
            samples.append(_call(fn, sync)[0])
    return Timing(
        first_call_s=first,
        samples_s=samples,
        warmup=config.warmup,
        first_output=first_out,
        gc_s=gc_clock.seconds.get("timed", 0.0),
        gc_collections=gc_clock.collections.get("timed", 0),
    )


# ---- interleaved measurement of alternatives in one process ------------------------------------------


@dataclass(frozen=True)
class InterleaveConfig:
    """Blocks, warm-up bounds and the time budget of an interleaved measurement."""

    block: int = field(
        default=8, metadata={"help": "timed steps per block at most; alternatives take turns block by block"}
    )
    block_s: float = field(
        default=0.02,
        metadata={"help": "target duration of a block: slow steps get fewer steps per block (at least one)"},
    )
    block_warmup: int = field(
        default=2,
        metadata={
            "help": "untimed steps at the start of every block of a short step (< short_step_s): the first steps "
            "after another alternative ran find their caches cold, a cost a training loop does not pay"
        },
    )
    short_step_s: float = field(default=0.005, metadata={"help": "steps shorter than this get block_warmup"})
    min_samples: int = field(
        default=12, metadata={"help": "timed steps per alternative at least, even past max_time_s and max_blocks"}
    )
    min_blocks: int = field(default=4, metadata={"help": "timed rounds at least"})
    max_blocks: int = field(default=40, metadata={"help": "timed rounds at most"})
    max_time_s: float = field(
        default=2.0, metadata={"help": "budget for the timed rounds of all alternatives together"}
    )
    warmup_min: int = field(default=4, metadata={"help": "untimed steps after the first call at least"})
    warmup_max: int = field(default=60, metadata={"help": "untimed steps at most while waiting for a steady state"})
    busy_cpus: float = field(
        default=0.25,
        metadata={
            "help": "a round is busy when other programs (the machine's busy CPU time in /proc/stat less this "
            "process's and its children's) used more than this many CPUs while it ran, past BUSY_SLACK_S of "
            "tick rounding. Quiet, rounds of 60-200 ms read within +-0.2 and +-0.06 CPUs here; with one core "
            "kept busy beside PyTorch's two threads the other program got about 0.4-0.6 CPUs"
        },
    )
    max_disturbed_share: float = field(
        default=0.2,
        metadata={
            "help": "busy rounds and blocks during which the hypervisor stole CPU time (steal in /proc/stat) are "
            "dropped and run again while they are at most this share of the rounds (blocks) run (or fewer "
            "than min_redo); past it the series is stored as measured on a busy machine, out of verdicts"
        },
    )
    min_redo: int = field(default=3, metadata={"help": "disturbed blocks an alternative may always run again"})
    steady: SteadyConfig = field(default_factory=SteadyConfig, metadata={"help": "settling and level-shift rules"})

    def __post_init__(self):
        if not isinstance(self.block_warmup, int) or isinstance(self.block_warmup, bool) or self.block_warmup < 0:
            raise ValueError(f"block_warmup must be a non-negative integer, got {self.block_warmup!r}")
        if not isinstance(self.min_redo, int) or isinstance(self.min_redo, bool) or self.min_redo < 0:
            raise ValueError(f"min_redo must be a non-negative integer, got {self.min_redo!r}")
        if not (
            isinstance(self.max_disturbed_share, (int, float))
            and not isinstance(self.max_disturbed_share, bool)
            and 0 <= self.max_disturbed_share <= 1
        ):
            raise ValueError(f"max_disturbed_share must be a share between 0 and 1, got {self.max_disturbed_share!r}")
        if not (
            isinstance(self.busy_cpus, (int, float)) and not isinstance(self.busy_cpus, bool) and self.busy_cpus >= 0
        ):
            raise ValueError(f"busy_cpus must be a non-negative number of CPUs, got {self.busy_cpus!r}")
        for name in ("block", "min_samples", "min_blocks", "max_blocks", "warmup_min", "warmup_max"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.min_blocks > self.max_blocks or self.warmup_min > self.warmup_max:
            raise ValueError("need min_blocks <= max_blocks and warmup_min <= warmup_max")
        for name in ("max_time_s", "block_s", "short_step_s"):
            value = getattr(self, name)
            if not (
                isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
            ):
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
    #: anyway past the bound (max_disturbed_share); the seconds stolen during the dropped ones.
    stolen_dropped: int = 0
    stolen_kept: int = 0
    stolen_s: float = 0.0
    #: The same for blocks of busy rounds (other programs used more than busy_cpus CPUs while the round ran).
    busy_dropped: int = 0
    busy_kept: int = 0
    #: Timed blocks kept, and the share of each block's wall time the job's threads waited for a CPU (its
    #: median and largest over every timed block, dropped ones included): the harm, recorded beside the rule.
    blocks: int = 0
    wait_share_median: float = 0.0
    wait_share_max: float = 0.0
    #: Seconds the garbage collector ran inside the timed steps, and how many collections that was.
    gc_s: float = 0.0
    gc_collections: int = 0
    #: The median step of the last warm-up block (decides untimed steps per block, once per comparison).
    warm_median_s: float = math.nan
    #: Whether the timed steps were measured on a busy machine (disturbed blocks kept past the bound), and whether
    #: the warm-up was cut short because other programs held the CPUs block after block.
    busy: bool = False
    busy_warmup: bool = False

    @property
    def disturbed_share(self) -> float:
        """Share of all timed blocks run that were dropped as busy or stolen."""
        dropped = self.stolen_dropped + self.busy_dropped
        return dropped / (dropped + self.blocks) if dropped + self.blocks else 0.0

    def health(self, config: InterleaveConfig) -> str:
        """Empty if the series is a steady state measured on a machine that was ours; else what is wrong."""
        if self.busy_warmup:
            return (
                f"measured on a busy machine: other programs used more than {config.busy_cpus:g} CPUs during "
                f"more than {config.min_redo} warm-up blocks in a row, so the warm-up was cut short"
            )
        if not self.settled:
            return f"did not settle within {config.warmup_max} warm-up steps"
        if self.busy:
            return (
                f"measured on a busy machine: {self.busy_dropped + self.stolen_dropped} of "
                f"{self.busy_dropped + self.stolen_dropped + self.blocks} timed blocks disturbed (other programs "
                f"above {config.busy_cpus:g} CPUs, or steal), {self.busy_kept + self.stolen_kept} kept past the "
                f"bound of {config.max_disturbed_share:.0%}; the job's threads waited for a CPU up to "
                f"{self.wait_share_max:.0%} of a block"
            )
        shift = level_shift(self.samples_s, min_segment=5, config=config.steady)
        return shift.describe() if shift else ""


def _block(
    fn, sync, steps: int, untimed: int = 0, gc_clock: GcClock | None = None, name: str | None = None
) -> list[float]:
    # The collector stays on, as in a user's loop; `gc_clock` charges its passes during the timed steps to `name`.
    times = []
    for _ in range(untimed):
        _call(fn, sync)
    if gc_clock is not None:
        gc_clock.running = name
    try:
        for _ in range(steps):
            times.append(_call(fn, sync)[0])
    finally:
        if gc_clock is not None:
            gc_clock.running = None
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
    """Collect the garbage of a first call or a warm-up outside the clocks: compiling leaves heaps of it, and it is
    compile's cost, not a step's. What survived is frozen until the timed rounds start, so the next of these
    collections passes over new objects only (a full pass over a framework's heap after each alternative's first
    call and warm-up doubled those parts); `_thaw` gives the heap back to the collector before anything is timed."""
    gc.collect()
    gc.freeze()


def _thaw() -> None:
    """Frozen objects back into the oldest generation: the timed steps pay for collections over the whole heap, as
    a user's loop does."""
    gc.unfreeze()


def _warm(series: Series, fn, sync, config: InterleaveConfig, observe, start_index: int) -> None:
    """Untimed blocks until consecutive block medians agree (or the warm-up bound is reached); sizes the blocks."""
    medians, sizes, done = [], [], 0
    size = config.block
    busy_blocks, series.busy_warmup = 0, False
    while done < config.warmup_max:
        steps = min(size, config.warmup_max - done)
        times = []
        before, started = _others_cpu_s(), time.perf_counter()
        for k in range(steps):
            elapsed, out = _call(fn, sync)
            times.append(elapsed)
            if observe:
                observe(series.name, start_index + done + k + 1, out)
        done += steps
        busy_blocks = busy_blocks + 1 if _busy(before, _others_cpu_s(), time.perf_counter() - started, config) else 0
        if done >= config.warmup_min and busy_blocks > config.min_redo:
            # Other programs held the CPUs block after block: this warm-up cannot settle on the framework's own
            # speed (a step 250x slower warms up for minutes); the series will be measured on a busy machine.
            series.busy_warmup = True
            medians.append(statistics.median(times))
            break
        medians.append(statistics.median(times))
        sizes.append(steps)
        # Blocks of about block_s: a slow step warms up (and is timed) a few steps at a time.
        size = max(1, min(config.block, round(config.block_s / max(medians[-1], 1e-9))))
        # No collection between warm-up blocks: the collector runs in them as it will in the timed ones (and a
        # full pass over a framework's heap after every block made warming up three times slower).
        if done >= config.warmup_min and settled(medians, config.steady, sizes):
            series.settled = True
            break
    _collect()  # what warming up left (late compiles, caches filled) is warm-up's, not the first timed block's
    series.discarded += done
    series.steps_per_block = size
    series.warm_median_s = medians[-1]


def _reset_timed(s: Series) -> None:
    s.samples_s = []
    s.stolen_dropped, s.stolen_kept, s.stolen_s, s.busy_dropped, s.busy_kept, s.blocks = 0, 0, 0.0, 0, 0, 0
    s.gc_s, s.gc_collections, s.busy = 0.0, 0, False
    s.wait_share_median = s.wait_share_max = 0.0


def _others_cpu_s() -> tuple[float, float] | None:
    """(CPU seconds the whole machine has been busy, CPU seconds this process and its descendants used) so far:
    their difference over a round is what other programs took. None where /proc/stat is unreadable."""
    machine = machine_cpu()
    if machine is None:
        return None
    return machine["busy"], time.process_time() + descendants_cpu_s()


def _busy(before, after, wall: float, config: InterleaveConfig) -> bool:
    """Whether other programs used more than busy_cpus CPUs between two `_others_cpu_s` readings `wall` apart."""
    if before is None or after is None or wall <= 0:
        return False
    other = (after[0] - before[0]) - (after[1] - before[1])
    return other > config.busy_cpus * wall + BUSY_SLACK_S


def _steal_allowed(wall: float) -> float:
    """Stolen CPU seconds a block of `wall` seconds may hold and still be kept (below one tick for a short block)."""
    return min(BUSY_SLACK_S, STEAL_SHARE * wall) + 1e-9  # + 1e-9: a tick read as a difference of sums of ticks


def _busy_now(config: InterleaveConfig, seconds: float = 0.2) -> bool:
    """Whether other programs are using the CPUs right now (over `seconds` of this process sleeping)."""
    before, started = _others_cpu_s(), time.perf_counter()
    time.sleep(seconds)
    return _busy(before, _others_cpu_s(), time.perf_counter() - started, config)


def _timed_rounds(
    series: dict[str, Series], fns, sync, config: InterleaveConfig, order_seed: int, within, gc_clock: GcClock
) -> None:
    """Rounds of one block per alternative, in a fresh seeded order each round, until every alternative has
    min_samples steps, min_blocks rounds ran and the budget is spent (or max_blocks rounds).

    A round's order is drawn from `order_seed` and the round's index alone, so the same seed gives the same
    orders whatever came before (a second attempt, a longer warm-up); a round run again repeats its order.

    Rounds are judged in windows of at least BUSY_WINDOW_S (the kernel counts CPU time in 10 ms ticks, so a
    round of a few milliseconds says nothing alone): a window during which other programs used more than
    `busy_cpus` CPUs is dropped whole (every alternative's blocks, so the interleaving stays fair) and run again,
    as is a block during which the hypervisor stole time; within the bound (max_disturbed_share, min_redo). Past
    it the blocks are kept and the series marked busy."""
    names = list(series)
    waits: dict[str, list[float]] = {n: [] for n in names}
    deadline = time.perf_counter() + config.max_time_s
    kept_rounds = dropped_rounds = 0
    window: list[dict[str, list[float]]] = []  # the rounds of the window being measured, not yet judged
    window_start, window_before = 0.0, None

    def judge() -> None:
        nonlocal kept_rounds, dropped_rounds
        # Other programs held the CPUs (one busy core made PyTorch's steps 250x slower): the window measured the
        # neighbours.
        busy = _busy(window_before, _others_cpu_s(), time.perf_counter() - window_start, config)
        n = len(window)
        if busy and (
            dropped_rounds < config.min_redo
            or dropped_rounds + n <= config.max_disturbed_share * (dropped_rounds + n + kept_rounds)
        ):
            dropped_rounds += n
            for pending in window:
                for name in pending:
                    series[name].busy_dropped += 1
        else:
            kept_rounds += n
            for pending in window:
                for name, times in pending.items():
                    s = series[name]
                    s.samples_s += times
                    s.blocks += 1
                    if busy:  # past the bound: kept, and the series marked as measured on a busy machine
                        s.busy, s.busy_kept = True, s.busy_kept + 1
        window.clear()

    while True:
        steps = {n: len(series[n].samples_s) + sum(len(p.get(n, ())) for p in window) for n in names}
        rounds = kept_rounds + len(window)
        # min_samples wins over max_blocks: a series too short for the level-shift test is no measurement.
        # Rounds dropped as busy are made up for: only kept rounds count toward min_blocks and max_blocks.
        done = min(steps.values()) >= config.min_samples and (
            rounds >= config.max_blocks or (rounds >= config.min_blocks and time.perf_counter() >= deadline)
        )
        if window and (done or time.perf_counter() - window_start >= BUSY_WINDOW_S):
            judge()
            continue
        if done:
            break
        if not window:
            window_start, window_before = time.perf_counter(), _others_cpu_s()
        pending: dict[str, list[float]] = {}
        for n in random.Random(f"{order_seed}:{rounds}").sample(names, len(names)):
            s = series[n]
            stolen_before, wait_before = stolen_s(), run_delay_s()
            started = time.perf_counter()
            with within(n):
                times = _block(fns[n], sync, s.steps_per_block, s.untimed_per_block, gc_clock, n)
            wall = time.perf_counter() - started
            stolen_after, wait_after = stolen_s(), run_delay_s()
            # How long the job's threads waited for a CPU during the block: recorded, not judged (a framework's
            # own thread pools wait on each other too: XLA's did for over half of a quiet block).
            if wait_before is not None and wait_after is not None and wall > 0:
                waits[n].append(max(0.0, wait_after - wait_before) / wall)
            # A block during which the hypervisor ran someone else measured the neighbours, not the framework.
            stolen = (stolen_after - stolen_before) if stolen_before is not None and stolen_after is not None else 0.0
            if stolen > _steal_allowed(wall):
                dropped = s.stolen_dropped + s.busy_dropped
                if dropped < config.min_redo or dropped + 1 <= config.max_disturbed_share * (dropped + 1 + s.blocks):
                    s.stolen_dropped += 1
                    s.stolen_s += stolen
                    continue
                s.busy, s.stolen_kept = True, s.stolen_kept + 1  # past the bound: kept, and the series marked
            pending[n] = times
        window.append(pending)
    for n in names:
        s = series[n]
        s.gc_s, s.gc_collections = gc_clock.seconds.pop(n, 0.0), gc_clock.collections.pop(n, 0)
        if waits[n]:
            s.wait_share_median, s.wait_share_max = float(statistics.median(waits[n])), float(max(waits[n]))


def measure_interleaved(
    fns: dict[str, Callable[[], Any]],
    sync: Callable[[Any], Any],
    config: InterleaveConfig,
    rng: random.Random,
    observe: Callable[[str, int, Any], None] | None = None,
    wall: dict[str, float] | None = None,
    contexts: dict[str, Callable[[], ContextManager]] | None = None,
) -> dict[str, Series]:
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
    order_seed = rng.getrandbits(64)  # the timed rounds' orders: drawn first, so nothing measured moves them
    for n in rng.sample(names, len(names)):
        with within(n):
            series[n].first_call_s, out = _call(fns[n], sync)
        series[n].first_output = out
        if observe:
            observe(n, 0, out)
        _collect()
    lap("first calls")
    with GcClock() as gc_clock:
        for attempt in (1, 2):
            for n in rng.sample(names, len(names)):
                s = series[n]
                if not s.settled:
                    with within(n):
                        _warm(s, fns[n], sync, config, observe if attempt == 1 else None, s.discarded)
                _reset_timed(s)
                s.attempts = attempt
            # Untimed steps per block are decided once for the whole comparison: if one alternative refilled cold
            # caches untimed while its rival paid for that inside the clock, the comparison would measure the rule,
            # not the frameworks. Only where every step is short (blocks of many steps, where a cold first step
            # weighs most); a slow step's block is one or two steps, and untimed ones would triple its cost.
            longest = max(
                (series[n].warm_median_s for n in names if series[n].warm_median_s == series[n].warm_median_s),
                default=math.inf,
            )
            for n in names:
                series[n].untimed_per_block = config.block_warmup if longest < config.short_step_s else 0
            lap("warm-up")
            _thaw()
            _timed_rounds(series, fns, sync, config, order_seed, within, gc_clock)
            lap("timed rounds")
            problems = {n: series[n].health(config) for n in names}
            if not any(problems.values()):
                break
            if attempt == 1 and any(series[n].busy or series[n].busy_warmup for n in names) and _busy_now(config):
                # Still busy: a second attempt would measure the neighbours again, for as long again.
                for n, problem in problems.items():
                    if problem:
                        series[n].stable = False
                        series[n].problem = problem + "; not measured again: the machine was still busy"
                break
            for n, problem in problems.items():
                if problem and attempt == 2:
                    series[n].stable, series[n].problem = False, problem
                elif problem:
                    s = series[n]
                    # A steady series that others disturbed keeps its warm-up (a slow eager step warmed up for
                    # 30 s again); one that never settled or shifted warms up again: whatever was still changing
                    # may have finished.
                    s.settled = s.settled and s.busy and not s.busy_warmup
                    s.remeasured_because = problem
    return series
