"""The conversions: one small function per (layer kind, source, target), each with the transformations it needs
("kind: what"; kinds in layers.STEP_KINDS) and its length in logical lines, counted from its own source.

A converter takes the source layer's arrays and settings (hooks/<framework>.py `arrays`, `settings`, in the
source's conventions) and returns the target's arrays and the settings its layer must be built with. Reading and
writing arrays and building layers is the hooks' shared plumbing, also used by the naive copy; what a converter
holds is what this pair of frameworks asks for and nothing else, so its line count compares pairs fairly.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from fwbench.experiments.porting.layers import FRAMEWORKS, KINDS, step_kind


@dataclass(frozen=True)
class Converter:
    kind: str = field(metadata={"help": "layer kind"})
    source: str = field(metadata={"help": "framework the trained arrays come from"})
    target: str = field(metadata={"help": "framework whose idiomatic layer receives them"})
    steps: tuple[str, ...] = field(metadata={"help": "transformations needed, 'kind: what'"})
    fn: Callable = field(metadata={"help": "(arrays, settings) -> (target arrays, target settings)"})

    @property
    def lines(self) -> int:
        return logical_lines(self.fn)


CONVERTERS: dict[tuple[str, str, str], Converter] = {}


def converts(kind: str, source: str, target: str, *steps: str):
    """Register the decorated function as the conversion of `kind` from `source` to `target`."""

    def mark(fn):
        for step in steps:
            step_kind(step)  # an unknown kind is a typo: refused at import
        CONVERTERS[(kind, source, target)] = Converter(kind, source, target, steps, fn)
        return fn

    return mark


def get(kind: str, source: str, target: str) -> Converter:
    return CONVERTERS[(kind, source, target)]


def logical_lines(fn: Callable) -> int:
    """Statements in the function's body, a statement over several lines counted once, its docstring not at all."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    body = tree.body[0].body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(getattr(body[0], "value", None), ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    return len({node.lineno for stmt in body for node in ast.walk(stmt) if isinstance(node, ast.stmt)})


# ---- dense + GELU: torch keeps (out, in), Keras and flax (in, out); flax's nnx.gelu approximates by default --------


@converts("dense", "torch", "tensorflow", "transpose: kernel (out, in) to (in, out)")
def dense_torch_tensorflow(w, s):
    return {"kernel": w["0.weight"].T, "bias": w["0.bias"]}, {"gelu_approximate": s["gelu_approximate"]}


@converts(
    "dense",
    "torch",
    "jax",
    "transpose: kernel (out, in) to (in, out)",
    "gelu: exact GELU asked for (nnx.gelu defaults to the tanh approximation)",
)
def dense_torch_jax(w, s):
    return {"linear/kernel": w["0.weight"].T, "linear/bias": w["0.bias"]}, {"gelu_approximate": s["gelu_approximate"]}


@converts("dense", "tensorflow", "torch", "transpose: kernel (in, out) to (out, in)")
def dense_tensorflow_torch(w, s):
    return {"0.weight": w["kernel"].T, "0.bias": w["bias"]}, {"gelu_approximate": s["gelu_approximate"]}


@converts("dense", "tensorflow", "jax", "gelu: exact GELU asked for (nnx.gelu defaults to the tanh approximation)")
def dense_tensorflow_jax(w, s):
    return {"linear/kernel": w["kernel"], "linear/bias": w["bias"]}, {"gelu_approximate": s["gelu_approximate"]}


@converts(
    "dense",
    "jax",
    "torch",
    "transpose: kernel (in, out) to (out, in)",
    "gelu: nn.GELU(approximate='tanh') to match nnx.gelu's default",
)
def dense_jax_torch(w, s):
    return {"0.weight": w["linear/kernel"].T, "0.bias": w["linear/bias"]}, {"gelu_approximate": s["gelu_approximate"]}


@converts("dense", "jax", "tensorflow", "gelu: gelu(approximate=True) to match nnx.gelu's default")
def dense_jax_tensorflow(w, s):
    return {"kernel": w["linear/kernel"], "bias": w["linear/bias"]}, {"gelu_approximate": s["gelu_approximate"]}


