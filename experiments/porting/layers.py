"""The layer kinds ported, their sizes, the seeded synthetic data each is trained and checked on, and the kinds of
transformation a conversion may need (which of them count as "no more than a reshape or transpose")."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The frameworks weights move between, as fwbench names them; each one's idiomatic layers (hooks/<framework>.py):
#: torch.nn, Keras 3 on TensorFlow, flax nnx on JAX.
FRAMEWORKS = ("torch", "tensorflow", "jax")
LIBRARY = {"torch": "torch.nn", "tensorflow": "Keras 3 (TensorFlow backend)", "jax": "flax nnx"}


@dataclass(frozen=True)
class Sizes:
    """The sizes every layer kind is built with: small (the port, not the speed, is measured), hidden layers
    square as in the workloads' blocks, so that a copy that forgets a transpose still fits its target."""

    features: int = field(default=32, metadata={"help": "dense and layer norm width"})
    channels: int = field(default=8, metadata={"help": "conv2d input and output channels"})
    image: int = field(default=8, metadata={"help": "conv2d input height and width (even: see the padding step)"})
    kernel: int = field(default=3, metadata={"help": "conv2d kernel size"})
    stride: int = field(default=2, metadata={"help": "conv2d stride (the downsampling conv of a ResNet stage)"})
    norm_features: int = field(default=16, metadata={"help": "batch norm features"})
    embed: int = field(default=32, metadata={"help": "attention width"})
    heads: int = field(default=4, metadata={"help": "attention heads"})
    seq: int = field(default=6, metadata={"help": "sequence length of attention, GRU and embedding inputs"})
    rnn_inputs: int = field(default=12, metadata={"help": "GRU input features"})
    hidden: int = field(default=16, metadata={"help": "GRU hidden units"})
    vocab: int = field(default=50, metadata={"help": "embedding vocabulary"})
    embed_features: int = field(default=16, metadata={"help": "embedding width"})


SIZES = Sizes()


@dataclass(frozen=True)
class Kind:
    """One layer kind: what it is in each framework and the shapes of its data (channels-last where it matters)."""

    name: str = field(metadata={"help": "stored as the records' workload"})
    title: str = field(metadata={"help": "what the chapter calls it"})
    layers: dict = field(metadata={"help": "framework -> the idiomatic layer built"})


KINDS = {
    k.name: k
    for k in (
        Kind(
            "dense",
            "dense + GELU (a transformer feed-forward's first half)",
            {
                "torch": "nn.Linear + nn.GELU()",
                "tensorflow": "layers.Dense(activation='gelu')",
                "jax": "nnx.Linear + nnx.gelu",
            },
        ),
        Kind(
            "conv2d",
            "conv2d 3x3, stride 2, padded (a ResNet stage's first conv)",
            {
                "torch": "nn.Conv2d(padding=1)",
                "tensorflow": "layers.Conv2D(padding='same')",
                "jax": "nnx.Conv(padding='SAME')",
            },
        ),
        Kind(
            "batchnorm",
            "batch norm, eval mode with running statistics",
            {"torch": "nn.BatchNorm1d", "tensorflow": "layers.BatchNormalization", "jax": "nnx.BatchNorm"},
        ),
        Kind(
            "layernorm",
            "layer norm",
            {"torch": "nn.LayerNorm", "tensorflow": "layers.LayerNormalization", "jax": "nnx.LayerNorm"},
        ),
        Kind(
            "attention",
            "multi-head self-attention",
            {
                "torch": "nn.MultiheadAttention(batch_first=True)",
                "tensorflow": "layers.MultiHeadAttention",
                "jax": "nnx.MultiHeadAttention",
            },
        ),
        Kind(
            "gru",
            "GRU over a sequence (the RNN cell: GRU, whose gate order differs between frameworks)",
            {
                "torch": "nn.GRU(batch_first=True)",
                "tensorflow": "layers.GRU(return_sequences=True)",
                "jax": "nnx.RNN(nnx.GRUCell)",
            },
        ),
        Kind("embedding", "embedding", {"torch": "nn.Embedding", "tensorflow": "layers.Embedding", "jax": "nnx.Embed"}),
    )
}

