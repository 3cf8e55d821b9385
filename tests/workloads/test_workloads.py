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
    # The stacked variants behind resnet18 and gpt2_small.
    "cnn_stages": CNNSpec(image_size=6, channels=(2, 3), blocks_per_stage=2, n_classes=4),
    "transformer_causal": TransformerSpec(
        seq_len=3, d_model=4, n_heads=2, d_mlp=8, n_classes=3, n_layers=2, causal=True
    ),
}


def test_registry():
    assert {"mlp", "cnn", "transformer", "rnn", "resnet18", "gpt2_small"} <= set(WORKLOADS)
    assert all(spec.name == name for name, spec in WORKLOADS.items())
    with pytest.raises(KeyError, match="unknown workload 'vgg'.*known: cnn, gpt2_small, mlp"):
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
                patch = xp[:, i * stride : i * stride + 3, j * stride : j * stride + 3, :]
                want[:, i, j] = np.einsum("nhwc,hwco->no", patch, w)
        assert np.allclose(conv2d(x, w, stride, pad), want)


def test_cnn_reference_normalizes_with_batch_statistics():
    spec = TINY["cnn"]
    weights = spec.init_weights()
    x, _ = spec.batch(5)
    # Batch norm in training mode removes a scale of the input (the stem conv is linear and has no bias).
    shifted = x * 3.0
    assert np.allclose(
        spec.reference_output(weights, x, training=True),
        spec.reference_output(weights, shifted, training=True),
        atol=1e-6,
    )
    assert not np.allclose(spec.reference_output(weights, x), spec.reference_output(weights, shifted))


@pytest.mark.parametrize("n_layers,causal", [(1, False), (1, True), (2, False), (2, True)])
def test_transformer_reference_matches_per_head_loops(n_layers, causal):
    """An independent loop version: one sequence, one head and (when causal) one query at a time."""
    from scipy.special import erf

    spec = dataclasses.replace(TINY["transformer"], n_layers=n_layers, causal=causal)
    w = {k: v.astype(np.float64) for k, v in spec.init_weights().items()}
    rng = np.random.default_rng(1)
    w = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in w.items()}  # non-trivial biases and norms
    x, _ = spec.batch(2)

    def ln(h, p):
        return (h - h.mean()) / np.sqrt(h.var() + 1e-5) * w[f"{p}/gamma"] + w[f"{p}/beta"]

    def softmax(s):
        return np.exp(s) / np.exp(s).sum()

    prefixes = [""] if n_layers == 1 else [f"layer{i}/" for i in range(n_layers)]
    out = []
    for xs in x.astype(np.float64):
        for p in prefixes:
            h = np.stack([ln(row, f"{p}ln1") for row in xs])
            q, k, v = (h @ w[f"{p}attn/{c}/w"] + w[f"{p}attn/{c}/b"] for c in ("q", "k", "v"))
            heads = []
            for i in range(spec.n_heads):
                sl = slice(i * spec.d_head, (i + 1) * spec.d_head)
                s = q[:, sl] @ k[:, sl].T / np.sqrt(spec.d_head)
                if causal:  # query t sees keys 0..t only
                    heads.append(np.stack([softmax(s[t, : t + 1]) @ v[: t + 1, sl] for t in range(spec.seq_len)]))
                else:
                    heads.append(np.stack([softmax(row) for row in s]) @ v[:, sl])
            xs = xs + np.concatenate(heads, axis=1) @ w[f"{p}attn/out/w"] + w[f"{p}attn/out/b"]
            h = np.stack([ln(row, f"{p}ln2") for row in xs]) @ w[f"{p}mlp/fc1/w"] + w[f"{p}mlp/fc1/b"]
            xs = xs + (h * 0.5 * (1 + erf(h / np.sqrt(2)))) @ w[f"{p}mlp/fc2/w"] + w[f"{p}mlp/fc2/b"]
        out.append(xs.mean(axis=0) @ w["head/w"] + w["head/b"])
    assert np.allclose(spec.reference_output(w, x), np.stack(out))


