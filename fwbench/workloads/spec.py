"""The framework-neutral contract every workload follows, and the float64 NumPy helpers its reference uses.

A workload is defined once, here and in its family's module (mlp.py, cnn.py,
transformer.py, rnn.py): parameter shapes, initial weights as NumPy arrays
from a fixed seed, synthetic data from a fixed seed, and a float64 NumPy
forward pass and loss. Every framework adapter builds the model from the same
arrays, so all frameworks start identical and can be checked against the
reference.

Conventions shared by all workloads:

* weights are a flat dict ``{"layer/part": array}`` in one neutral layout:
  dense weights (fan_in, fan_out), conv weights HWIO, data NHWC;
* weight and data values are float32-representable whatever ``dtype`` says, so
  a float64 copy of a spec (``dataclasses.replace(spec, dtype="float64")``)
  starts from exactly the same numbers, computed in higher precision;
* the loss is the mean softmax cross-entropy over integer labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

PHASES = ("train", "infer")

#: Epsilon of every batch-norm and layer-norm, in every framework.
NORM_EPS = 1e-5
#: Batch-norm running-statistics momentum (torch convention: new = (1 - m) * old + m * batch).
BN_MOMENTUM = 0.1


@dataclass(frozen=True)
class WorkloadSpec:
    """Fields and methods every workload has; a family subclass supplies shapes, init and forward."""

    name: str = field(default="", metadata={"help": "workload name used in profiles and records"})
    family: str = field(default="", metadata={"help": "model family: mlp, cnn, transformer or rnn"})
    n_classes: int = field(default=10, metadata={"help": "number of classes of the softmax cross-entropy head"})
    lr: float = field(default=0.01, metadata={"help": "plain SGD learning rate"})
    dtype: str = field(default="float32", metadata={"help": "parameter and activation dtype"})
    seed: int = field(default=0, metadata={"help": "seed for initial weights and synthetic data"})
    loss_rtol_after_steps: float = field(
        default=1e-3,
        metadata={
            "help": "allowed relative spread of the training loss between frameworks (and vs a float64 run) "
            "during the first 5 SGD steps on one batch; looser than the first-step check because "
            "float32 rounding differences grow through the updates"
        },
    )

    # -- supplied by each family ------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample (without the batch dimension)."""
        raise NotImplementedError

    @property
    def size_label(self) -> str:
        """Short label of the model size within its family, for charts (e.g. 'h512')."""
        raise NotImplementedError

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every trainable array, in the order init_weights() draws them."""
        raise NotImplementedError

    def _init(self, rng: np.random.Generator, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Initial float64 values of one weight matrix or kernel (rounded to float32 afterwards).

        Biases, batch/layer-norm scales and offsets never reach this: init_weights() sets them.
        """
        raise NotImplementedError

    def forward_flops(self) -> int:
        """Multiply-add FLOPs (2 per MAC) of the matmuls and convolutions of one sample's forward pass."""
        raise NotImplementedError

    def reference_output(self, weights: dict[str, np.ndarray], x: np.ndarray, training: bool = False) -> np.ndarray:
        """Logits in float64 NumPy: the ground truth every framework is checked against.

        ``training=False`` is what an inference step computes (for batch norm:
        the running statistics of a fresh model, mean 0 and variance 1);
        ``training=True`` is the forward of a training step (batch statistics).
        """
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------------------
    def bn_names(self) -> list[str]:
        """Prefixes of the batch norms, which own running statistics besides their weights (none by default)."""
        return []

    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        return sum(math.prod(shape) for shape in self.param_shapes().values())

    def flops_per_sample(self, phase: str) -> int:
        """Approximate FLOPs per sample of matmul/conv work; training counts forward plus twice that for backward."""
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
        return self.forward_flops() * (3 if phase == "train" else 1)

    def init_weights(self) -> dict[str, np.ndarray]:
        """Initial weights, deterministic in `seed`. The same arrays go into every framework."""
        rng = np.random.default_rng(self.seed)
        weights = {}
        for name, shape in self.param_shapes().items():
            value = _constant_init(name, shape)
            if value is None:
                value = self._init(rng, name, shape)
            weights[name] = value.astype(np.float32).astype(self.dtype)
        return weights

    def batch(self, batch_size: int, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Synthetic inputs (standard normal) and int64 labels, reproducible per (seed, index)."""
        rng = np.random.default_rng([self.seed, 1, index])
        x = rng.standard_normal((batch_size, *self.input_shape)).astype(np.float32).astype(self.dtype)
        y = rng.integers(0, self.n_classes, size=(batch_size,)).astype(np.int64)
        return x, y

    def reference_loss(
        self, weights: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, training: bool = True
    ) -> float:
        """Mean softmax cross-entropy in float64, by default of the training-mode forward (a train step's loss)."""
        return softmax_cross_entropy(self.reference_output(weights, x, training=training), y)


# -- float64 NumPy building blocks of the references ---------------------------------------------------------


def _constant_init(name: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """Norm scales start at one, biases and norm offsets at zero; None for arrays drawn at random."""
    if name.endswith("/gamma"):
        return np.ones(shape, dtype=np.float32)
    if name.endswith(("/beta", "/b")):
        return np.zeros(shape, dtype=np.float32)
    return None


def f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())


def dense(x: np.ndarray, weights: dict, prefix: str, bias: bool = True) -> np.ndarray:
    out = x @ f64(weights[f"{prefix}/w"])
    return out + f64(weights[f"{prefix}/b"]) if bias else out
