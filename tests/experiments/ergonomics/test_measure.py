"""The ergonomics job: its inputs, its parameters, and one real run of the PyTorch program in a fresh process."""

import numpy as np
import pytest

from fwbench.experiments.ergonomics import measure
from fwbench.measure.job import Request
from fwbench.workloads import get_workload


def test_inputs_are_the_workloads_weights_and_seeded_batches(tmp_path):
    params = measure.Params(batch_size=4, steps_per_epoch=2, epochs=1)
    arrays = measure.write_inputs(tmp_path / "in.npz", params)
    spec = get_workload("cnn")
    assert arrays["x_train"].shape == (8, 32, 32, 3) and arrays["x_test"].shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(arrays["x_train"][4:], spec.batch(4, index=1)[0])
    for name, value in spec.init_weights().items():
        np.testing.assert_array_equal(arrays[f"w:{name}"], value)
    with np.load(tmp_path / "in.npz") as data:
        assert int(data["epochs"]) == 1 and float(data["learning_rate"]) == spec.lr


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"batch_size": -1}, {"timeout_s": 0.0}])
def test_params_refuse_nonsense(bad):
    with pytest.raises(ValueError):
        measure.Params(**bad)


def test_every_framework_variant_has_a_program_file():
    assert {v for vs in measure.VARIANTS.values() for v in vs} == set(measure.PROGRAMS)
    assert all(measure.program_file(v).is_file() for v in measure.PROGRAMS)


def test_the_pytorch_program_runs_checks_out_and_is_counted():
    params = measure.Params(batch_size=4, steps_per_epoch=1, epochs=1, timeout_s=300.0)
    result = measure.run(Request("torch", "cpu", "cnn", "pytorch", params, threads=1, progress=lambda _: None))
    checks = {c["name"]: c for c in result["checks"]}
    assert all(c["passed"] for c in checks.values()), checks
    values = {r["metric"]: r["value"] for r in result["records"]}
    assert values["program_ok"] == 1 and values["source_logical_lines"] > 0
    assert values["restored_test_loss"] == pytest.approx(values["final_test_loss"], rel=measure.ROUNDTRIP_RTOL)
    assert result["program"]["concepts"] and len(result["program"]["train_loss"]) == 1
