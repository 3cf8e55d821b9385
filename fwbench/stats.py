"""Summary statistics for timing samples: median, spread, bootstrap confidence intervals, break-even."""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

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


def _cache_dir() -> Path:
    env = os.environ.get("FWBENCH_STATS_CACHE")
    return Path(env) if env else Path(__file__).resolve().parent.parent / ".fwbench" / "cache" / "bootstrap"


_MEMO: dict[str, np.ndarray] = {}


def bootstrap_medians(samples, n_boot: int = N_BOOT, seed: int = BOOT_SEED, stream: int = 0) -> np.ndarray:
    """Medians of `n_boot` resamples of `samples`, seeded by their content.

    A pure function of the samples, so it is kept in memory and on disk
    (`.fwbench/cache/bootstrap/`): every chapter, verdict and rebuild asks for the
    same few hundred sample sets, and resampling them is most of a build's time.
    """
    arr = _as_array(samples)
    digest = hashlib.sha256(arr.tobytes() + f"|median-v1|{n_boot}|{seed}|{stream}".encode()).hexdigest()
    boots = _MEMO.get(digest)
    if boots is not None:
        return boots
    path = _cache_dir() / digest[:2] / f"{digest}.npy"
    try:
        boots = np.load(path, allow_pickle=False)
        if boots.shape != (n_boot,):
            raise ValueError("stale cache entry")
    except (OSError, ValueError):
        # The content joins the seed: different sample sets get independent resampling streams.
        rng = np.random.default_rng([seed, int(digest[:15], 16)])
        boots = np.median(arr[rng.integers(0, arr.size, size=(n_boot, arr.size))], axis=1)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, boots, allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only checkout still computes, just without the cache
    _MEMO[digest] = boots
    return boots


def bootstrap_ci(samples, stat=np.median, level: float = 0.95, n_boot: int = N_BOOT,
                 seed: int = BOOT_SEED) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of `stat` over `samples`."""
    arr = _as_array(samples)
    if stat is np.median:
        boots = bootstrap_medians(arr, n_boot, seed)
    else:
        rng = np.random.default_rng(seed)
        boots = stat(arr[rng.integers(0, arr.size, size=(n_boot, arr.size))], axis=1)
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
    ma = bootstrap_medians(a, n_boot, seed)
    # Identical sample sets still get independent resamples, as two measurements would.
    mb = bootstrap_medians(b, n_boot, seed, stream=1 if np.array_equal(a, b) else 0)
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
