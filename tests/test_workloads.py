"""The neutral specs are deterministic, follow the contract, and their NumPy references are self-consistent."""

import dataclasses
import math

import numpy as np
import pytest

from fwbench.workloads import MLP_SWEEP_WIDTHS, WORKLOADS, get_workload
from fwbench.workloads.cnn import CNNSpec, conv2d
from fwbench.workloads.mlp import MLPSpec
from fwbench.workloads.rnn import RNNSpec
from fwbench.workloads.transformer import TransformerSpec

NAMES = sorted(WORKLOADS)
# Small versions of each family, for reference checks that must not take long.
TINY = {
    "mlp": MLPSpec(sizes=(5, 4, 3), n_classes=3),
    "cnn": CNNSpec(image_size=6, channels=(2, 3), n_classes=4),
    "transformer": TransformerSpec(seq_len=3, d_model=4, n_heads=2, d_mlp=8, n_classes=3),
    "rnn": RNNSpec(seq_len=3, n_inputs=2, hidden=4, n_classes=3),
}


def test_registry():
    assert {"mlp", "cnn", "transformer", "rnn"} <= set(WORKLOADS)
    assert all(spec.name == name for name, spec in WORKLOADS.items())
    with pytest.raises(KeyError, match="unknown workload 'vgg'.*known: cnn, mlp"):
        get_workload("vgg")


@pytest.mark.parametrize("name", NAMES)
def test_spec_is_a_documented_frozen_dataclass(name):
    spec = get_workload(name)
    fields = {f.name: f for f in dataclasses.fields(spec)}
    assert {"name", "family", "lr", "dtype", "seed", "loss_rtol_after_steps"} <= set(fields)
    assert all(f.metadata.get("help") for f in fields.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.lr = 1.0
    assert spec.family in ("mlp", "cnn", "transformer", "rnn") and spec.size_label
    assert 0 < spec.loss_rtol_after_steps <= 1e-2


@pytest.mark.parametrize("name", NAMES)
def test_weights_and_data_are_reproducible(name):
    spec = get_workload(name)
    a, b = spec.init_weights(), spec.init_weights()
    assert list(a) == list(spec.param_shapes())
    assert all(a[k].shape == spec.param_shapes()[k] and a[k].dtype == np.float32 for k in a)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    x1, y1 = spec.batch(4)
    x2, y2 = spec.batch(4)
    assert x1.shape == (4, *spec.input_shape) and x1.dtype == np.float32 and y1.dtype == np.int64
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(spec.batch(4, index=1)[0], x1)
    assert y1.min() >= 0 and y1.max() < spec.n_classes


@pytest.mark.parametrize("name", sorted(TINY))
def test_float64_copy_starts_from_the_same_numbers(name):
    spec = TINY[name]
    wide = dataclasses.replace(spec, dtype="float64")
    w32, w64 = spec.init_weights(), wide.init_weights()
    assert all(w64[k].dtype == np.float64 and np.array_equal(w64[k], w32[k]) for k in w32)
    assert np.array_equal(wide.batch(3)[0], spec.batch(3)[0])


def test_mlp_numbers_are_unchanged():
    """The MLP's seed, He-uniform init and data are those of the first published runs."""
    spec = get_workload("mlp")
    w = spec.init_weights()
    x, y = spec.batch(4)
    assert spec.sizes == (784, 512, 512, 10) and spec.lr == 0.01 and spec.seed == 0
    assert math.isclose(float(w["dense0/w"].astype(np.float64).sum()), -6.414337268256148, rel_tol=1e-12)
    assert w["dense2/w"][0, :3].tolist() == [0.00043953911517746747, -0.08810822665691376, 0.04086456447839737]
    assert x[0, :3].tolist() == [0.10296767950057983, -0.9805271625518799, -0.8174782991409302]
    assert y.tolist() == [3, 2, 2, 7]
    assert not w["dense1/b"].any()


@pytest.mark.parametrize("name", sorted(TINY))
def test_reference_loss_matches_a_direct_softmax(name):
    spec = TINY[name]
    weights = spec.init_weights()
    x, y = spec.batch(6)
    for training in (True, False):
        logits = spec.reference_output(weights, x, training=training)
        assert logits.shape == (6, spec.n_classes) and logits.dtype == np.float64
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        assert np.isclose(spec.reference_loss(weights, x, y, training=training), -np.log(p[np.arange(6), y]).mean())
    # The default loss is the training-mode one (what a train step reports); only batch norm tells them apart.
    same = np.allclose(spec.reference_output(weights, x, training=True), spec.reference_output(weights, x))
    assert same == (spec.family != "cnn")
    assert spec.reference_loss(weights, x, y) == spec.reference_loss(weights, x, y, training=True)


def test_conv_reference_matches_a_direct_loop():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 6, 6, 3)), rng.standard_normal((3, 3, 3, 4))
    for stride, pad in [(1, 1), (2, 1), (2, 0)]:
        xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        size = (6 + 2 * pad - 3) // stride + 1
        want = np.zeros((2, size, size, 4))
        for i in range(size):
            for j in range(size):
                patch = xp[:, i * stride:i * stride + 3, j * stride:j * stride + 3, :]
                want[:, i, j] = np.einsum("nhwc,hwco->no", patch, w)
        assert np.allclose(conv2d(x, w, stride, pad), want)


def test_cnn_reference_normalizes_with_batch_statistics():
    spec = TINY["cnn"]
    weights = spec.init_weights()
    x, _ = spec.batch(5)
    # Batch norm in training mode removes a scale of the input (the stem conv is linear and has no bias).
    shifted = x * 3.0
    assert np.allclose(spec.reference_output(weights, x, training=True),
                       spec.reference_output(weights, shifted, training=True), atol=1e-6)
    assert not np.allclose(spec.reference_output(weights, x), spec.reference_output(weights, shifted))