# ---- conv2d 3x3 stride 2: OIHW against HWIO, NCHW against NHWC, and where the padding goes ----------------------

CONV_PAD_TORCH = "padding: torch's symmetric padding=1 made explicit ('same' pads 0 before and 1 after here)"
CONV_PAD_SAME = "padding: 'SAME' pads 0 before and 1 after here; torch pads symmetrically, so a ZeroPad2d goes first"


@converts(
    "conv2d", "torch", "tensorflow", "transpose: kernel OIHW to HWIO", "layout: data NCHW to NHWC", CONV_PAD_TORCH
)
def conv2d_torch_tensorflow(w, s):
    return {"kernel": w["weight"].transpose(2, 3, 1, 0), "bias": w["bias"]}, {"pad": s["pad"]}


@converts("conv2d", "torch", "jax", "transpose: kernel OIHW to HWIO", "layout: data NCHW to NHWC", CONV_PAD_TORCH)
def conv2d_torch_jax(w, s):
    return {"kernel": w["weight"].transpose(2, 3, 1, 0), "bias": w["bias"]}, {"pad": s["pad"]}


@converts("conv2d", "tensorflow", "torch", "transpose: kernel HWIO to OIHW", "layout: data NHWC to NCHW", CONV_PAD_SAME)
def conv2d_tensorflow_torch(w, s):
    return {"weight": w["kernel"].transpose(3, 2, 0, 1), "bias": w["bias"]}, {"pad": s["pad"]}


@converts("conv2d", "tensorflow", "jax")
def conv2d_tensorflow_jax(w, s):
    return {"kernel": w["kernel"], "bias": w["bias"]}, {}


@converts("conv2d", "jax", "torch", "transpose: kernel HWIO to OIHW", "layout: data NHWC to NCHW", CONV_PAD_SAME)
def conv2d_jax_torch(w, s):
    return {"weight": w["kernel"].transpose(3, 2, 0, 1), "bias": w["bias"]}, {"pad": s["pad"]}


@converts("conv2d", "jax", "tensorflow")
def conv2d_jax_tensorflow(w, s):
    return {"kernel": w["kernel"], "bias": w["bias"]}, {}


# ---- batch norm: epsilon 0.00001 (torch, flax) or 0.001 (Keras); momentum m (torch) against 1 - m ------------------

BN_MOMENTUM = "momentum: torch's momentum m is Keras's and flax's 1 - m"


@converts("batchnorm", "torch", "tensorflow", "epsilon: torch's 0.00001 (Keras defaults to 0.001)", BN_MOMENTUM)
def batchnorm_torch_tensorflow(w, s):
    arrays = {
        "gamma": w["weight"],
        "beta": w["bias"],
        "moving_mean": w["running_mean"],
        "moving_variance": w["running_var"],
    }
    return arrays, {"eps": s["eps"], "momentum": 1 - s["momentum"]}


@converts("batchnorm", "torch", "jax", BN_MOMENTUM)
def batchnorm_torch_jax(w, s):
    arrays = {"scale": w["weight"], "bias": w["bias"], "mean": w["running_mean"], "var": w["running_var"]}
    return arrays, {"eps": s["eps"], "momentum": 1 - s["momentum"]}


@converts("batchnorm", "tensorflow", "torch", "epsilon: Keras's 0.001 (torch defaults to 0.00001)", BN_MOMENTUM)
def batchnorm_tensorflow_torch(w, s):
    arrays = {
        "weight": w["gamma"],
        "bias": w["beta"],
        "running_mean": w["moving_mean"],
        "running_var": w["moving_variance"],
    }
    return arrays, {"eps": s["eps"], "momentum": 1 - s["momentum"]}


@converts("batchnorm", "tensorflow", "jax", "epsilon: Keras's 0.001 (flax defaults to 0.00001)")
def batchnorm_tensorflow_jax(w, s):
    arrays = {"scale": w["gamma"], "bias": w["beta"], "mean": w["moving_mean"], "var": w["moving_variance"]}
    return arrays, {"eps": s["eps"], "momentum": s["momentum"]}


