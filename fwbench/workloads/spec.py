"""Framework-neutral description of a workload: layer shapes, initial weights, synthetic data, reference loss."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class MLPSpec:
    """A multi-layer perceptron with ReLU between dense layers and softmax cross-entropy on top."""

    name: str = field(default="mlp", metadata={"help": "workload name used in profiles and records"})
    sizes: tuple[int, ...] = field(default=(784, 512, 512, 10), metadata={"help": "layer widths, input first"})
    lr: float = field(default=0.01, metadata={"help": "plain SGD learning rate"})
    dtype: str = field(default="float32", metadata={"help": "parameter and activation dtype"})
    seed: int = field(default=0, metadata={"help": "seed for initial weights and synthetic data"})

    @property
    def n_inputs(self) -> int:
        return self.sizes[0]

    @property
    def n_classes(self) -> int:
        return self.sizes[-1]

    def init_weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Initial (W, b) per layer; W is (fan_in, fan_out). The same arrays go into every framework."""
        rng = np.random.default_rng(self.seed)
        layers = []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            bound = np.sqrt(6.0 / fan_in)  # He-uniform, suited to ReLU
            w = rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(self.dtype)
            b = np.zeros((fan_out,), dtype=self.dtype)
            layers.append((w, b))
        return layers

    def batch(self, batch_size: int, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Synthetic inputs (standard normal) and integer labels, reproducible per (seed, index)."""
        rng = np.random.default_rng([self.seed, 1, index])
        x = rng.standard_normal((batch_size, self.n_inputs)).astype(self.dtype)
        y = rng.integers(0, self.n_classes, size=(batch_size,)).astype(np.int64)
        return x, y

    def flops_per_sample(self, phase: str) -> int:
        """Multiply-add FLOPs of the dense layers; training counts forward plus twice that for backward."""
        forward = sum(2 * a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))
        return forward * (3 if phase == "train" else 1)


def reference_logits(layers, x: np.ndarray) -> np.ndarray:
    """Forward pass in float64 NumPy: the ground truth every framework is checked against."""
    h = x.astype(np.float64)
    for i, (w, b) in enumerate(layers):
        h = h @ w.astype(np.float64) + b.astype(np.float64)
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h


def reference_loss(layers, x: np.ndarray, y: np.ndarray) -> float:
    """Mean softmax cross-entropy in float64."""
    logits = reference_logits(layers, x)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())
