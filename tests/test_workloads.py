"""The neutral spec is deterministic and its NumPy reference is self-consistent."""

import numpy as np

from fwbench.workloads import get_workload
from fwbench.workloads.spec import MLPSpec, reference_logits, reference_loss


def test_weights_and_data_are_reproducible():
    spec = get_workload("mlp")
    a, b = spec.init_weights(), spec.init_weights()
    assert all(np.array_equal(x, y) for pa, pb in zip(a, b) for x, y in zip(pa, pb))
    assert [w.shape for w, _ in a] == [(784, 512), (512, 512), (512, 10)]
    assert all(w.dtype == np.float32 for w, _ in a)
    x1, y1 = spec.batch(8)
    x2, y2 = spec.batch(8)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(spec.batch(8, index=1)[0], x1)
    assert y1.min() >= 0 and y1.max() < 10


def test_reference_loss_matches_a_direct_softmax():
    spec = MLPSpec(sizes=(5, 4, 3))
    layers = spec.init_weights()
    x, y = spec.batch(6)
    logits = reference_logits(layers, x)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert np.isclose(reference_loss(layers, x, y), -np.log(p[np.arange(6), y]).mean())


def test_flops():
    spec = MLPSpec(sizes=(4, 3, 2))
    assert spec.flops_per_sample("infer") == 2 * (4 * 3 + 3 * 2)
    assert spec.flops_per_sample("train") == 3 * spec.flops_per_sample("infer")
