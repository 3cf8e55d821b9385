"""The one Keras 3 definition computes each workload's reference logits from the shared weights (this process's backend)."""

import numpy as np
import pytest

from fwbench.runtimes import _keras_model as keras_model
from fwbench.workloads import get_workload


@pytest.mark.parametrize("workload", ["mlp", "cnn", "rnn", "transformer"])
def test_keras_model_matches_the_float64_reference(workload):
    spec = get_workload(workload)
    model = keras_model.build(spec)
    x, _ = spec.batch(3)
    got = np.asarray(model.predict_on_batch(x))
    want = spec.reference_output(spec.init_weights(), x.astype(np.float64))
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) < 1e-4
