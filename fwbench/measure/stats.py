"""Summary statistics for timing samples: median, spread, bootstrap confidence intervals, break-even."""

from __future__ import annotations

import hashlib
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fwbench.paths import SCRATCH

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
    return Path(env) if env else SCRATCH / "cache" / "bootstrap"


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


def bootstrap_ci(
    samples, stat=np.median, level: float = 0.95, n_boot: int = N_BOOT, seed: int = BOOT_SEED
) -> tuple[float, float]:
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
    return Summary(
        n=int(arr.size),
        median=float(med),
        q25=float(q25),
        q75=float(q75),
        iqr=float(q75 - q25),
        ci_low=lo,
        ci_high=hi,
        mean=mean,
        std=std,
        cv=std / mean if mean > 0 else math.nan,
        min=float(arr.min()),
        max=float(arr.max()),
    )


def break_even_steps(first_eager: float, step_eager: float, first_graph: float, step_graph: float) -> float:
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


# ---- comparisons from per-process estimates ----------------------------------------------------------
#
# Steps of one process share that process's luck (its CPU placement, its memory layout, the machine's
# speed while it ran), so they are not independent samples of the machine. Every interval below is
# built from one estimate per process (the median of its steady-state steps), so the spread between
# processes, which dominates on shared machines, is in it, and so is the step noise (through the medians).

#: Relative differences smaller than this are "equivalent" (applied symmetrically on the log scale:
#: a ratio inside [1/1.05, 1.05]). One constant for every comparison, verdict and page that states it.
EQUIVALENCE_MARGIN = 0.05
#: Confidence level of every interval the report shows.
LEVEL = 0.95
#: The classes a comparison can fall in, as the book names them.
CLASSES = ("faster", "slower", "equivalent", "inconclusive")


@dataclass(frozen=True)
class Comparison:
    """How much faster the candidate is than the baseline: ratio = baseline time / candidate time."""

    ratio: float
    ci_low: float
    ci_high: float
    n_baseline: int
    n_candidate: int
    paired: bool
    verdict: str
    #: The log ratio, its standard error and degrees of freedom: what p-values for corrected rules need.
    log_ratio: float = math.nan
    se: float = math.inf
    df: float = 1.0

    def p_beyond(self, side: str, margin: float = EQUIVALENCE_MARGIN) -> float:
        """One-sided p-value that the speedup lies beyond the margin on `side` ("faster": above 1 + margin,
        "slower": below 1 / (1 + margin)). A 95% interval classifies a cell as that side exactly when this is
        below 0.025, so a rule that corrects a group of these (Holm) agrees with the intervals for one test."""
        if side not in ("faster", "slower"):
            raise ValueError(f"side must be 'faster' or 'slower', got {side!r}")
        faster, slower = p_beyond_margin(self.log_ratio, self.se, self.df, margin)
        return float(faster if side == "faster" else slower)


def classify(ci_low: float, ci_high: float, margin: float = EQUIVALENCE_MARGIN) -> str:
    """A speedup interval against the equivalence margin.

    *faster* / *slower* only when the whole interval lies beyond the margin, *equivalent* when it lies
    wholly inside it, *inconclusive* otherwise (including an interval that could not be computed).
    """
    up, down = 1.0 + margin, 1.0 / (1.0 + margin)
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)) or ci_low <= 0:
        return "inconclusive"
    if ci_low > up:
        return "faster"
    if ci_high < down:
        return "slower"
    if ci_low >= down and ci_high <= up:
        return "equivalent"
    return "inconclusive"


def _log_medians(processes: dict) -> dict:
    return {p: math.log(float(np.median(_as_array(v)))) for p, v in processes.items()}


def _t(level: float, df: float) -> float:
    from scipy.stats import t as student_t

    return float(student_t.ppf(0.5 + level / 2.0, df))


_LOG_MAX = math.log(sys.float_info.max)


def _exp(x: float) -> float:
    """exp that saturates to infinity: a t interval at a Bonferroni level over two wildly different processes is
    wider than a float's range on the ratio scale, and is then just unbounded (math.exp raises there)."""
    return math.inf if x > _LOG_MAX else math.exp(x)


