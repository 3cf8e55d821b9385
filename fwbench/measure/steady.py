"""Steady state of a step-time series: when warm-up is over, and whether the timed part shifted level."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Consecutive warm-up blocks whose medians lie within this relative band count as settled.
SETTLE_TOL = 0.15
#: How many consecutive agreeing block pairs settle a series (2: three blocks in a row agree) ...
SETTLE_RUN = 2
#: ... holding at least this many steps between them.
SETTLE_STEPS = 6
#: A level shift must move the median by at least this factor (either way) ... On this project's shared 2-core
#: VM, steady series of one process drift by up to about 1.4x within seconds, for every alternative alike (which
#: interleaving cancels); 1.5x keeps those and catches breaks like a compile worker stealing the CPUs (100x).
SHIFT_FACTOR = 1.5
#: ... and be this unlikely under "no shift" (Mann-Whitney U at the best split, Bonferroni over the splits tried).
SHIFT_ALPHA = 0.01
#: A gross shift: the series splits into two parts that do not overlap at all, their medians this far apart,
#: with as few as GROSS_MIN_SEGMENT values on the short side. The rank test above cannot see it in a short
#: series (3 fast steps then 13 slow ones: its best p is 0.04 after correction), but a process descheduled for
#: whole timer ticks does exactly that (seen: 0.21 ms steps turning into 24 ms ones, stored as a steady median).
#: Far beyond this VM's drift (1.4x), so it needs less evidence: a missed shift stores a wrong number, while a
#: false alarm costs a re-measure.
GROSS_FACTOR = 4.0
GROSS_ALPHA = 0.05
GROSS_MIN_SEGMENT = 3


@dataclass(frozen=True)
class SteadyConfig:
    """How warm-up ends and what counts as a level shift; the defaults are the named constants above."""

    settle_tol: float = field(
        default=SETTLE_TOL, metadata={"help": "relative band the last warm-up block medians must lie in"}
    )
    settle_run: int = field(
        default=SETTLE_RUN, metadata={"help": "settle_run + 1 consecutive block medians in the band end warm-up"}
    )
    settle_steps: int = field(
        default=SETTLE_STEPS, metadata={"help": "... and those blocks hold at least this many steps"}
    )
    shift_factor: float = field(
        default=SHIFT_FACTOR, metadata={"help": "smallest median ratio across a split that is a shift"}
    )
    shift_alpha: float = field(
        default=SHIFT_ALPHA, metadata={"help": "significance a shift must reach (corrected Mann-Whitney U)"}
    )
    gross_factor: float = field(
        default=GROSS_FACTOR,
        metadata={"help": "smallest median ratio of a gross shift (two parts that do not overlap at all)"},
    )
    gross_alpha: float = field(
        default=GROSS_ALPHA,
        metadata={
            "help": "significance a gross shift must reach (exact chance of that separation, corrected over the splits)"
        },
    )
    gross_min_segment: int = field(
        default=GROSS_MIN_SEGMENT, metadata={"help": "fewest values on either side of a gross shift"}
    )


def settled(
    block_medians: list[float], config: SteadyConfig = SteadyConfig(), block_sizes: list[int] | None = None
) -> bool:
    """Whether the trailing block medians lie within one band: largest / smallest <= 1 + settle_tol.

    The trailing blocks are at least `settle_run` + 1 and cover at least `settle_steps` steps (slow steps
    come one per block, and two neighbouring steps say little). A band rather than neighbours: a series
    creeping a few percent per block passes any pairwise test.
    """
    sizes = block_sizes or [1] * len(block_medians)
    count, steps = 0, 0
    for size in reversed(sizes):
        count, steps = count + 1, steps + size
        if count >= config.settle_run + 1 and steps >= config.settle_steps:
            break
    else:
        return False
    tail = block_medians[-count:]
    return min(tail) > 0 and max(tail) / min(tail) <= 1.0 + config.settle_tol


@dataclass(frozen=True)
class Shift:
    """A detected level shift: where the series splits and how far the median moved."""

    at: int
    before_s: float
    after_s: float
    factor: float
    p_value: float

    def describe(self) -> str:
        # Read in the book as a reason: plain decimals (a reader should not have to decode e-notation).
        p = "p<0.001" if self.p_value < 0.001 else f"p={self.p_value:.3f}"
        return (
            f"level shift after step {self.at}: median {_ms(self.before_s)} -> {_ms(self.after_s)} "
            f"({self.factor:.2f}x, {p})"
        )


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.3g} ms" if ms >= 0.001 else "under 0.001 ms"


def level_shift(values, min_segment: int = 5, config: SteadyConfig = SteadyConfig()) -> Shift | None:
    """The strongest single change point in `values` (in time order), if it is a real shift.

    Every split leaving `min_segment` values on each side is scored by the standardized rank-sum of its
    left part (a Mann-Whitney statistic computed from one ranking); the best split is tested with a
    two-sided Mann-Whitney U test, Bonferroni-corrected for the number of splits tried. It is reported
    only if that p is below `shift_alpha` and the medians on the two sides differ by `shift_factor` or
    more. A series that keeps drifting one way (never settles) shows up here as a shift too. Failing that, a
    gross shift (see `gross_shift`) is reported.
    """
    from scipy.stats import mannwhitneyu, rankdata

    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n < 2 * min_segment:
        return gross_shift(x, config)
    ranks = rankdata(x)
    k = np.arange(min_segment, n - min_segment + 1)
    u = 2 * np.cumsum(ranks)[k - 1] - k * (n + 1)
    z = np.abs(u) / np.sqrt(k * (n - k) * (n + 1) / 3.0)
    at = int(k[np.argmax(z)])
    before, after = x[:at], x[at:]
    factor = float(np.median(after) / np.median(before))
    if abs(math.log(factor)) >= math.log(config.shift_factor):
        p = min(1.0, float(mannwhitneyu(before, after, alternative="two-sided").pvalue) * k.size)
        if p < config.shift_alpha:
            return Shift(
                at=at, before_s=float(np.median(before)), after_s=float(np.median(after)), factor=factor, p_value=p
            )
    return gross_shift(x, config)


def gross_shift(values, config: SteadyConfig = SteadyConfig()) -> Shift | None:
    """The most unlikely split of `values` into a first and a last part that do not overlap at all (every value
    of one below every value of the other) with medians `gross_factor` or more apart, if its chance under "no
    shift" is below `gross_alpha`.

    That chance is exact: with every order of the values equally likely, the first k are all below (or all
    above) the rest with probability 2 / C(n, k); it is Bonferroni-corrected over the splits tried.
    """
    x = np.asarray(values, dtype=np.float64)
    n, m = x.size, config.gross_min_segment
    if n < 2 * m:
        return None
    splits = range(m, n - m + 1)
    first_max, first_min = np.maximum.accumulate(x), np.minimum.accumulate(x)
    rest_min, rest_max = np.minimum.accumulate(x[::-1])[::-1], np.maximum.accumulate(x[::-1])[::-1]
    # The chance 2 / C(n, k) shrinks as k nears n / 2, so the splits are tried from the middle out and the first
    # that qualifies is the most unlikely one.
    for k in sorted(splits, key=lambda k: (abs(2 * k - n), k)):
        if not (first_max[k - 1] < rest_min[k] or first_min[k - 1] > rest_max[k]):
            continue
        before, after = float(np.median(x[:k])), float(np.median(x[k:]))
        if before <= 0 or abs(math.log(after / before)) < math.log(config.gross_factor):
            continue
        # In logs: C(n, k) passes a float's range from about a thousand steps on.
        log_p = math.log(2.0 * len(splits)) - (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1))
        if log_p >= math.log(config.gross_alpha):
            return None  # every split left is likelier still
        return Shift(at=k, before_s=before, after_s=after, factor=after / before, p_value=math.exp(log_p))
    return None
