"""Names, units and meanings of every metric the store holds; the tidy export and the book document these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    unit: str
    description: str


METRICS: dict[str, Metric] = {
    "step_time_median_s": Metric("s", "median wall time of one step after warm-up, synchronized"),
    "step_time_ci_low_s": Metric("s", "lower end of the 95% bootstrap confidence interval of the median step time"),
    "step_time_ci_high_s": Metric("s", "upper end of the 95% bootstrap confidence interval of the median step time"),
    "step_time_q25_s": Metric("s", "25th percentile of step times"),
    "step_time_q75_s": Metric("s", "75th percentile of step times"),
    "step_time_iqr_s": Metric("s", "interquartile range of step times (q75 - q25)"),
    "step_time_min_s": Metric("s", "fastest timed step"),
    "step_time_cv": Metric("ratio", "coefficient of variation of step times (std / mean)"),
    "n_repeats": Metric("count", "number of timed steps behind the statistics"),
    "first_call_s": Metric("s", "wall time of the very first call in a fresh process: tracing, compiling (cold cache) and one step"),
    "first_call_cold_s": Metric("s", "first_call_s of a process whose compiler caches started empty"),
    "first_call_warm_s": Metric("s", "first_call_s of a process whose compiler caches were filled by an earlier process of the same cell"),
    "shape_change_s": Metric("s", "first call at a new batch size after the function ran at another one (recompile or not)"),
    "break_even_steps": Metric("steps", "steps after which compiled mode's total time (first call + steps) stays below eager's; inf if never"),
    "peak_rss_bytes": Metric("bytes", "peak resident memory of the measuring process up to the end of this phase and batch"),
    "loss_after_steps": Metric("nats", "training loss after loss_steps SGD steps on one fixed batch, for the cross-framework check"),
    "throughput_per_s": Metric("samples/s", "batch size divided by the median step time"),
    "gflops": Metric("GFLOP/s", "dense-layer FLOPs per step divided by the median step time"),
    "first_step_loss": Metric("nats", "loss returned by the first training step, from the shared initial weights"),
    "first_step_loss_rel_err": Metric("ratio", "relative difference of first_step_loss from the float64 NumPy reference"),
}


def unit(name: str) -> str:
    try:
        return METRICS[name].unit
    except KeyError:
        raise KeyError(f"undocumented metric {name!r}: add it to fwbench/metrics.py") from None
