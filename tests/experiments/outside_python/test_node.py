"""A real Node.js process runs a tiny ONNX model in ONNX Runtime for Node (installed from the committed lock)."""

import shutil

import numpy as np
import pytest

from fwbench.experiments.outside_python import installs, node
from fwbench.measure.timing import TimerConfig
from synthetic.outside_python import tiny_onnx

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None, reason="node and npm are needed (Node.js 20)"
)


@pytest.fixture(scope="module")
def ort_node():
    try:
        return installs.npm_install("onnxruntime-node", 900).path
    except installs.InstallFailed as exc:
        pytest.skip(f"onnxruntime-node could not be installed here: {exc}")


def test_a_fresh_node_process_runs_the_model_and_times_it(tmp_path, ort_node):
    w, b = tiny_onnx(tmp_path / "model.onnx")
    x = {n: np.random.default_rng(n).standard_normal((n, 6)).astype(np.float32) for n in (1, 5)}
    result, outputs = node.run_node(
        "onnxruntime-node",
        ort_node,
        tmp_path / "model.onnx",
        x,
        [1],
        TimerConfig(warmup=1, repeats=5, min_repeats=2, max_time_s=0.1),
        1,
        tmp_path / "work",
        60,
    )
    assert result["error"] is None and result["runtime_version"].startswith("onnxruntime-node ")
    assert result["import_s"] > 0 and result["load_s"] > 0 and result["threads_used"] == 1
    for n in (1, 5):
        np.testing.assert_allclose(outputs[n], x[n] @ w + b, rtol=1e-5, atol=1e-5)
    assert 2 <= len(result["latency"]["1"]["samples_s"]) <= 5 and all(
        s > 0 for s in result["latency"]["1"]["samples_s"]
    )
    assert result["window"].wall_s > 0 and result["window"].other_cpus >= 0  # the node process is the job's own


def test_a_model_that_does_not_load_is_a_stored_load_failure(tmp_path, ort_node):
    (tmp_path / "model.onnx").write_bytes(b"not an onnx file")
    result, outputs = node.run_node(
        "onnxruntime-node",
        ort_node,
        tmp_path / "model.onnx",
        {1: np.zeros((1, 6), np.float32)},
        [1],
        TimerConfig(1, 2, 1, 0.1),
        1,
        tmp_path / "work",
        60,
    )
    assert result["stage"] == "load" and result["error"]["message"] and outputs == {}
