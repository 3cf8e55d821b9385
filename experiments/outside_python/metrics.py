"""Metrics only the outside_python experiment writes (the shared ones are fwbench.measure.metrics.COMMON)."""

from __future__ import annotations

from fwbench.measure.metrics import Metric

METRICS: dict[str, Metric] = {
    # mode = "<host>:<runtime>" (node:onnxruntime-node, browser:tfjs-wasm, ...); batch_size = the exported example's
    # batch for everything but the latency rows.
    "artifact_ok": Metric(
        "bool", "1 if the model reached the runtime's format (ONNX export, or SavedModel then the TF.js converter)"
    ),
    "install_ok": Metric("bool", "1 if the runtime's npm packages installed from the committed lock (npm ci)"),
    "install_s": Metric("s", "npm ci of the runtime's packages, where this job installed them (absent when reused)"),
    "package_bytes": Metric(
        "bytes", "size on disk of the runtime's node_modules (every platform's binaries the package ships included)"
    ),
    "bundle_bytes": Metric(
        "bytes", "bytes of the runtime's own files (scripts, WebAssembly) the browser page fetched, the model excluded"
    ),
    "model_bytes": Metric(
        "bytes", "size on disk of the model the runtime loads (.onnx, or model.json with its weight shards)"
    ),
    "convert_s": Metric(
        "s",
        "wall time of the export, and of the TF.js converter for TF.js models (a fresh process of its own environment)",
    ),
    "load_ok": Metric("bool", "1 if the target runtime loaded the artifact in a process of its own"),
    "dynamic_batch_ok": Metric("bool", "1 if every other batch size also ran and passed the parity check"),
}