def test_transformer_reference_matches_per_head_loops():
    from scipy.special import erf
    spec = TINY["transformer"]
    w = {k: v.astype(np.float64) for k, v in spec.init_weights().items()}
    rng = np.random.default_rng(1)
    w = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in w.items()}  # non-trivial biases and norms
    x, _ = spec.batch(2)

    def ln(h, p):
        return (h - h.mean()) / np.sqrt(h.var() + 1e-5) * w[f"{p}/gamma"] + w[f"{p}/beta"]

    out = []
    for xs in x.astype(np.float64):  # one sequence at a time, one head at a time
        h = np.stack([ln(row, "ln1") for row in xs])
        q, k, v = (h @ w[f"attn/{p}/w"] + w[f"attn/{p}/b"] for p in ("q", "k", "v"))
        heads = []
        for i in range(spec.n_heads):
            sl = slice(i * spec.d_head, (i + 1) * spec.d_head)
            s = q[:, sl] @ k[:, sl].T / np.sqrt(spec.d_head)
            heads.append((np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)) @ v[:, sl])
        xs = xs + np.concatenate(heads, axis=1) @ w["attn/out/w"] + w["attn/out/b"]
        h = np.stack([ln(row, "ln2") for row in xs]) @ w["mlp/fc1/w"] + w["mlp/fc1/b"]
        xs = xs + (h * 0.5 * (1 + erf(h / np.sqrt(2)))) @ w["mlp/fc2/w"] + w["mlp/fc2/b"]
        out.append(xs.mean(axis=0) @ w["head/w"] + w["head/b"])
    assert np.allclose(spec.reference_output(w, x), np.stack(out))


def test_rnn_reference_unrolls_the_recurrence():
    spec = TINY["rnn"]
    w = {k: v.astype(np.float64) + 0.1 for k, v in spec.init_weights().items()}
    x, _ = spec.batch(2)
    h = np.zeros((2, spec.hidden))
    for t in range(spec.seq_len):
        h = np.tanh(x[:, t] @ w["rnn/w_ih"] + h @ w["rnn/w_hh"] + w["rnn/b"])
    assert np.allclose(spec.reference_output(w, x), h @ w["head/w"] + w["head/b"])
    # The state carries information: the first time step still changes the logits.
    x2 = x.copy()
    x2[:, 0] += 1.0
    assert not np.allclose(spec.reference_output(w, x2), spec.reference_output(w, x))


@pytest.mark.parametrize("name", NAMES)
def test_n_params_and_flops(name):
    spec = get_workload(name)
    assert spec.n_params == sum(a.size for a in spec.init_weights().values())
    assert spec.flops_per_sample("train") == 3 * spec.flops_per_sample("infer") > 0
    with pytest.raises(ValueError, match="phase"):
        spec.flops_per_sample("predict")
    # Matmul/conv work is at least two FLOPs per weight use; every weight matrix is used once per sample
    # except where it is shared across positions (conv, sequence), which only adds work.
    assert spec.flops_per_sample("infer") >= 2 * sum(
        a.size for k, a in spec.init_weights().items() if a.ndim >= 2)


def test_flops_by_hand():
    mlp = MLPSpec(sizes=(4, 3, 2), n_classes=2)
    assert mlp.flops_per_sample("infer") == 2 * (4 * 3 + 3 * 2)
    convs = [32 * 32 * 27 * 16, 2 * 32 * 32 * 144 * 16,
             16 * 16 * 144 * 32 + 16 * 16 * 288 * 32 + 16 * 16 * 16 * 32,
             8 * 8 * 288 * 64 + 8 * 8 * 576 * 64 + 8 * 8 * 32 * 64]
    assert get_workload("cnn").flops_per_sample("infer") == 2 * (sum(convs) + 64 * 10)
    t, d, f = 128, 256, 1024
    assert get_workload("transformer").flops_per_sample("infer") == 2 * (4 * t * d * d + 2 * t * t * d + 2 * t * d * f + d * 10)
    assert get_workload("rnn").flops_per_sample("infer") == 2 * (64 * (32 * 128 + 128 * 128) + 128 * 10)


def test_cnn_architecture():
    spec = get_workload("cnn")
    assert [(b.c_in, b.c_out, b.stride, b.projection) for b in spec.blocks()] == [
        (16, 16, 1, False), (16, 32, 2, True), (32, 64, 2, True)]
    assert spec.param_shapes()["stem/conv/w"] == (3, 3, 3, 16)  # HWIO
    assert spec.reference_output(spec.init_weights(), spec.batch(2)[0]).shape == (2, 10)


def test_mlp_size_sweep():
    sweep = [get_workload(f"mlp_h{w}") for w in MLP_SWEEP_WIDTHS]
    assert MLP_SWEEP_WIDTHS == (128, 256, 512, 1024, 2048, 4096)
    assert all(s.family == "mlp" and s.sizes == (784, s.width, s.width, 10) for s in sweep)
    assert [s.width for s in sweep] == list(MLP_SWEEP_WIDTHS)
    assert [s.size_label for s in sweep] == [f"h{w}" for w in MLP_SWEEP_WIDTHS]
    params = [s.n_params for s in sweep]
    assert params == sorted(params) and params[0] == 784 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10
    # Same seed and init as the default MLP: the h512 sweep point is the default workload.
    h512, mlp = get_workload("mlp_h512"), get_workload("mlp")
    assert all(np.array_equal(h512.init_weights()[k], v) for k, v in mlp.init_weights().items())
