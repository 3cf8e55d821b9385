"""Multi-layer perceptron: dense layers with ReLU between them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fwbench.workloads.spec import WorkloadSpec, dense, f64


@dataclass(frozen=True)
class MLPSpec(WorkloadSpec):
    """Dense layers of the given widths, ReLU between them, softmax cross-entropy on top.

    Weights: ``dense{i}/w`` (fan_in, fan_out), He-uniform; ``dense{i}/b`` zeros.
    """

    name: str = field(default="mlp", metadata={"help": "workload name used in profiles and records"})
    family: str = field(default="mlp", metadata={"help": "model family: mlp, cnn, transformer or rnn"})
    sizes: tuple[int, ...] = field(
        default=(784, 512, 512, 10), metadata={"help": "layer widths, input first, classes last"}
    )
    n_classes: int = field(default=10, metadata={"help": "number of classes; must equal sizes[-1]"})
    loss_rtol_after_steps: float = field(
        default=1e-4,
        metadata={
            "help": "allowed relative spread of the training loss between frameworks (and vs a float64 run) "
            "during the first 5 SGD steps on one batch; ReLU dense layers stay nearly as close as at the "
            "first step (measured: <= 2e-6 at batch 4 to 64, widths 128 to 4096)"
        },
    )

    def __post_init__(self):
        if self.sizes[-1] != self.n_classes:
            raise ValueError(f"MLPSpec.sizes must end in n_classes={self.n_classes}, got {self.sizes}")

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.sizes[0],)

    @property
    def n_inputs(self) -> int:
        return self.sizes[0]

    @property
    def width(self) -> int:
        """Widest hidden layer (the sweep's x axis)."""
        return max(self.sizes[1:-1], default=self.sizes[0])

    @property
    def size_label(self) -> str:
        return f"h{self.width}"

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = {}
        for i, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            shapes[f"dense{i}/w"] = (fan_in, fan_out)
            shapes[f"dense{i}/b"] = (fan_out,)
        return shapes

    def _init(self, rng, name, shape):
        return rng.uniform(-np.sqrt(6.0 / shape[0]), np.sqrt(6.0 / shape[0]), size=shape)  # He-uniform, for ReLU

    def forward_flops(self) -> int:
        return sum(2 * a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    def reference_output(self, weights, x, training=False):
        h = f64(x)
        for i in range(self.n_layers):
            h = dense(h, weights, f"dense{i}")
            if i < self.n_layers - 1:
                h = np.maximum(h, 0.0)
        return h
