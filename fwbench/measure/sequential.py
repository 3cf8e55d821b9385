"""Group-sequential looks at a growing set of processes: the interval level at each look, so stopping early keeps the error rate.

A cell that starts with the fewest processes its statistics allow and gains one process per round is looked at
after every round. Deciding at each look with an ordinary 95% interval would call a difference far more often
than 5% of the time when there is none (every look is another chance). Repeated confidence intervals
(Jennison & Turnbull, *Group Sequential Methods*, ch. 9) keep the chance that *any* look's interval misses the
true ratio at 5%: look k uses the critical value c / sqrt(t_k), where t_k is the share of the planned maximum
processes run so far and c is chosen so the boundaries of all looks together hold the level (an
O'Brien-Fleming-type boundary: wide at first, so only a large effect stops at the first look, and close to the
fixed design's at the last, so the maximum costs little). Because the repeated intervals cover the ratio
simultaneously, stopping when one is decided (beyond the equivalence margin, or wholly inside it) keeps both the
false-difference and the false-equivalence rate of the fixed design.

The critical value is found by simulating the joint law of the looks' test statistics (a Brownian motion at the
looks' information fractions), seeded, so a design gives the same levels on every machine. The t intervals of
fwbench.measure.stats then use each look's two-sided level.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from fwbench.measure import stats

#: Draws of the looks' joint statistic used to solve for the boundary constant (its error is about 0.001 in c).
SIMULATIONS = 400_000


@dataclass(frozen=True)
class Design:
    """A cell's planned looks: after `start` processes, then after each added process, up to `cap`."""

    start: int = field(metadata={"help": "processes before the first look (the fewest whose interval means anything)"})
    cap: int = field(metadata={"help": "processes at the last look: the most a cell may be given"})
    level: float = field(default=stats.LEVEL, metadata={"help": "simultaneous coverage of all looks' intervals"})

    def __post_init__(self):
        if not (2 <= self.start <= self.cap):
            raise ValueError(f"a sequential design needs 2 <= start <= cap, got start {self.start}, cap {self.cap}")
        if not 0 < self.level < 1:
            raise ValueError(f"level must be between 0 and 1, got {self.level}")

    @property
    def looks(self) -> tuple[int, ...]:
        return tuple(range(self.start, self.cap + 1))

    def look_level(self, processes: int) -> float:
        """The two-sided level of the interval at the look made with `processes` processes (the last look's
        level at or beyond the cap)."""
        levels = look_levels(self.looks, self.level)
        k = min(max(processes, self.start), self.cap) - self.start
        return levels[k]


def _crossing_rate(c: float, fractions: np.ndarray, paths: np.ndarray) -> float:
    return float((np.abs(paths) >= c / np.sqrt(fractions)).any(axis=1).mean())


@lru_cache(maxsize=64)
def boundary_constant(
    looks: tuple[int, ...], level: float = stats.LEVEL, simulations: int = SIMULATIONS, seed: int = 0
) -> float:
    """c such that P(|Z_k| >= c / sqrt(t_k) at any look k) = 1 - level when nothing differs, with t_k = n_k / n_K
    and Z_k the standardised statistic after n_k processes (independent increments)."""
    n = np.asarray(looks, dtype=float)
    fractions = n / n[-1]
    rng = np.random.default_rng(seed)
    steps = np.diff(np.concatenate([[0.0], fractions]))
    # The score process S(t) is a Brownian motion; Z_k = S(t_k) / sqrt(t_k).
    paths = np.cumsum(rng.standard_normal((simulations, len(looks))) * np.sqrt(steps), axis=1) / np.sqrt(fractions)
    alpha = 1 - level
    lo, hi = 1.0, 6.0
    for _ in range(50):  # bisection: the crossing rate falls as c grows
        mid = (lo + hi) / 2
        if _crossing_rate(mid, fractions, paths) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


@lru_cache(maxsize=64)
def look_levels(looks: tuple[int, ...], level: float = stats.LEVEL) -> tuple[float, ...]:
    """The two-sided normal level of each look's repeated confidence interval (1 - 2 * (1 - Phi(c / sqrt(t_k))))."""
    from scipy.stats import norm

    c = boundary_constant(looks, level)
    n = np.asarray(looks, dtype=float)
    return tuple(float(1 - 2 * norm.sf(c / math.sqrt(k / n[-1]))) for k in n)


def by_block(cells: dict[str, list[dict]]) -> list[dict[str, list[dict]]]:
    """A sequential rule's cells (cell id -> stored docs) grouped by profile block (device and parameters): only
    cells of one block are compared with each other."""
    blocks: dict[str, dict[str, list[dict]]] = {}
    for cell_id, docs in cells.items():
        blocks.setdefault(json.dumps([docs[0]["device"], docs[0]["params"]], sort_keys=True), {})[cell_id] = docs
    return list(blocks.values())


def compare_at(
    baseline: dict, candidate: dict, design: Design, margin: float = stats.EQUIVALENCE_MARGIN
) -> stats.Comparison:
    """The comparison of fwbench.measure.stats.compare at the look its process count makes: its interval is that
    look's repeated confidence interval, so a decided verdict may stop the cell."""
    n = min(len(baseline), len(candidate))
    return stats.compare(baseline, candidate, level=design.look_level(n), margin=margin)


def decided(c: stats.Comparison) -> bool:
    """Whether a comparison needs no more processes: beyond the margin either way, or wholly inside it."""
    return c.verdict in ("faster", "slower", "equivalent")


def futile(c: stats.Comparison, design: Design, margin: float = stats.EQUIVALENCE_MARGIN) -> bool:
    """Whether more processes would not decide it: even with its estimate where it is now and its standard error
    shrunk to the cap's process count, the last look's interval would still straddle an edge of the margin. Judged
    from the second look on (three processes estimate their own spread too poorly to give up on). Stopping for
    futility never calls a difference, so it keeps the false-difference rate; what it costs is some power for
    effects near the margin's edge, which the cap could only rarely have decided."""
    return _futile(c, design, lambda half: abs(abs(c.log_ratio) - math.log1p(margin)) <= half)


def decided_beside(c: stats.Comparison, bound: float) -> bool:
    """Whether a comparison's interval lies wholly on one side of a ratio `bound`: a rule's own threshold in place of
    the equivalence margin (serving's X4 reads a throughput ratio against 0.9 and a p99 ratio against 1.25)."""
    return c.ci_low >= bound or c.ci_high <= bound


def futile_beside(c: stats.Comparison, design: Design, bound: float) -> bool:
    """`futile` for a one-sided `bound` on the ratio: the cap's interval around today's estimate would still hold it."""
    return _futile(c, design, lambda half: abs(c.log_ratio - math.log(bound)) <= half)


def _futile(c: stats.Comparison, design: Design, straddles) -> bool:
    """At the cap, or from the second look on: `straddles(half)` of the last look's interval, the estimate kept."""
    n = min(c.n_baseline, c.n_candidate)
    if n >= design.cap:
        return True
    if n <= design.start or not (math.isfinite(c.se) and c.se > 0 and math.isfinite(c.log_ratio)):
        return False
    from scipy.stats import norm

    half = float(norm.ppf(0.5 + design.look_level(design.cap) / 2)) * c.se * math.sqrt(n / design.cap)
    return straddles(half)