def test_causal_attention_ignores_later_positions():
    spec = TransformerSpec(seq_len=5, d_model=4, n_heads=2, d_mlp=8, n_classes=3, causal=True)
    rng = np.random.default_rng(2)
    w = {k: v + rng.standard_normal(v.shape) for k, v in spec.init_weights().items()}  # attention far from uniform
    x, _ = spec.batch(2)
    later = x.copy()
    later[:, 3:] += rng.standard_normal(later[:, 3:].shape)  # not a constant shift, which layer norm removes
    before, after = spec.reference_states(w, x), spec.reference_states(w, later)
    assert before.shape == (2, 5, 4)
    # Masked keys get probability exactly 0, so positions 0..2 see identical inputs; 3 and 4 change.
    assert np.allclose(after[:, :3], before[:, :3], rtol=0, atol=1e-12)
    assert np.abs(after[:, 3:] - before[:, 3:]).max(axis=-1).min() > 1e-3
    # Without the mask every position attends to the changed ones.
    full = dataclasses.replace(spec, causal=False)
    assert np.abs(full.reference_states(w, later)[:, 0] - full.reference_states(w, x)[:, 0]).max() > 1e-3
    # And the pooled logits still depend on every position.
    assert not np.allclose(spec.reference_output(w, later), spec.reference_output(w, x))


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
    assert spec.flops_per_sample("infer") >= 2 * sum(a.size for k, a in spec.init_weights().items() if a.ndim >= 2)


def test_flops_by_hand():
    mlp = MLPSpec(sizes=(4, 3, 2), n_classes=2)
    assert mlp.flops_per_sample("infer") == 2 * (4 * 3 + 3 * 2)
    convs = [
        32 * 32 * 27 * 16,
        2 * 32 * 32 * 144 * 16,
        16 * 16 * 144 * 32 + 16 * 16 * 288 * 32 + 16 * 16 * 16 * 32,
        8 * 8 * 288 * 64 + 8 * 8 * 576 * 64 + 8 * 8 * 32 * 64,
    ]
    assert get_workload("cnn").flops_per_sample("infer") == 2 * (sum(convs) + 64 * 10)
    t, d, f = 128, 256, 1024
    assert get_workload("transformer").flops_per_sample("infer") == 2 * (
        4 * t * d * d + 2 * t * t * d + 2 * t * d * f + d * 10
    )
    assert get_workload("rnn").flops_per_sample("infer") == 2 * (64 * (32 * 128 + 128 * 128) + 128 * 10)


def test_cnn_architecture():
    spec = get_workload("cnn")
    assert [(b.c_in, b.c_out, b.stride, b.projection) for b in spec.blocks()] == [
        (16, 16, 1, False),
        (16, 32, 2, True),
        (32, 64, 2, True),
    ]
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


def _names_of_the_original_cnn(channels):
    """Weight names and shapes of the 3-block "cnn" as first published: one block per stage, prefixes block{i}."""
    c_in = channels[0]
    shapes = {"stem/conv/w": (3, 3, 3, c_in), "stem/bn/gamma": (c_in,), "stem/bn/beta": (c_in,)}
    for i, c in enumerate(channels):
        p = f"block{i}"
        shapes.update(
            {
                f"{p}/conv1/w": (3, 3, c_in, c),
                f"{p}/bn1/gamma": (c,),
                f"{p}/bn1/beta": (c,),
                f"{p}/conv2/w": (3, 3, c, c),
                f"{p}/bn2/gamma": (c,),
                f"{p}/bn2/beta": (c,),
            }
        )
        if i > 0 or c_in != c:
            shapes.update({f"{p}/proj/w": (1, 1, c_in, c), f"{p}/proj_bn/gamma": (c,), f"{p}/proj_bn/beta": (c,)})
        c_in = c
    shapes.update({"head/w": (channels[-1], 10), "head/b": (10,)})
    return shapes


def _cnn_reference_by_hand(w, x, n_stages, training):
    """The "cnn" forward written out block by block (stride 2 from the second block on), independent of blocks()."""
    w = {k: v.astype(np.float64) for k, v in w.items()}

    def bn(h, p):
        mean, var = (h.mean(axis=(0, 1, 2)), h.var(axis=(0, 1, 2))) if training else (0.0, 1.0)
        return (h - mean) / np.sqrt(var + 1e-5) * w[f"{p}/gamma"] + w[f"{p}/beta"]

    h = np.maximum(bn(conv2d(x.astype(np.float64), w["stem/conv/w"], 1, 1), "stem/bn"), 0)
    for i in range(n_stages):
        stride, p = (1 if i == 0 else 2), f"block{i}"
        r = np.maximum(bn(conv2d(h, w[f"{p}/conv1/w"], stride, 1), f"{p}/bn1"), 0)
        r = bn(conv2d(r, w[f"{p}/conv2/w"], 1, 1), f"{p}/bn2")
        skip = bn(conv2d(h, w[f"{p}/proj/w"], stride, 0), f"{p}/proj_bn") if f"{p}/proj/w" in w else h
        h = np.maximum(r + skip, 0)
    return h.mean(axis=(1, 2)) @ w["head/w"] + w["head/b"]