def compare(baseline: dict, candidate: dict, level: float = LEVEL, margin: float = EQUIVALENCE_MARGIN) -> Comparison:
    """Speedup of `candidate` over `baseline` from their per-process samples ({process id: step times}).

    When both were measured in the same processes (interleaved there), the comparison is paired over the
    processes they share: a t interval on the per-process log ratios, so what a process shares cancels. Otherwise a Welch t
    interval on the difference of mean log per-process medians. Fewer than two processes (pairs) on
    a side give no interval: inconclusive, however large the difference looks.
    """
    la, lb = _log_medians(baseline), _log_medians(candidate)
    common = sorted(set(la) & set(lb), key=str)
    # Measured in the same processes (a process whose series was left out on one side drops from both).
    paired = len(common) >= 2
    if paired:
        la, lb = {p: la[p] for p in common}, {p: lb[p] for p in common}
        d = np.array([la[p] - lb[p] for p in common])
        est, se, df = float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size)), d.size - 1
    else:
        a, b = np.array(list(la.values())), np.array(list(lb.values()))
        est = float(a.mean() - b.mean())
        if a.size < 2 or b.size < 2:
            se, df = math.inf, 1.0
        else:
            va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
            se = math.sqrt(va + vb)
            # Welch-Satterthwaite; identical process medians (a synthetic corner) fall back to the smaller df.
            df = (
                (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
                if va + vb > 0
                else min(a.size, b.size) - 1
            )
    half = _t(level, df) * se if math.isfinite(se) else math.inf
    lo, hi = (_exp(est - half), _exp(est + half)) if math.isfinite(half) else (0.0, math.inf)
    return Comparison(
        ratio=_exp(est),
        ci_low=lo,
        ci_high=hi,
        n_baseline=len(la),
        n_candidate=len(lb),
        paired=paired,
        verdict=classify(lo, hi, margin),
        log_ratio=est,
        se=se,
        df=float(df),
    )


def p_beyond_margin(log_ratio, se, df, margin: float = EQUIVALENCE_MARGIN) -> tuple[np.ndarray, np.ndarray]:
    """One-sided p-values that speedups lie beyond the margin, above 1 + margin ("faster") and below
    1 / (1 + margin) ("slower"), for arrays (or scalars) of log ratios, standard errors and degrees of freedom: Student
    t where there is an interval; where the processes were identical (standard error zero) 0 or 1 by the estimate
    alone; 1 where nothing was measured."""
    from scipy.stats import t as student_t

    est, se, df = (np.asarray(x, dtype=float) for x in (log_ratio, se, df))
    noisy = np.isfinite(est) & np.isfinite(se) & (se > 0) & np.isfinite(df) & (df > 0)
    exact = (se == 0) & np.isfinite(est)
    up = math.log1p(margin)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        dfs, scale = np.where(noisy, df, 1.0), np.where(noisy, se, 1.0)
        faster = np.where(noisy, student_t.sf((est - up) / scale, dfs), np.where(exact, (est <= up) * 1.0, 1.0))
        slower = np.where(noisy, student_t.sf((-up - est) / scale, dfs), np.where(exact, (est >= -up) * 1.0, 1.0))
    return faster, slower


def rerun(
    log_ratio,
    se,
    df,
    rng: np.random.Generator,
    level: float = LEVEL,
    margin: float = EQUIVALENCE_MARGIN,
    rerun_se=None,
    rerun_df=None,
):
    """Comparisons as a rerun of the same measurements might give them: for arrays of measured log ratios, standard
    errors and degrees of freedom (`Comparison`), one draw each of the rerun's estimate from the predictive
    distribution (the truth lies within about one standard error of the estimate, and a rerun's estimate within one
    of its own standard error of the truth: sqrt(se^2 + rerun_se^2), Student-t tailed with the smaller degrees of
    freedom) and of its standard error (rerun_se scaled by a chi-square with rerun_df), and what `compare` would make
    of them: {"log_ratio", "se", "speedup", "speedup_ci_low", "speedup_ci_high", "verdict", "p_faster",
    "p_slower"}, arrays. `rerun_se` and `rerun_df` are what the rerun's own measurement would have (fewer processes
    kept: a wider one); by default the measured ones. Entries without noise or without an interval (standard error
    zero or not finite) are drawn as they are. Each comparison is drawn on its own: comparisons that share
    processes or a machine's day are treated as independent."""
    from scipy.stats import t as student_t

    est, se, df = (np.asarray(x, dtype=float) for x in (log_ratio, se, df))
    rse = se if rerun_se is None else np.asarray(rerun_se, dtype=float)
    rdf = df if rerun_df is None else np.asarray(rerun_df, dtype=float)
    noisy = np.isfinite(est) & np.isfinite(se) & (se > 0) & np.isfinite(df) & (df > 0)
    noisy &= np.isfinite(rse) & (rse > 0) & np.isfinite(rdf) & (rdf > 0)
    dfs, rdfs = np.where(noisy, df, 1.0), np.where(noisy, rdf, 1.0)
    t_draw, chi_draw = rng.standard_t(np.minimum(dfs, rdfs)), rng.chisquare(rdfs)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        est = np.where(noisy, est + np.hypot(se, rse) * t_draw, est)
        se = np.where(noisy, rse * np.sqrt(chi_draw / rdfs), se)
        df = np.where(noisy, rdf, df)
        half = np.where(np.isfinite(se), student_t.ppf(0.5 + level / 2.0, rdfs) * se, np.inf)
        lo = np.where(np.isfinite(half), np.exp(np.minimum(est - half, _LOG_MAX)), 0.0)
        hi = np.where(np.isfinite(half), np.exp(np.minimum(est + half, _LOG_MAX)), np.inf)
    p_faster, p_slower = p_beyond_margin(est, se, df, margin)
    return {
        "log_ratio": est,
        "se": se,
        "speedup": np.exp(np.minimum(est, _LOG_MAX)),
        "speedup_ci_low": lo,
        "speedup_ci_high": hi,
        "verdict": np.array([classify(a, b, margin) for a, b in zip(lo, hi)], dtype=object),
        "p_faster": p_faster,
        "p_slower": p_slower,
    }


def holm(pvalues, alpha: float) -> list[bool]:
    """Holm's step-down correction: which of the p-values are rejected at family-wise level `alpha`.

    An "any of k" rule (one of TensorFlow's modes faster, jax.jit slower than any one rival) asks whether at
    least one of k tests rejects; uncorrected, k tests at alpha each reject at least once far more often
    than alpha when nothing differs."""
    ps = [float(p) if p == p else 1.0 for p in pvalues]
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    rejected = [False] * len(ps)
    for rank, i in enumerate(order):
        if ps[i] > alpha / (len(ps) - rank):
            break
        rejected[i] = True
    return rejected


def binomial_upper(hits: int, n: int, level: float = LEVEL) -> float:
    """One-sided upper confidence bound (Clopper-Pearson) of a rate seen `hits` times in `n` trials: 0 false
    positives in 12 controls is still compatible with a 22% rate."""
    if n <= 0:
        return 1.0
    if hits >= n:
        return 1.0
    from scipy.stats import beta

    return float(beta.ppf(level, hits + 1, n - hits))


def cell_estimate(processes: dict, level: float = LEVEL) -> tuple[float, float, float]:
    """A cell's step time from its processes: geometric mean of the per-process medians, with a t interval
    over processes (infinite with one process). Returns (estimate, ci_low, ci_high) in seconds."""
    logs = np.array(list(_log_medians(processes).values()))
    est = float(logs.mean())
    if logs.size < 2:
        return math.exp(est), 0.0, math.inf
    half = _t(level, logs.size - 1) * float(logs.std(ddof=1)) / math.sqrt(logs.size)
    return math.exp(est), _exp(est - half), _exp(est + half)


@dataclass(frozen=True)
class Variance:
    """The two levels of variation of one cell, on the log scale (Kalibera & Jones, ISMM 2013)."""

    between: float  # variance of the process effect (what more steps per process cannot remove)
    within: float  # variance of one step's log time inside a process
    steps: float  # mean timed steps per process
    processes: int


def variance_components(processes: dict) -> Variance:
    """Split a cell's variation into between-process and within-process parts (method of moments).

    The variance of a process's median of n steps is about (pi/2) * within / n for near-normal
    noise; what the per-process medians vary beyond that is the between-process part.
    """
    logs = [np.log(_as_array(v)) for v in processes.values()]
    within = float(np.mean([x.var(ddof=1) for x in logs if x.size > 1])) if any(x.size > 1 for x in logs) else 0.0
    steps = float(np.mean([x.size for x in logs]))
    medians = np.array([np.median(x) for x in logs])
    spread = float(medians.var(ddof=1)) if medians.size > 1 else math.nan
    between = max(0.0, spread - math.pi / 2 * within / steps) if math.isfinite(spread) else math.nan
    return Variance(between=between, within=within, steps=steps, processes=len(logs))


def plan(
    v: Variance,
    process_cost_s: float,
    step_cost_s: float,
    half_width: float = math.log(1 + EQUIVALENCE_MARGIN),
    level: float = LEVEL,
    max_processes: int = 64,
) -> dict:
    """Processes x steps that reach a log-scale interval half-width at least cost, from measured variances.

    Steps per process: n = sqrt(process cost * (pi/2) within / (step cost * between)) balances the two
    levels (Kalibera & Jones); then the smallest process count whose t interval is narrow enough.
    """
    within_med = math.pi / 2 * v.within
    if not (math.isfinite(v.between) and v.between > 0):
        steps = max(v.steps, 1.0)
    else:
        steps = max(1.0, math.sqrt(process_cost_s * within_med / (step_cost_s * v.between)))
    per_process = v.between + within_med / steps if math.isfinite(v.between) else within_med / steps
    for k in range(2, max_processes + 1):
        if _t(level, k - 1) * math.sqrt(per_process / k) <= half_width:
            break
    else:
        k = max_processes
    return {
        "steps_per_process": int(math.ceil(steps)),
        "processes": k,
        "cost_s": k * (process_cost_s + math.ceil(steps) * step_cost_s),
    }