@converts("batchnorm", "jax", "torch", BN_MOMENTUM)
def batchnorm_jax_torch(w, s):
    arrays = {"weight": w["scale"], "bias": w["bias"], "running_mean": w["mean"], "running_var": w["var"]}
    return arrays, {"eps": s["eps"], "momentum": 1 - s["momentum"]}


@converts("batchnorm", "jax", "tensorflow", "epsilon: flax's 0.00001 (Keras defaults to 0.001)")
def batchnorm_jax_tensorflow(w, s):
    arrays = {"gamma": w["scale"], "beta": w["bias"], "moving_mean": w["mean"], "moving_variance": w["var"]}
    return arrays, {"eps": s["eps"], "momentum": s["momentum"]}


# ---- layer norm: epsilon 0.00001 (torch), 0.001 (Keras), 0.000001 (flax) ------------------------------------------------


@converts("layernorm", "torch", "tensorflow", "epsilon: torch's 0.00001 (Keras defaults to 0.001)")
def layernorm_torch_tensorflow(w, s):
    return {"gamma": w["weight"], "beta": w["bias"]}, {"eps": s["eps"]}


@converts("layernorm", "torch", "jax", "epsilon: torch's 0.00001 (flax defaults to 0.000001)")
def layernorm_torch_jax(w, s):
    return {"scale": w["weight"], "bias": w["bias"]}, {"eps": s["eps"]}


@converts("layernorm", "tensorflow", "torch", "epsilon: Keras's 0.001 (torch defaults to 0.00001)")
def layernorm_tensorflow_torch(w, s):
    return {"weight": w["gamma"], "bias": w["beta"]}, {"eps": s["eps"]}


@converts("layernorm", "tensorflow", "jax", "epsilon: Keras's 0.001 (flax defaults to 0.000001)")
def layernorm_tensorflow_jax(w, s):
    return {"scale": w["gamma"], "bias": w["beta"]}, {"eps": s["eps"]}


@converts("layernorm", "jax", "torch", "epsilon: flax's 0.000001 (torch defaults to 0.00001)")
def layernorm_jax_torch(w, s):
    return {"weight": w["scale"], "bias": w["bias"]}, {"eps": s["eps"]}


@converts("layernorm", "jax", "tensorflow", "epsilon: flax's 0.000001 (Keras defaults to 0.001)")
def layernorm_jax_tensorflow(w, s):
    return {"gamma": w["scale"], "beta": w["bias"]}, {"eps": s["eps"]}


# ---- attention: torch fuses q, k, v into one (3E, E) projection; Keras and flax keep (E, heads, head_dim) --------

MHA_FROM_TORCH = (
    "split: in_proj (3E, E) into query, key and value",
    "transpose: each projection (out, in) to (in, out)",
    "reshape: (E, E) to (E, heads, head_dim), biases to (heads, head_dim), output to (heads, head_dim, E)",
)
MHA_TO_TORCH = (
    "reshape: (E, heads, head_dim) to (E, E), biases to (E,), output (heads, head_dim, E) to (E, E)",
    "transpose: each projection (in, out) to (out, in)",
    "split: query, key and value fused into in_proj",
)


