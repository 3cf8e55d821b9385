"""Metrics only the export experiment writes (the shared ones are fwbench.measure.metrics.COMMON)."""

from __future__ import annotations

from fwbench.measure.metrics import Metric

METRICS: dict[str, Metric] = {
    # Export experiment (variant = the export path, mode = the runtime that runs the artifact; batch_size =
    # the exported example's batch for everything but the latency rows).
    "export_ok": Metric("bool", "1 if the export path produced an artifact for this workload"),
    "export_s": Metric("s", "wall time of the export, every conversion step included"),
    "export_bytes": Metric("bytes", "size on disk of the exported artifact (all files of a directory format)"),
    "export_steps": Metric("count", "conversion tools or calls between the source model and the artifact"),
    "load_ok": Metric("bool", "1 if the target runtime loaded the artifact in a process of its own"),
    "reference_max_abs_err": Metric("abs", "largest |exported - float64 NumPy reference| over the same logits"),
    "dynamic_batch_ok": Metric("bool", "1 if every other batch size also ran and passed the parity check"),
}
