"""torch.nn's layers for the porting experiment: built, trained, run in eval mode, their arrays read and written."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from fwbench.experiments.porting.layers import SIZES, Sizes

#: The arrays of each kind in the order a reader lines them up with another framework's (state_dict names).
NAMES = {
    "dense": ["0.weight", "0.bias"],
    "conv2d": ["weight", "bias"],
    "batchnorm": ["weight", "bias", "running_mean", "running_var"],
    "layernorm": ["weight", "bias"],
    "attention": ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"],
    "gru": ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"],
    "embedding": ["weight"],
}


def build(kind: str, seed: int, sizes: Sizes = SIZES, **settings) -> nn.Module:
    """The idiomatic layer, with torch's defaults unless `settings` says otherwise (eps, momentum, gelu_approximate,
    pad: ((top, bottom), (left, right)))."""
    torch.manual_seed(seed)
    s = sizes
    if kind == "dense":
        return nn.Sequential(
            nn.Linear(s.features, s.features),
            nn.GELU(approximate="tanh" if settings.get("gelu_approximate") else "none"),
        )
    if kind == "conv2d":
        (top, bottom), (left, right) = settings.get("pad") or ((s.kernel // 2,) * 2,) * 2
        if top == bottom == left == right:
            return nn.Conv2d(s.channels, s.channels, s.kernel, stride=s.stride, padding=top)
        # torch's Conv2d pads symmetrically only: an asymmetric pad is a layer of its own in front.
        return nn.Sequential(
            nn.ZeroPad2d((left, right, top, bottom)),
            nn.Conv2d(s.channels, s.channels, s.kernel, stride=s.stride, padding=0),
        )
    if kind == "batchnorm":
        return nn.BatchNorm1d(s.norm_features, eps=settings.get("eps", 1e-5), momentum=settings.get("momentum", 0.1))
    if kind == "layernorm":
        return nn.LayerNorm(s.features, eps=settings.get("eps", 1e-5))
    if kind == "attention":
        return nn.MultiheadAttention(s.embed, s.heads, batch_first=True)
    if kind == "gru":
        return nn.GRU(s.rnn_inputs, s.hidden, batch_first=True)
    if kind == "embedding":
        return nn.Embedding(s.vocab, s.embed_features)
    raise ValueError(f"unknown layer kind {kind!r}")


def _conv(layer: nn.Module) -> nn.Conv2d:
    return layer[-1] if isinstance(layer, nn.Sequential) else layer


def _call(kind: str, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if kind == "conv2d":  # torch is channels-first: the data is transposed in and out
        return layer(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    if kind == "attention":
        return layer(x, x, x, need_weights=False)[0]
    if kind == "gru":
        return layer(x)[0]
    return layer(x)


def _tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))


def train(kind: str, layer: nn.Module, x: np.ndarray, target: np.ndarray, steps: int, lr: float) -> list[float]:
    """`steps` plain SGD steps on the mean squared error, in training mode (batch norm's statistics move)."""
    layer.train()
    opt = torch.optim.SGD(layer.parameters(), lr=lr)
    xs, ts, losses = _tensor(x), _tensor(target), []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.mean((_call(kind, layer, xs) - ts) ** 2)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def forward(kind: str, layer: nn.Module, x: np.ndarray) -> np.ndarray:
    layer.eval()
    with torch.no_grad():
        return _call(kind, layer, _tensor(x)).numpy().copy()


def _tensors(kind: str, layer: nn.Module) -> dict[str, torch.Tensor]:
    found = {**dict(layer.named_parameters()), **dict(layer.named_buffers())}
    if kind == "conv2d":
        conv = _conv(layer)
        found = {"weight": conv.weight, "bias": conv.bias}
    return {name: found[name] for name in NAMES[kind]}


def arrays(kind: str, layer: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in _tensors(kind, layer).items()}


def assign(kind: str, layer: nn.Module, values: dict[str, np.ndarray]) -> None:
    tensors = _tensors(kind, layer)
    with torch.no_grad():
        for name, value in values.items():
            if tuple(tensors[name].shape) != tuple(value.shape):
                raise ValueError(f"{name}: shape {tuple(value.shape)} does not fit {tuple(tensors[name].shape)}")
            tensors[name].copy_(_tensor(np.asarray(value, dtype=np.float32)))


def settings(kind: str, layer: nn.Module, sizes: Sizes = SIZES) -> dict:
    """What else defines the layer's function or training, in torch's own conventions."""
    if kind == "dense":
        return {"gelu_approximate": layer[1].approximate == "tanh"}
    if kind == "conv2d":
        if isinstance(layer, nn.Sequential):
            left, right, top, bottom = layer[0].padding
            return {"pad": ((top, bottom), (left, right))}
        p = layer.padding[0]
        return {"pad": ((p, p), (p, p))}
    if kind == "batchnorm":
        return {"eps": layer.eps, "momentum": layer.momentum}
    if kind == "attention":
        return {"heads": layer.num_heads}
    if kind == "layernorm":
        return {"eps": layer.eps}
    return {}
