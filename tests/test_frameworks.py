"""Every adapter builds the same model, computes the same loss, learns, and synchronizes (real frameworks)."""

import time

import numpy as np
import pytest

from fwbench import frameworks
from fwbench.frameworks.base import DeviceUnavailable
from fwbench.timing import TimerConfig, measure
from fwbench.workloads import get_workload
from fwbench.workloads.spec import reference_logits, reference_loss

NAMES = frameworks.names()
CASES = [(f, v) for f in NAMES for v in frameworks.variants(f)]


def test_registry():
    assert NAMES == ["jax", "tensorflow", "torch"]
    with pytest.raises(KeyError, match="unknown framework 'mxnet'"):
        frameworks.variants("mxnet")


@pytest.mark.parametrize("name", NAMES)
def test_static_variants_match_the_adapter(name):
    adapter = frameworks.get_adapter(name)
    assert frameworks.variants(name) == adapter.variants
    assert set(adapter.variants.values()) <= set(frameworks.MODES)
    assert adapter.version()


@pytest.mark.parametrize("name", NAMES)
def test_identical_initial_weights(name):
    adapter = frameworks.get_adapter(name)
    spec = get_workload("mlp")
    got = adapter.weights(adapter.build(spec, "cpu"))
    for (w, b), (w0, b0) in zip(got, spec.init_weights()):
        assert np.array_equal(w, w0) and np.array_equal(b, b0)


@pytest.mark.parametrize("name, variant", CASES)
def test_same_input_same_loss_and_learning(name, variant):
    adapter = frameworks.get_adapter(name)
    spec = get_workload("mlp")
    x, y = spec.batch(32)
    ref = reference_loss(spec.init_weights(), x, y)
    model = adapter.build(spec, "cpu")
    xd, yd = adapter.to_device(x, "cpu"), adapter.to_device(y, "cpu")
    step = adapter.train_step(model, variant)
    losses = []
    for _ in range(15):
        out = step(xd, yd)
        adapter.sync(out)
        losses.append(adapter.loss_of(out))
    assert abs(losses[0] - ref) / ref < 1e-4
    assert losses[-1] < losses[0]  # SGD on one batch must reduce its loss
    infer = adapter.infer_step(adapter.build(spec, "cpu"), variant)
    logits = adapter.to_numpy(infer(xd))
    assert np.max(np.abs(logits - reference_logits(spec.init_weights(), x))) < 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_sync_waits_for_the_work(name):
    """A step that is measured with the adapter's sync takes as long as one forced to finish via NumPy."""
    adapter = frameworks.get_adapter(name)
    spec = get_workload("mlp")
    x, _ = spec.batch(1024)
    model = adapter.build(spec, "cpu")
    xd = adapter.to_device(x, "cpu")
    infer = adapter.infer_step(model, "eager")
    cfg = TimerConfig(warmup=2, repeats=15, min_repeats=15)
    synced = measure(lambda: infer(xd), adapter.sync, cfg).summary().median
    forced = measure(lambda: adapter.to_numpy(infer(xd)), lambda _: None, cfg).summary().median
    assert synced > 0.5 * forced


@pytest.mark.parametrize("name", NAMES)
def test_unknown_device_and_variant(name):
    adapter = frameworks.get_adapter(name)
    with pytest.raises(DeviceUnavailable):
        adapter.device_info("tpu9")
    with pytest.raises(ValueError, match="no variant"):
        adapter.check_variant("warp-speed")
