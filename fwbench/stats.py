"""Summary statistics for timing samples: median, spread, bootstrap confidence intervals, break-even."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Bootstrap resamples; 2000 keeps the CI endpoints stable to well under 1%.
N_BOOT = 2000
#: Fixed seed so that the same samples always give the same interval.
BOOT_SEED = 12345


@dataclass(frozen=True)
class Summary:
    """What the book reports for one set of timing samples (seconds)."""

    n: int
    median: float
    q25: float
    q75: float
    iqr: float
    ci_low: float
    ci_high: float
    mean: float
    std: float
    cv: float
    min: float
    max: float


def _as_array(samples) -> np.ndarray:
    arr = np.asarray(samples, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("need a non-empty 1-D sequence of samples")
    if not np.all(np.isfinite(arr)):
        raise ValueError("samples must be finite")
    return arr


def bootstrap_ci(samples, stat=np.median, level: float = 0.95, n_boot: int = N_BOOT,
                 seed: int = BOOT_SEED) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of `stat` over `samples`."""
    arr = _as_array(samples)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n_boot, arr.size))
    boots = stat(arr[idx], axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(boots, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def summarize(samples) -> Summary:
    """Median, IQR, 95% bootstrap CI of the median, coefficient of variation, extremes."""
    arr = _as_array(samples)
    q25, med, q75 = np.quantile(arr, [0.25, 0.5, 0.75])
    lo, hi = bootstrap_ci(arr)
    mean = float(arr.mean())
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return Summary(n=int(arr.size), median=float(med), q25=float(q25), q75=float(q75),
                   iqr=float(q75 - q25), ci_low=lo, ci_high=hi, mean=mean, std=std,
                   cv=std / mean if mean > 0 else math.nan, min=float(arr.min()), max=float(arr.max()))


def ratio_ci(baseline, candidate, level: float = 0.95, n_boot: int = N_BOOT,
             seed: int = BOOT_SEED) -> tuple[float, float, float]:
    """Speedup median(baseline)/median(candidate) with a bootstrap CI.

    Both sample sets are resampled independently, so the interval carries the
    noise of both measurements. Returns (ratio, ci_low, ci_high).
    """
    a, b = _as_array(baseline), _as_array(candidate)
    rng = np.random.default_rng(seed)
    ma = np.median(a[rng.integers(0, a.size, size=(n_boot, a.size))], axis=1)
    mb = np.median(b[rng.integers(0, b.size, size=(n_boot, b.size))], axis=1)
    ratios = ma / mb
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(ratios, [alpha, 1.0 - alpha])
    return float(np.median(a) / np.median(b)), float(lo), float(hi)


def break_even_steps(first_eager: float, step_eager: float, first_graph: float,
                     step_graph: float) -> float:
    """Steps after which compiling has paid for itself.

    Eager costs first_eager + (n-1)*step_eager for n steps, graph mode
    first_graph + (n-1)*step_graph. Returns the smallest n at which graph mode
    is no slower from then on (1 if it is never slower), or inf if it never
    stays ahead (its steps are slower, or tie after a costlier first call).
    """
    extra = first_graph - first_eager
    gain = step_eager - step_graph
    if gain > 0:
        return 1.0 if extra <= 0 else float(math.ceil(extra / gain) + 1)
    # Steps no faster: a cheaper first call can put graph mode ahead only if steps tie.
    return 1.0 if (gain == 0 and extra <= 0) else math.inf
