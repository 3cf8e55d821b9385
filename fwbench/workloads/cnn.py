"""ResNet-style convolutional networks on square images (NHWC), from a small 3-block one to ResNet-18."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from fwbench.workloads.spec import NORM_EPS, WorkloadSpec, dense, f64


class Block(NamedTuple):
    """One residual block: conv3x3(stride)-BN-ReLU-conv3x3-BN, plus the skip, then ReLU."""

    prefix: str
    c_in: int
    c_out: int
    stride: int
    projection: bool  # 1x1 conv (stride `stride`, no padding) + BN on the skip, where channels or stride change


@dataclass(frozen=True)
class CNNSpec(WorkloadSpec):
    """ResNet-style CNN: stem conv3x3-BN-ReLU, stages of residual blocks, global average pooling, dense head.

    Stage i has ``blocks_per_stage`` blocks of ``channels[i]`` channels; the
    first block of every stage but the first has stride 2, and a block whose
    channels or stride change gets a projection skip. Block prefixes are
    ``block{i}`` with one block per stage (the original 3-block "cnn") and
    ``stage{i}/block{j}`` otherwise. The stem has stride 1 and no max-pool, so
    the first stage runs at full input resolution (unlike ImageNet ResNets).

    Layouts: data NHWC, conv weights HWIO (``*/conv*/w``, ``*/proj/w``), no conv
    bias (batch norm follows every conv). Every 3x3 conv pads 1 pixel on each
    side explicitly, also at stride 2 (TF's 'SAME' would pad 0 before and 1
    after on even inputs, torch's padding=1 pads 1 on both sides); 1x1
    projections use no padding. Batch norm: ``*/gamma`` ones, ``*/beta`` zeros,
    eps 1e-5; a training step normalizes with the batch statistics (biased
    variance) and updates running statistics in every framework the torch way
    (momentum 0.1, unbiased batch variance); inference uses the running
    statistics. Weights are He-uniform (fan_in = kh*kw*c_in), head bias zeros.
    """

    name: str = field(default="cnn", metadata={"help": "workload name used in profiles and records"})
    family: str = field(default="cnn", metadata={"help": "model family: mlp, cnn, transformer or rnn"})
    image_size: int = field(default=32, metadata={"help": "input height and width"})
    in_channels: int = field(default=3, metadata={"help": "input channels"})
    channels: tuple[int, ...] = field(
        default=(16, 32, 64),
        metadata={
            "help": "channels of each stage of residual blocks; the stem has channels[0]; "
            "the first block of every stage after the first uses stride 2"
        },
    )
    blocks_per_stage: int = field(
        default=1,
        metadata={"help": "residual blocks per entry of channels (2 with channels (64, 128, 256, 512) is ResNet-18)"},
    )
    lr: float = field(default=0.05, metadata={"help": "plain SGD learning rate"})
    loss_rtol_after_steps: float = field(
        default=1e-3,
        metadata={
            "help": "allowed relative spread of the training loss between frameworks (and vs a float64 run) "
            "during the first 5 SGD steps on one batch; batch norm over small batches amplifies float32 "
            "rounding differences (measured: 1.1e-4 at batch 4, 7e-6 at batch 8, 4e-6 at batch 64)"
        },
    )

    def __post_init__(self):
        if self.blocks_per_stage < 1:
            raise ValueError(f"blocks_per_stage must be at least 1, got {self.blocks_per_stage}")

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.image_size, self.image_size, self.in_channels)

    @property
    def size_label(self) -> str:
        label = "c" + "-".join(map(str, self.channels))
        return label if self.blocks_per_stage == 1 else f"{label}x{self.blocks_per_stage}"

    def blocks(self) -> list[Block]:
        """The residual blocks in forward order."""
        out, c_in = [], self.channels[0]
        for i, c in enumerate(self.channels):
            for j in range(self.blocks_per_stage):
                stride = 2 if i > 0 and j == 0 else 1
                # One block per stage keeps the prefixes (and so the weight names) of the original "cnn" workload.
                prefix = f"block{i}" if self.blocks_per_stage == 1 else f"stage{i}/block{j}"
                out.append(Block(prefix, c_in, c, stride, stride != 1 or c_in != c))
                c_in = c
        return out

    def bn_names(self) -> list[str]:
        """Prefixes of the batch norms (``{prefix}/gamma``, ``{prefix}/beta``), which also own running statistics."""
        names = ["stem/bn"]
        for b in self.blocks():
            names += [f"{b.prefix}/bn1", f"{b.prefix}/bn2"] + ([f"{b.prefix}/proj_bn"] if b.projection else [])
        return names

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        c0 = self.channels[0]
        shapes = {"stem/conv/w": (3, 3, self.in_channels, c0), "stem/bn/gamma": (c0,), "stem/bn/beta": (c0,)}
        for b in self.blocks():
            p = b.prefix
            shapes.update(
                {
                    f"{p}/conv1/w": (3, 3, b.c_in, b.c_out),
                    f"{p}/bn1/gamma": (b.c_out,),
                    f"{p}/bn1/beta": (b.c_out,),
                    f"{p}/conv2/w": (3, 3, b.c_out, b.c_out),
                    f"{p}/bn2/gamma": (b.c_out,),
                    f"{p}/bn2/beta": (b.c_out,),
                }
            )
            if b.projection:
                shapes.update(
                    {
                        f"{p}/proj/w": (1, 1, b.c_in, b.c_out),
                        f"{p}/proj_bn/gamma": (b.c_out,),
                        f"{p}/proj_bn/beta": (b.c_out,),
                    }
                )
        shapes.update({"head/w": (self.channels[-1], self.n_classes), "head/b": (self.n_classes,)})
        return shapes

    def _init(self, rng, name, shape):
        fan_in = int(np.prod(shape[:-1]))
        return rng.uniform(-np.sqrt(6.0 / fan_in), np.sqrt(6.0 / fan_in), size=shape)

    def forward_flops(self) -> int:
        size, flops = self.image_size, 2 * self.image_size**2 * 9 * self.in_channels * self.channels[0]
        for b in self.blocks():
            size = -(-size // b.stride)
            flops += 2 * size * size * 9 * (b.c_in * b.c_out + b.c_out * b.c_out)
            if b.projection:
                flops += 2 * size * size * b.c_in * b.c_out
        return flops + 2 * self.channels[-1] * self.n_classes

    def reference_output(self, weights, x, training=False):
        w = weights

        def bn(h, prefix):
            if training:
                mean, var = h.mean(axis=(0, 1, 2)), h.var(axis=(0, 1, 2))
            else:  # a fresh model's running statistics
                mean, var = np.zeros(h.shape[-1]), np.ones(h.shape[-1])
            return (h - mean) / np.sqrt(var + NORM_EPS) * f64(w[f"{prefix}/gamma"]) + f64(w[f"{prefix}/beta"])

        relu = lambda h: np.maximum(h, 0.0)  # noqa: E731
        h = relu(bn(conv2d(f64(x), f64(w["stem/conv/w"]), 1, 1), "stem/bn"))
        for b in self.blocks():
            p = b.prefix
            r = relu(bn(conv2d(h, f64(w[f"{p}/conv1/w"]), b.stride, 1), f"{p}/bn1"))
            r = bn(conv2d(r, f64(w[f"{p}/conv2/w"]), 1, 1), f"{p}/bn2")
            skip = bn(conv2d(h, f64(w[f"{p}/proj/w"]), b.stride, 0), f"{p}/proj_bn") if b.projection else h
            h = relu(r + skip)
        return dense(h.mean(axis=(1, 2)), w, "head")


def conv2d(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """NHWC x HWIO convolution with `pad` zeros on every side, in float64."""
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    kh, kw = w.shape[:2]
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]  # (N, H', W', C, kh, kw)
    return np.tensordot(windows, w, axes=([3, 4, 5], [2, 0, 1]))
