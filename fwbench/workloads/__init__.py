"""Registry of workloads by name; each is a framework-neutral spec (see fwbench.workloads.spec)."""

from __future__ import annotations

from fwbench.workloads.cnn import CNNSpec
from fwbench.workloads.mlp import MLPSpec
from fwbench.workloads.rnn import RNNSpec
from fwbench.workloads.spec import WorkloadSpec
from fwbench.workloads.transformer import TransformerSpec

#: Hidden widths of the MLP size sweep (workloads mlp_h{width}, sizes (784, width, width, 10)).
MLP_SWEEP_WIDTHS = (128, 256, 512, 1024, 2048, 4096)

WORKLOADS: dict[str, WorkloadSpec] = {
    "mlp": MLPSpec(),
    "cnn": CNNSpec(),
    "transformer": TransformerSpec(),
    "rnn": RNNSpec(),
    # Sizes people train: ResNet-18's stages (without the ImageNet 7x7 stem and max-pool) on 64x64 inputs,
    # and two GPT-2-small-sized causal blocks (d_model 768, 12 heads, MLP 3072) over 128 positions.
    "resnet18": CNNSpec(name="resnet18", image_size=64, channels=(64, 128, 256, 512), blocks_per_stage=2),
    "gpt2_small": TransformerSpec(
        name="gpt2_small", seq_len=128, d_model=768, n_heads=12, d_mlp=3072, n_layers=2, causal=True
    ),
    **{f"mlp_h{w}": MLPSpec(name=f"mlp_h{w}", sizes=(784, w, w, 10)) for w in MLP_SWEEP_WIDTHS},
}

__all__ = [
    "WORKLOADS",
    "get_workload",
    "WorkloadSpec",
    "MLPSpec",
    "CNNSpec",
    "TransformerSpec",
    "RNNSpec",
    "MLP_SWEEP_WIDTHS",
]


def get_workload(name: str) -> WorkloadSpec:
    try:
        return WORKLOADS[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(sorted(WORKLOADS))}") from None
