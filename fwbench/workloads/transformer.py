"""Stacked pre-norm transformer blocks (optionally causal) over a synthetic float sequence, pooled into a classifier."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import erf

from fwbench.workloads.spec import NORM_EPS, WorkloadSpec, dense, f64


@dataclass(frozen=True)
class TransformerSpec(WorkloadSpec):
    """``n_layers`` blocks of x + MHA(LN(x)), x + MLP(LN(x)) (exact erf GELU); mean over the sequence; dense head.

    Inputs are float (batch, seq_len, d_model), no embedding. Attention is
    written out from matmuls in every framework: q/k/v/out projections with
    biases (``attn/{q,k,v,out}/{w,b}``, w (d_model, d_model)), heads split
    from the last dimension, softmax(q k^T / sqrt(d_head)) v. Layer norms
    (``ln1``, ``ln2``: gamma ones, beta zeros) use eps 1e-5 and the biased
    variance. Dense weights are Glorot-uniform, biases zeros.

    Every name of block ``i`` starts with ``layer_prefixes()[i]``: "" for one
    layer (so ``ln1/gamma``, ``attn/q/w``, ...), ``layer{i}/`` for more
    (``layer0/ln1/gamma``, ...); ``head/{w,b}`` appears once, after the last
    block. An adapter loops ``for p in spec.layer_prefixes(): x = block(x, p)``
    and reads ``f"{p}ln1/gamma"`` and so on.

    With ``causal`` the scores of query i at keys j > i are replaced by -inf
    before the softmax (``np.where(j <= i, scores, -inf)``, not a large
    negative constant added), so their probabilities are exactly 0; the max
    subtracted for the softmax is then over the allowed keys (i itself is
    always allowed, so it is finite).
    """

    name: str = field(default="transformer", metadata={"help": "workload name used in profiles and records"})
    family: str = field(default="transformer", metadata={"help": "model family: mlp, cnn, transformer or rnn"})
    seq_len: int = field(default=128, metadata={"help": "sequence length"})
    d_model: int = field(default=256, metadata={"help": "model (and input feature) width"})
    n_heads: int = field(default=4, metadata={"help": "attention heads; d_model must divide evenly"})
    d_mlp: int = field(default=1024, metadata={"help": "hidden width of the MLP sub-block"})
    n_layers: int = field(default=1, metadata={"help": "transformer blocks stacked before the pooling and head"})
    causal: bool = field(
        default=False,
        metadata={
            "help": "mask attention to later positions (decoder style): scores at keys j > i become -inf before softmax"
        },
    )
    lr: float = field(default=0.01, metadata={"help": "plain SGD learning rate"})
    loss_rtol_after_steps: float = field(
        default=1e-3,
        metadata={
            "help": "allowed relative spread of the training loss between frameworks (and vs a float64 run) "
            "during the first 5 SGD steps on one batch (measured: <= 1.2e-7 at batch 4 and 8)"
        },
    )

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if self.n_layers < 1:
            raise ValueError(f"n_layers must be at least 1, got {self.n_layers}")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.seq_len, self.d_model)

    @property
    def size_label(self) -> str:
        return f"d{self.d_model}" if self.n_layers == 1 else f"d{self.d_model}-l{self.n_layers}"

    def layer_prefixes(self) -> list[str]:
        """Name prefix of each block's weights, in forward order: [""] for one layer, else ["layer0/", ...]."""
        # One layer keeps the unprefixed names of the original "transformer" workload.
        return [""] if self.n_layers == 1 else [f"layer{i}/" for i in range(self.n_layers)]

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        d, f = self.d_model, self.d_mlp
        shapes = {}
        for p in self.layer_prefixes():
            shapes.update({f"{p}ln1/gamma": (d,), f"{p}ln1/beta": (d,)})
            for part in ("q", "k", "v", "out"):
                shapes.update({f"{p}attn/{part}/w": (d, d), f"{p}attn/{part}/b": (d,)})
            shapes.update(
                {
                    f"{p}ln2/gamma": (d,),
                    f"{p}ln2/beta": (d,),
                    f"{p}mlp/fc1/w": (d, f),
                    f"{p}mlp/fc1/b": (f,),
                    f"{p}mlp/fc2/w": (f, d),
                    f"{p}mlp/fc2/b": (d,),
                }
            )
        shapes.update({"head/w": (d, self.n_classes), "head/b": (self.n_classes,)})
        return shapes

    def _init(self, rng, name, shape):
        bound = np.sqrt(6.0 / (shape[0] + shape[1]))  # Glorot-uniform
        return rng.uniform(-bound, bound, size=shape)

    def forward_flops(self) -> int:
        t, d, f = self.seq_len, self.d_model, self.d_mlp
        projections = 4 * 2 * t * d * d
        # Scores and the weighted sum of values, over all heads; counted in full also when causal, because
        # the frameworks compute the whole score matrix and mask it afterwards.
        attention = 2 * 2 * t * t * d
        mlp = 2 * 2 * t * d * f
        return self.n_layers * (projections + attention + mlp) + 2 * d * self.n_classes

    def reference_output(self, weights, x, training=False):
        return dense(self.reference_states(weights, x).mean(axis=1), weights, "head")

    def reference_states(self, weights, x) -> np.ndarray:
        """Float64 per-position outputs (batch, seq_len, d_model) of the last block, before pooling and head."""
        w = weights
        b, t, d, nh, dh = x.shape[0], self.seq_len, self.d_model, self.n_heads, self.d_head

        def layer_norm(h, prefix):
            mean = h.mean(axis=-1, keepdims=True)
            var = h.var(axis=-1, keepdims=True)
            return (h - mean) / np.sqrt(var + NORM_EPS) * f64(w[f"{prefix}/gamma"]) + f64(w[f"{prefix}/beta"])

        def heads(h):
            return h.reshape(b, t, nh, dh).transpose(0, 2, 1, 3)

        allowed = np.tril(np.ones((t, t), dtype=bool))  # query i may attend to keys j <= i
        x = f64(x)
        for p in self.layer_prefixes():
            h = layer_norm(x, f"{p}ln1")
            q, k, v = (heads(dense(h, w, f"{p}attn/{part}")) for part in ("q", "k", "v"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh)
            if self.causal:
                scores = np.where(allowed, scores, -np.inf)  # exp(-inf) = 0: masked keys get probability exactly 0
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            probs = scores / scores.sum(axis=-1, keepdims=True)
            attended = (probs @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
            x = x + dense(attended, w, f"{p}attn/out")
            h = dense(layer_norm(x, f"{p}ln2"), w, f"{p}mlp/fc1")
            h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))  # exact GELU
            x = x + dense(h, w, f"{p}mlp/fc2")
        return x
