"""The export experiment on real frameworks: a path that works, one that fails, a corrupt artifact, bad parameters."""

import numpy as np
import pytest

from fwbench.experiments.export import measure as export
from fwbench.frameworks import get_adapter

TINY = dict(workloads=("mlp",), warmup=1, repeats=5, min_repeats=3, max_time_s=0.05, latency_batches=(1,))


def records_of(recs, metric):
    return {r["batch_size"]: r["value"] for r in recs if r["metric"] == metric}


def test_torch_export_round_trip_is_recorded_with_parity_and_latency(tmp_path):
    params = export.Params(**TINY)
    attempt, recs, samples = export.export_one(get_adapter("torch"), "torch.export", "torch_export", "mlp", params,
                                               threads=1, artifacts=tmp_path / "art", scratch=tmp_path / "scr")
    assert attempt["outcome"] == "matches" and attempt["error"] is None
    assert attempt["steps"] == ["torch.export.export", "torch.export.save"]
    assert (tmp_path / "art" / "mlp" / "model.pt2").is_file()
    assert records_of(recs, "export_ok") == {8: 1.0} and records_of(recs, "parity_ok") == {8: 1.0}
    assert records_of(recs, "export_bytes")[8] > 0 and records_of(recs, "load_s")[8] > 0
    assert 0 <= records_of(recs, "max_abs_err")[8] <= params.atol + params.rtol * 100
    assert records_of(recs, "dynamic_batch_ok") == {8: 1.0}  # batch 1 and 64 ran too
    assert set(attempt["batches"]) == {"1", "8", "64"}
    lat = records_of(recs, "step_time_median_s")
    assert set(lat) == {1} and lat[1] > 0
    assert samples and all(v > 0 for v in samples[0]["values"])


def test_a_path_that_cannot_export_is_a_failing_attempt_with_its_error(tmp_path):
    attempt, recs, _ = export.export_one(get_adapter("torch"), "torchscript-script", "torchscript", "mlp",
                                         export.Params(**TINY), threads=1, artifacts=tmp_path / "a",
                                         scratch=tmp_path / "s")
    assert attempt["outcome"] == "fails" and attempt["stage"] == "export"
    assert attempt["error"]["type"] and attempt["error"]["message"] and "Traceback" in attempt["error"]["traceback"]
    assert recs == [{"workload": "mlp", "phase": "infer", "batch_size": 8, "metric": "export_ok", "value": 0.0,
                     "unit": "bool"}]


def test_a_corrupt_artifact_is_a_load_failure_not_a_crash(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"this is not an onnx file")
    result, outputs = export.run_artifact("onnxruntime", bad, {1: np.zeros((1, 784), np.float32)},
                                       export.Params(**TINY), threads=1, workdir=tmp_path / "w", train=False)
    assert result["stage"] == "load" and result["error"]["type"] and outputs == {}


def test_unknown_runtime_in_the_child_is_a_load_error(tmp_path):
    result, _ = export.run_artifact("no-such-runtime", tmp_path / "x", {1: np.zeros((1, 2), np.float32)},
                                 export.Params(**TINY), threads=1, workdir=tmp_path / "w", train=False)
    assert result["error"]["type"] == "KeyError" and "no-such-runtime" in result["error"]["message"]


def test_unknown_path_raises_naming_the_known_ones():
    with pytest.raises(ValueError, match="no export path 'onnx'.*onnx-dynamo"):
        export.export_all("torch", "onnx", export.Params(**TINY), threads=1)


@pytest.mark.parametrize("bad, match", [
    ({"workloads": ("nope",)}, "unknown workloads"),
    ({"latency_batches": (0,)}, "positive integers"),
    ({"export_batch": 0}, "positive integer"),
    ({"atol": -1.0}, "non-negative"),
])
def test_bad_params_are_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        export.Params(**bad)