@converts("attention", "torch", "tensorflow", *MHA_FROM_TORCH)
def attention_torch_tensorflow(w, s):
    e = w["out_proj.weight"].shape[0]
    h = s["heads"]
    out = {}
    for i, name in enumerate(("query", "key", "value")):
        out[f"{name}/kernel"] = w["in_proj_weight"][i * e : (i + 1) * e].T.reshape(e, h, e // h)
        out[f"{name}/bias"] = w["in_proj_bias"][i * e : (i + 1) * e].reshape(h, e // h)
    out["attention_output/kernel"] = w["out_proj.weight"].T.reshape(h, e // h, e)
    out["attention_output/bias"] = w["out_proj.bias"]
    return out, {}


@converts("attention", "torch", "jax", *MHA_FROM_TORCH)
def attention_torch_jax(w, s):
    e, h = w["out_proj.weight"].shape[0], s["heads"]
    out = {}
    for i, name in enumerate(("query", "key", "value")):
        out[f"{name}/kernel"] = w["in_proj_weight"][i * e : (i + 1) * e].T.reshape(e, h, e // h)
        out[f"{name}/bias"] = w["in_proj_bias"][i * e : (i + 1) * e].reshape(h, e // h)
    out["out/kernel"] = w["out_proj.weight"].T.reshape(h, e // h, e)
    out["out/bias"] = w["out_proj.bias"]
    return out, {}


@converts("attention", "tensorflow", "torch", *MHA_TO_TORCH)
def attention_tensorflow_torch(w, s):
    e = w["attention_output/bias"].shape[0]
    qkv = ("query", "key", "value")
    return {
        "in_proj_weight": np.concatenate([w[f"{n}/kernel"].reshape(e, e).T for n in qkv]),
        "in_proj_bias": np.concatenate([w[f"{n}/bias"].reshape(e) for n in qkv]),
        "out_proj.weight": w["attention_output/kernel"].reshape(e, e).T,
        "out_proj.bias": w["attention_output/bias"],
    }, {"heads": s["heads"]}


@converts("attention", "tensorflow", "jax")
def attention_tensorflow_jax(w, s):
    out = {k: v for k, v in w.items() if not k.startswith("attention_output/")}
    return {**out, "out/kernel": w["attention_output/kernel"], "out/bias": w["attention_output/bias"]}, {}


@converts("attention", "jax", "torch", *MHA_TO_TORCH)
def attention_jax_torch(w, s):
    e = w["out/bias"].shape[0]
    qkv = ("query", "key", "value")
    return {
        "in_proj_weight": np.concatenate([w[f"{n}/kernel"].reshape(e, e).T for n in qkv]),
        "in_proj_bias": np.concatenate([w[f"{n}/bias"].reshape(e) for n in qkv]),
        "out_proj.weight": w["out/kernel"].reshape(e, e).T,
        "out_proj.bias": w["out/bias"],
    }, {"heads": s["heads"]}


@converts("attention", "jax", "tensorflow")
def attention_jax_tensorflow(w, s):
    out = {k: v for k, v in w.items() if not k.startswith("out/")}
    return {**out, "attention_output/kernel": w["out/kernel"], "attention_output/bias": w["out/bias"]}, {}


# ---- GRU: torch and flax order the gates r, z, n, Keras z, r, h; torch has input and hidden biases, Keras stacks
# them as (2, 3H), flax's stock cell has an input bias only (torch's hidden n bias sits inside r * (...)) ---------

GRU_ORDER = "gate order: torch's and flax's r, z, n against Keras's z, r, h"
GRU_FLAX_BIAS = (
    "custom layer: nnx.GRUCell's hidden projection has no bias, and the hidden n bias sits inside "
    "r * (W_hn h + b_hn), so it cannot be folded into the input bias: a biased nnx.Linear is swapped in"
)


@converts(
    "gru",
    "torch",
    "tensorflow",
    "transpose: (3H, in) to (in, 3H)",
    GRU_ORDER,
    "reshape: input and hidden biases stacked into (2, 3H)",
)
def gru_torch_tensorflow(w, s):
    def zrn(a):  # r, z, n -> z, r, n along the first axis
        r, z, n = np.split(a, 3)
        return np.concatenate([z, r, n])

    return {
        "kernel": zrn(w["weight_ih_l0"]).T,
        "recurrent_kernel": zrn(w["weight_hh_l0"]).T,
        "bias": np.stack([zrn(w["bias_ih_l0"]), zrn(w["bias_hh_l0"])]),
    }, {}


@converts("gru", "torch", "jax", "transpose: (3H, in) to (in, 3H)", GRU_FLAX_BIAS)
def gru_torch_jax(w, s):
    return {
        "rnn/cell/dense_i/kernel": w["weight_ih_l0"].T,
        "rnn/cell/dense_h/kernel": w["weight_hh_l0"].T,
        "rnn/cell/dense_i/bias": w["bias_ih_l0"],
        "rnn/cell/dense_h/bias": w["bias_hh_l0"],
    }, {"hidden_bias": True}


@converts(
    "gru",
    "tensorflow",
    "torch",
    "transpose: (in, 3H) to (3H, in)",
    GRU_ORDER,
    "reshape: the (2, 3H) bias unstacked into input and hidden biases",
)
def gru_tensorflow_torch(w, s):
    def rzn(a):  # z, r, h -> r, z, n along the last axis
        z, r, n = np.split(a, 3, axis=-1)
        return np.concatenate([r, z, n], axis=-1)

    return {
        "weight_ih_l0": rzn(w["kernel"]).T,
        "weight_hh_l0": rzn(w["recurrent_kernel"]).T,
        "bias_ih_l0": rzn(w["bias"][0]),
        "bias_hh_l0": rzn(w["bias"][1]),
    }, {}


@converts("gru", "tensorflow", "jax", GRU_ORDER, GRU_FLAX_BIAS)
def gru_tensorflow_jax(w, s):
    def rzn(a):  # z, r, h -> r, z, n along the last axis
        z, r, n = np.split(a, 3, axis=-1)
        return np.concatenate([r, z, n], axis=-1)

    return {
        "rnn/cell/dense_i/kernel": rzn(w["kernel"]),
        "rnn/cell/dense_h/kernel": rzn(w["recurrent_kernel"]),
        "rnn/cell/dense_i/bias": rzn(w["bias"][0]),
        "rnn/cell/dense_h/bias": rzn(w["bias"][1]),
    }, {"hidden_bias": True}


@converts(
    "gru",
    "jax",
    "torch",
    "transpose: (in, 3H) to (3H, in)",
    "bias: the hidden bias torch has and flax's cell lacks, zero-filled",
)
def gru_jax_torch(w, s):
    hidden = w["rnn/cell/dense_i/bias"]
    return {
        "weight_ih_l0": w["rnn/cell/dense_i/kernel"].T,
        "weight_hh_l0": w["rnn/cell/dense_h/kernel"].T,
        "bias_ih_l0": hidden,
        "bias_hh_l0": w.get("rnn/cell/dense_h/bias", np.zeros_like(hidden)),
    }, {}


@converts(
    "gru",
    "jax",
    "tensorflow",
    GRU_ORDER,
    "bias: the recurrent bias Keras has and flax's cell lacks, zero-filled and stacked into (2, 3H)",
)
def gru_jax_tensorflow(w, s):
    def zrn(a):  # r, z, n -> z, r, n along the last axis
        r, z, n = np.split(a, 3, axis=-1)
        return np.concatenate([z, r, n], axis=-1)

    b = w["rnn/cell/dense_i/bias"]
    return {
        "kernel": zrn(w["rnn/cell/dense_i/kernel"]),
        "recurrent_kernel": zrn(w["rnn/cell/dense_h/kernel"]),
        "bias": np.stack([zrn(b), zrn(w.get("rnn/cell/dense_h/bias", np.zeros_like(b)))]),
    }, {}


# ---- embedding: one (vocabulary, features) table everywhere ----------------------------------------------------


@converts("embedding", "torch", "tensorflow")
def embedding_torch_tensorflow(w, s):
    return {"embeddings": w["weight"]}, {}


@converts("embedding", "torch", "jax")
def embedding_torch_jax(w, s):
    return {"embedding": w["weight"]}, {}


@converts("embedding", "tensorflow", "torch")
def embedding_tensorflow_torch(w, s):
    return {"weight": w["embeddings"]}, {}


@converts("embedding", "tensorflow", "jax")
def embedding_tensorflow_jax(w, s):
    return {"embedding": w["embeddings"]}, {}


@converts("embedding", "jax", "torch")
def embedding_jax_torch(w, s):
    return {"weight": w["embedding"]}, {}


@converts("embedding", "jax", "tensorflow")
def embedding_jax_tensorflow(w, s):
    return {"embeddings": w["embedding"]}, {}


def pairs() -> list[tuple[str, str]]:
    """The six directed (source, target) pairs."""
    return [(a, b) for a in FRAMEWORKS for b in FRAMEWORKS if a != b]


def missing() -> list[tuple[str, str, str]]:
    """(kind, source, target) without a converter: none, or a conversion was forgotten."""
    return [(k, a, b) for k in KINDS for a, b in pairs() if (k, a, b) not in CONVERTERS]
