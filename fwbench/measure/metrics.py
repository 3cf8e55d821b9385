"""Metric names, units and meanings: the ones the shared measuring code writes, and the one record builder.

Each experiment documents the metrics only it writes in its own `metrics.py`; the
registry (fwbench.experiments.metrics) joins them for the tidy export and the book.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    unit: str
    description: str


#: Written by shared code: step-time summaries (fwbench.measure.timing) and artifact loads (fwbench.runtimes).
COMMON: dict[str, Metric] = {
    "step_time_median_s": Metric(
        "s",
        "median wall time of one step in steady state, synchronized (per process; a cell's is the geometric mean over its processes)",
    ),
    "step_time_ci_low_s": Metric(
        "s",
        "lower end of the 95% bootstrap confidence interval of one process's median step time (steps only; cells use intervals over processes)",
    ),
    "step_time_ci_high_s": Metric(
        "s",
        "upper end of the 95% bootstrap confidence interval of one process's median step time (steps only; cells use intervals over processes)",
    ),
    "step_time_q25_s": Metric("s", "25th percentile of step times"),
    "step_time_q75_s": Metric("s", "75th percentile of step times"),
    "step_time_iqr_s": Metric("s", "interquartile range of step times (q75 - q25)"),
    "step_time_min_s": Metric("s", "fastest timed step"),
    "step_time_cv": Metric("ratio", "coefficient of variation of step times (std / mean)"),
    "n_repeats": Metric("count", "number of timed steps behind the statistics"),
    "warmup_steps": Metric(
        "steps", "untimed steps after the first call until step times settled (fwbench.measure.steady)"
    ),
    "stable": Metric("bool", "1 if the timed steps settled and showed no level shift (else excluded from comparisons)"),
    "first_call_s": Metric(
        "s", "wall time of the very first call in a fresh process: tracing, compiling (cold cache) and one step"
    ),
    "throughput_per_s": Metric("samples/s", "batch size divided by the median step time"),
    "runtime_import_s": Metric(
        "s",
        "importing the target runtime's package in a fresh interpreter (export: once per path, then each artifact loads in a fork of it)",
    ),
    "load_s": Metric("s", "loading the artifact after the import, up to a callable model"),
    "max_abs_err": Metric("abs", "largest |exported - source| over the logits of the fixed parity input"),
    "max_rel_err": Metric("ratio", "largest |exported - source| / max(|source|, atol/rtol) over those logits"),
    "parity_ok": Metric("bool", "1 if every logit is within atol + rtol * |source| (float32 tolerances of the run)"),
    # A timed block that is not a series of interleaved steps (a load level, an epoch): fwbench.measure.quiet.
    "other_cpus": Metric(
        "cpus", "CPUs other programs used on average while the block ran (the machine's busy time less the job's own)"
    ),
    "busy_block": Metric(
        "bool", "1 if other programs used more than the bound even on the block's last attempt: left out of verdicts"
    ),
    "block_attempts": Metric("count", "times the block ran: a busy attempt is run again, up to the profile's bound"),
}


def record(metrics: dict[str, Metric], phase: str, batch_size: int, metric: str, value: float, **axes) -> dict:
    """One stored record: a documented metric (in `metrics` or COMMON) with its unit, and the axes it varies on."""
    found = metrics.get(metric) or COMMON.get(metric)
    if found is None:
        raise KeyError(f"undocumented metric {metric!r}: add it to the experiment's metrics.py")
    return {
        **axes,
        "phase": phase,
        "batch_size": int(batch_size),
        "metric": metric,
        "value": float(value),
        "unit": found.unit,
    }
