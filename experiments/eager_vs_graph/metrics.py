"""Metrics only the eager-vs-graph experiment writes (the shared ones are fwbench.measure.metrics.COMMON)."""

from __future__ import annotations

from fwbench.measure.metrics import Metric

METRICS: dict[str, Metric] = {
    "first_call_cold_s": Metric("s", "first_call_s of a process whose compiler caches started empty"),
    "first_call_warm_s": Metric(
        "s", "first_call_s of a process whose compiler caches were filled by an earlier process of the same cell"
    ),
    "shape_change_s": Metric(
        "s",
        "first call at a new batch size after the function ran at another one (every compiled variant specialises its graph to each batch size, so this is a recompile)",
    ),
    "shape_change_automatic_s": Metric(
        "s",
        "first call at a new batch size of a function compiled with the framework's automatic dynamic shapes (torch.compile's default: it recompiles once for symbolic shapes)",
    ),
    "break_even_steps": Metric(
        "steps", "steps after which compiled mode's total time (first call + steps) stays below eager's; inf if never"
    ),
    "peak_rss_bytes": Metric(
        "bytes",
        "peak resident memory of the measuring process (shared by the variants it interleaves) up to the end of this phase and batch",
    ),
    "peak_device_memory_bytes": Metric(
        "bytes",
        "peak accelerator memory in use during this phase (torch, TF: reset per phase; JAX: since process start); GPU only",
    ),
    "loss_after_steps": Metric(
        "nats", "training loss after loss_steps SGD steps on one fixed batch, for the cross-framework check"
    ),
    "gflops": Metric("GFLOP/s", "dense-layer FLOPs per step divided by the median step time"),
    "first_step_loss": Metric("nats", "loss returned by the first training step, from the shared initial weights"),
    "first_step_loss_rel_err": Metric(
        "ratio", "relative difference of first_step_loss from the float64 NumPy reference"
    ),
}