#: Kinds of transformation. A layer kind ports *straightforwardly* when every pair needs only these: moving,
#: transposing, reshaping or slicing arrays (the data's NCHW/NHWC transpose included).
LAYOUT = {
    "transpose": "transpose an array",
    "reshape": "reshape an array (heads split out, biases stacked)",
    "split": "slice one array into several (fused projections)",
    "layout": "the data's NCHW/NHWC layout (a transpose of inputs and outputs)",
}
#: Kinds that take more than that: knowing a convention the arrays do not carry.
CONVENTION = {
    "epsilon": "a normalization's epsilon differs between the frameworks' defaults",
    "momentum": "running statistics' momentum convention (m against 1 - m); eval outputs do not depend on "
    "it, training resumed in the target does",
    "gelu": "GELU exact (erf) against its tanh approximation",
    "padding": "padding made explicit ('same' pads asymmetrically at stride 2, torch symmetrically)",
    "gate order": "recurrent gates in another order",
    "bias": "biases merged, moved or zero-filled where the target's cell has another bias layout",
    "custom layer": "the target's stock layer cannot hold the source's arrays: a part is swapped",
}
STEP_KINDS = {**LAYOUT, **CONVENTION}


def step_kind(step: str) -> str:
    """The kind of a transformation written as "kind: what was done"."""
    kind = step.split(":", 1)[0].strip()
    if kind not in STEP_KINDS:
        raise ValueError(f"unknown transformation kind {kind!r} in {step!r}; known: {', '.join(STEP_KINDS)}")
    return kind


def straightforward(steps: list[str]) -> bool:
    """True when every transformation is a layout one (no more than a reshape or transpose)."""
    return all(step_kind(s) in LAYOUT for s in steps)


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """The padding before and after that TensorFlow's and XLA's 'SAME' apply to one spatial dimension."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def data(kind: str, n: int, seed: int, sizes: Sizes = SIZES) -> tuple[np.ndarray, np.ndarray]:
    """Seeded synthetic (inputs, regression targets) for `kind`, channels-last: float32 inputs (int32 token ids for
    the embedding) and float32 targets of the layer's output shape. Batch norm's inputs are shifted and scaled so
    that its running statistics move away from their initial 0 and 1 while it trains."""
    rng = np.random.default_rng([seed, sorted(KINDS).index(kind)])
    s = sizes
    if kind == "dense":
        x, out = rng.normal(size=(n, s.features)), (n, s.features)
    elif kind == "conv2d":
        x = rng.normal(size=(n, s.image, s.image, s.channels))
        side = -(-s.image // s.stride)
        out = (n, side, side, s.channels)
    elif kind == "batchnorm":
        x, out = 1.5 + 2.0 * rng.normal(size=(n, s.norm_features)), (n, s.norm_features)
    elif kind == "layernorm":
        x, out = 0.5 + rng.normal(size=(n, s.features)), (n, s.features)
    elif kind == "attention":
        x, out = rng.normal(size=(n, s.seq, s.embed)), (n, s.seq, s.embed)
    elif kind == "gru":
        x, out = rng.normal(size=(n, s.seq, s.rnn_inputs)), (n, s.seq, s.hidden)
    elif kind == "embedding":
        return (
            rng.integers(0, s.vocab, size=(n, s.seq)).astype(np.int32),
            rng.normal(size=(n, s.seq, s.embed_features)).astype(np.float32),
        )
    else:
        raise ValueError(f"unknown layer kind {kind!r}; known: {', '.join(KINDS)}")
    return x.astype(np.float32), rng.normal(size=out).astype(np.float32)
