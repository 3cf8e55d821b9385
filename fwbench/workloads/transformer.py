"""One pre-norm transformer encoder block over a synthetic float sequence, mean-pooled into a classifier."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import erf

from fwbench.workloads.spec import NORM_EPS, WorkloadSpec, dense, f64


@dataclass(frozen=True)
class TransformerSpec(WorkloadSpec):
    """x + MHA(LN(x)), then x + MLP(LN(x)) with exact (erf) GELU; mean over the sequence; dense head.

    Inputs are float (batch, seq_len, d_model), no embedding. Attention is
    written out from matmuls in every framework: q/k/v/out projections with
    biases (``attn/{q,k,v,out}/{w,b}``, w (d_model, d_model)), heads split
    from the last dimension, softmax(q k^T / sqrt(d_head)) v. Layer norms
    (``ln1``, ``ln2``: gamma ones, beta zeros) use eps 1e-5 and the biased
    variance. Dense weights are Glorot-uniform, biases zeros.
    """

    name: str = field(default="transformer", metadata={"help": "workload name used in profiles and records"})
    family: str = field(default="transformer", metadata={"help": "model family: mlp, cnn, transformer or rnn"})
    seq_len: int = field(default=128, metadata={"help": "sequence length"})
    d_model: int = field(default=256, metadata={"help": "model (and input feature) width"})
    n_heads: int = field(default=4, metadata={"help": "attention heads; d_model must divide evenly"})
    d_mlp: int = field(default=1024, metadata={"help": "hidden width of the MLP sub-block"})
    lr: float = field(default=0.01, metadata={"help": "plain SGD learning rate"})
    loss_rtol_after_steps: float = field(default=1e-3, metadata={
        "help": "allowed relative spread of the training loss between frameworks (and vs a float64 run) "
                "during the first 5 SGD steps on one batch (measured: <= 1.2e-7 at batch 4 and 8)"})

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.seq_len, self.d_model)

    @property
    def size_label(self) -> str:
        return f"d{self.d_model}"

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        d, f = self.d_model, self.d_mlp
        shapes = {"ln1/gamma": (d,), "ln1/beta": (d,)}
        for part in ("q", "k", "v", "out"):
            shapes.update({f"attn/{part}/w": (d, d), f"attn/{part}/b": (d,)})
        shapes.update({"ln2/gamma": (d,), "ln2/beta": (d,),
                       "mlp/fc1/w": (d, f), "mlp/fc1/b": (f,), "mlp/fc2/w": (f, d), "mlp/fc2/b": (d,),
                       "head/w": (d, self.n_classes), "head/b": (self.n_classes,)})
        return shapes

    def _init(self, rng, name, shape):
        bound = np.sqrt(6.0 / (shape[0] + shape[1]))  # Glorot-uniform
        return rng.uniform(-bound, bound, size=shape)

    def forward_flops(self) -> int:
        t, d, f = self.seq_len, self.d_model, self.d_mlp
        projections = 4 * 2 * t * d * d
        attention = 2 * 2 * t * t * d  # scores and the weighted sum of values, over all heads
        mlp = 2 * 2 * t * d * f
        return projections + attention + mlp + 2 * d * self.n_classes

    def reference_output(self, weights, x, training=False):
        w = weights
        b, t, d, nh, dh = x.shape[0], self.seq_len, self.d_model, self.n_heads, self.d_head

        def layer_norm(h, prefix):
            mean = h.mean(axis=-1, keepdims=True)
            var = h.var(axis=-1, keepdims=True)
            return (h - mean) / np.sqrt(var + NORM_EPS) * f64(w[f"{prefix}/gamma"]) + f64(w[f"{prefix}/beta"])

        def heads(h):
            return h.reshape(b, t, nh, dh).transpose(0, 2, 1, 3)

        x = f64(x)
        h = layer_norm(x, "ln1")
        q, k, v = (heads(dense(h, w, f"attn/{p}")) for p in ("q", "k", "v"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = scores / scores.sum(axis=-1, keepdims=True)
        attended = (probs @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
        x = x + dense(attended, w, "attn/out")
        h = dense(layer_norm(x, "ln2"), w, "mlp/fc1")
        h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))  # exact GELU
        x = x + dense(h, w, "mlp/fc2")
        return dense(x.mean(axis=1), w, "head")
