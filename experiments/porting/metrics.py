"""Metrics only the porting experiment writes (the shared ones are fwbench.measure.metrics.COMMON)."""

from __future__ import annotations

from fwbench.measure.metrics import Metric

METRICS: dict[str, Metric] = {
    # Porting experiment (framework = the source, workload = the layer kind, mode = the target framework,
    # variant = the route: weights converted by hand, or through ONNX; batch_size = the parity input's batch).
    "naive_ok": Metric(
        "bool",
        "1 if copying the arrays as-is (lined up by name, where every shape fits) gave the "
        "source's outputs within the tolerance",
    ),
    "naive_silent_wrong": Metric(
        "bool", "1 if that naive copy fitted every array, ran without an error, and gave outputs beyond the tolerance"
    ),
    "naive_max_abs_err": Metric(
        "abs", "largest |naive copy - source| over the outputs of the parity input (where the naive copy ran)"
    ),
    "port_ok": Metric(
        "bool",
        "1 if the layer in the target framework gave the source layer's outputs within the "
        "tolerance (weights route: after the conversion; ONNX route: after the converter)",
    ),
    "transformations": Metric(
        "count", "transformations the correct conversion needed (transpose, layout, epsilon, gate order, ...)"
    ),
    "conversion_lines": Metric("count", "logical lines of the conversion function, counted from its source"),
    "straightforward": Metric(
        "bool", "1 if the conversion needed no more than transposes, reshapes and slices (and ported)"
    ),
    "onnx_export_ok": Metric(
        "bool",
        "ONNX route: 1 if the source layer was written as ONNX and ONNX Runtime "
        "reproduced its outputs within the tolerance",
    ),
}
