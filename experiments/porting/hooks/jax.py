"""flax nnx's layers on JAX for the porting experiment: built, trained with optax, run in eval mode, their arrays
read and written."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from fwbench.experiments.porting.layers import SIZES, Sizes, same_pads

#: The arrays of each kind in the order a reader lines them up with another framework's (attribute paths).
NAMES = {
    "dense": ["linear/kernel", "linear/bias"],
    "conv2d": ["kernel", "bias"],
    "batchnorm": ["scale", "bias", "mean", "var"],
    "layernorm": ["scale", "bias"],
    "attention": [
        "query/kernel",
        "query/bias",
        "key/kernel",
        "key/bias",
        "value/kernel",
        "value/bias",
        "out/kernel",
        "out/bias",
    ],
    "gru": ["rnn/cell/dense_i/kernel", "rnn/cell/dense_h/kernel", "rnn/cell/dense_i/bias"],
    "embedding": ["embedding"],
}


class DenseGelu(nnx.Module):
    """nnx.Linear then nnx.gelu, as a flax model writes it (nnx.gelu is jax.nn.gelu: tanh-approximate by default)."""

    def __init__(self, features: int, approximate: bool, rngs: nnx.Rngs):
        self.linear = nnx.Linear(features, features, rngs=rngs)
        self.approximate = approximate

    def __call__(self, x):
        return nnx.gelu(self.linear(x), approximate=self.approximate)


class GRU(nnx.Module):
    """nnx.GRUCell scanned over the sequence by nnx.RNN (batch-major), every step's hidden state returned."""

    def __init__(self, inputs: int, hidden: int, hidden_bias: bool, rngs: nnx.Rngs):
        cell = nnx.GRUCell(inputs, hidden, rngs=rngs)
        if hidden_bias:  # the stock cell's hidden projection has no bias; swapped for one that has
            cell.dense_h = nnx.Linear(hidden, 3 * hidden, use_bias=True, rngs=rngs)
        self.rnn = nnx.RNN(cell)

    def __call__(self, x):
        return self.rnn(x)


def build(kind: str, seed: int, sizes: Sizes = SIZES, **settings) -> nnx.Module:
    """The idiomatic layer, with flax's defaults unless `settings` says otherwise (eps, momentum, gelu_approximate,
    pad: ((top, bottom), (left, right)), hidden_bias)."""
    rngs = nnx.Rngs(seed)
    s = sizes
    if kind == "dense":
        return DenseGelu(s.features, settings.get("gelu_approximate", True), rngs)
    if kind == "conv2d":
        pad = settings.get("pad")
        return nnx.Conv(
            s.channels,
            s.channels,
            (s.kernel, s.kernel),
            strides=s.stride,
            padding="SAME" if pad is None else tuple(map(tuple, pad)),
            rngs=rngs,
        )
    if kind == "batchnorm":
        return nnx.BatchNorm(
            s.norm_features, epsilon=settings.get("eps", 1e-5), momentum=settings.get("momentum", 0.99), rngs=rngs
        )
    if kind == "layernorm":
        return nnx.LayerNorm(s.features, epsilon=settings.get("eps", 1e-6), rngs=rngs)
    if kind == "attention":
        return nnx.MultiHeadAttention(num_heads=s.heads, in_features=s.embed, decode=False, rngs=rngs)
    if kind == "gru":
        return GRU(s.rnn_inputs, s.hidden, settings.get("hidden_bias", False), rngs)
    if kind == "embedding":
        return nnx.Embed(s.vocab, s.embed_features, rngs=rngs)
    raise ValueError(f"unknown layer kind {kind!r}")


def train(kind: str, model: nnx.Module, x: np.ndarray, target: np.ndarray, steps: int, lr: float) -> list[float]:
    """`steps` plain SGD steps (optax) on the mean squared error, in training mode (batch norm's statistics move)."""
    model.train()
    opt = nnx.Optimizer(model, optax.sgd(lr), wrt=nnx.Param)
    xs, ts = jnp.asarray(x), jnp.asarray(target)

    @nnx.jit
    def step(model, opt):
        loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m(xs) - ts) ** 2))(model)
        opt.update(model, grads)
        return loss

    return [float(step(model, opt)) for _ in range(steps)]


def forward(kind: str, model: nnx.Module, x: np.ndarray) -> np.ndarray:
    model.eval()
    return np.asarray(model(jnp.asarray(x))).copy()


def _variables(kind: str, model: nnx.Module) -> dict:
    found = {"/".join(map(str, path)): v for path, v in nnx.iter_graph(model) if isinstance(v, nnx.Variable)}
    names = NAMES[kind] + (["rnn/cell/dense_h/bias"] if "rnn/cell/dense_h/bias" in found else [])
    return {name: found[name] for name in names}


def arrays(kind: str, model: nnx.Module) -> dict[str, np.ndarray]:
    return {k: np.asarray(v.get_value()).copy() for k, v in _variables(kind, model).items()}


def assign(kind: str, model: nnx.Module, values: dict[str, np.ndarray]) -> None:
    variables = _variables(kind, model)
    for name, value in values.items():
        if tuple(variables[name].shape) != tuple(value.shape):
            raise ValueError(f"{name}: shape {tuple(value.shape)} does not fit {tuple(variables[name].shape)}")
        variables[name].set_value(jnp.asarray(value, dtype=jnp.float32))


def settings(kind: str, model: nnx.Module, sizes: Sizes = SIZES) -> dict:
    """What else defines the layer's function or training, in flax's own conventions."""
    if kind == "dense":
        return {"gelu_approximate": model.approximate}
    if kind == "conv2d":
        pad = model.padding
        return {
            "pad": (same_pads(sizes.image, sizes.kernel, sizes.stride),) * 2
            if pad == "SAME"
            else tuple(map(tuple, pad))
        }
    if kind == "batchnorm":
        return {"eps": model.epsilon, "momentum": model.momentum}
    if kind == "attention":
        return {"heads": model.num_heads}
    if kind == "layernorm":
        return {"eps": model.epsilon}
    if kind == "gru":
        return {"hidden_bias": "rnn/cell/dense_h/bias" in _variables(kind, model)}
    return {}
