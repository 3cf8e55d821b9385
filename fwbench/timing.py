"""The one timer every measurement goes through: first call apart, warm-up, synchronized repeats."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from fwbench.stats import Summary, summarize


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
    while len(samples) < config.repeats:
        if len(samples) >= config.min_repeats and time.perf_counter() > deadline:
            break
        elapsed, _ = _call(fn, sync)
        samples.append(elapsed)
    return Timing(first_call_s=first, samples_s=samples, warmup=config.warmup, first_output=first_out)
