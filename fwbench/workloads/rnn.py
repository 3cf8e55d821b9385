"""Elman (tanh) RNN unrolled over a sequence; the last hidden state feeds a dense classifier."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fwbench.workloads.spec import WorkloadSpec, dense, f64


@dataclass(frozen=True)
class RNNSpec(WorkloadSpec):
    """h_t = tanh(x_t @ W_ih + h_{t-1} @ W_hh + b), h_0 = 0; logits = h_T @ W + b.

    Inputs are float (batch, seq_len, n_inputs). Weights: ``rnn/w_ih``
    (n_inputs, hidden) Glorot-uniform, ``rnn/w_hh`` (hidden, hidden) uniform
    +-1/sqrt(hidden) (torch's RNN default), ``rnn/b`` zeros, ``head/w``
    Glorot-uniform, ``head/b`` zeros. Eager variants loop over time steps in
    Python; graph variants use the framework's own loop (torch.compile unrolls
    the Python loop, TF a tf.while_loop from autograph, JAX lax.scan).
    """

    name: str = field(default="rnn", metadata={"help": "workload name used in profiles and records"})
    family: str = field(default="rnn", metadata={"help": "model family: mlp, cnn, transformer or rnn"})
    seq_len: int = field(default=64, metadata={"help": "time steps"})
    n_inputs: int = field(default=32, metadata={"help": "input features per time step"})
    hidden: int = field(default=128, metadata={"help": "hidden state width"})
    lr: float = field(default=0.05, metadata={"help": "plain SGD learning rate"})
    loss_rtol_after_steps: float = field(
        default=1e-3,
        metadata={
            "help": "allowed relative spread of the training loss between frameworks (and vs a float64 run) "
            "during the first 5 SGD steps on one batch (measured: <= 5e-7 at batch 4 and 8)"
        },
    )

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.seq_len, self.n_inputs)

    @property
    def size_label(self) -> str:
        return f"h{self.hidden}"

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "rnn/w_ih": (self.n_inputs, self.hidden),
            "rnn/w_hh": (self.hidden, self.hidden),
            "rnn/b": (self.hidden,),
            "head/w": (self.hidden, self.n_classes),
            "head/b": (self.n_classes,),
        }

    def _init(self, rng, name, shape):
        if name == "rnn/w_hh":
            bound = 1.0 / np.sqrt(self.hidden)
        else:
            bound = np.sqrt(6.0 / (shape[0] + shape[1]))
        return rng.uniform(-bound, bound, size=shape)

    def forward_flops(self) -> int:
        step = 2 * self.n_inputs * self.hidden + 2 * self.hidden * self.hidden
        return self.seq_len * step + 2 * self.hidden * self.n_classes

    def reference_output(self, weights, x, training=False):
        x = f64(x)
        w_ih, w_hh, b = f64(weights["rnn/w_ih"]), f64(weights["rnn/w_hh"]), f64(weights["rnn/b"])
        h = np.zeros((x.shape[0], self.hidden))
        for t in range(self.seq_len):
            h = np.tanh(x[:, t] @ w_ih + h @ w_hh + b)
        return dense(h, weights, "head")