def test_original_cnn_and_transformer_are_unchanged():
    """blocks_per_stage=1 and n_layers=1 (the defaults) keep the first workloads' names, shapes and outputs."""
    cnn = get_workload("cnn")
    assert cnn.blocks_per_stage == 1 and cnn.size_label == "c16-32-64"
    shapes = cnn.param_shapes()
    assert list(shapes.items()) == list(_names_of_the_original_cnn((16, 32, 64)).items())
    w, (x, _) = cnn.init_weights(), cnn.batch(2)
    for training in (True, False):
        assert np.allclose(
            cnn.reference_output(w, x, training=training),
            _cnn_reference_by_hand(w, x, 3, training),
            rtol=1e-12,
            atol=1e-12,
        )

    tr = get_workload("transformer")
    assert tr.n_layers == 1 and not tr.causal and tr.layer_prefixes() == [""] and tr.size_label == "d256"
    d, f = 256, 1024
    want = {"ln1/gamma": (d,), "ln1/beta": (d,)}
    for part in ("q", "k", "v", "out"):
        want.update({f"attn/{part}/w": (d, d), f"attn/{part}/b": (d,)})
    want.update(
        {
            "ln2/gamma": (d,),
            "ln2/beta": (d,),
            "mlp/fc1/w": (d, f),
            "mlp/fc1/b": (f,),
            "mlp/fc2/w": (f, d),
            "mlp/fc2/b": (d,),
            "head/w": (d, 10),
            "head/b": (10,),
        }
    )
    assert list(tr.param_shapes().items()) == list(want.items())


def test_resnet18_architecture():
    spec = get_workload("resnet18")
    assert spec.family == "cnn" and spec.input_shape == (64, 64, 3) and spec.blocks_per_stage == 2
    assert 10e6 < spec.n_params < 13e6
    assert [(b.prefix, b.c_in, b.c_out, b.stride, b.projection) for b in spec.blocks()] == [
        ("stage0/block0", 64, 64, 1, False),
        ("stage0/block1", 64, 64, 1, False),
        ("stage1/block0", 64, 128, 2, True),
        ("stage1/block1", 128, 128, 1, False),
        ("stage2/block0", 128, 256, 2, True),
        ("stage2/block1", 256, 256, 1, False),
        ("stage3/block0", 256, 512, 2, True),
        ("stage3/block1", 512, 512, 1, False),
    ]
    shapes = spec.param_shapes()
    assert shapes["stage1/block0/proj/w"] == (1, 1, 64, 128) and "stage1/block1/proj/w" not in shapes
    assert "stage1/block0/proj_bn" in spec.bn_names() and spec.size_label == "c64-128-256-512x2"
    # Spatial size 64 -> 32 -> 16 -> 8 over the stages; each block's two 3x3 convs, plus the projections.
    convs = 64 * 64 * 27 * 64 + sum(
        s * s * 9 * (ci * co + co * co) + (s * s * ci * co if ci != co else 0)
        for s, ci, co in [
            (64, 64, 64),
            (64, 64, 64),
            (32, 64, 128),
            (32, 128, 128),
            (16, 128, 256),
            (16, 256, 256),
            (8, 256, 512),
            (8, 512, 512),
        ]
    )
    assert spec.flops_per_sample("infer") == 2 * (convs + 512 * 10)


def test_gpt2_small_architecture():
    spec = get_workload("gpt2_small")
    assert spec.family == "transformer" and spec.causal and spec.n_layers == 2 and spec.d_head == 64
    assert 10e6 < spec.n_params < 30e6
    assert spec.layer_prefixes() == ["layer0/", "layer1/"] and spec.size_label == "d768-l2"
    names = list(spec.param_shapes())
    assert names[0] == "layer0/ln1/gamma" and names[-2:] == ["head/w", "head/b"]
    assert "layer1/attn/q/w" in names and "attn/q/w" not in names and sum("head/" in n for n in names) == 2
    t, d, f = 128, 768, 3072
    assert spec.flops_per_sample("infer") == 2 * (2 * (4 * t * d * d + 2 * t * t * d + 2 * t * d * f) + d * 10)
    with pytest.raises(ValueError, match="n_layers"):
        TransformerSpec(n_layers=0)
    with pytest.raises(ValueError, match="blocks_per_stage"):
        CNNSpec(blocks_per_stage=0)


@pytest.mark.parametrize("name", ["resnet18", "gpt2_small"])
def test_large_workload_references_run(name):
    spec = dataclasses.replace(get_workload(name), dtype="float64")
    w, (x, y) = spec.init_weights(), spec.batch(2)
    logits = spec.reference_output(w, x, training=True)
    assert logits.shape == (2, 10) and np.isfinite(logits).all()
    assert np.isfinite(spec.reference_loss(w, x, y))
