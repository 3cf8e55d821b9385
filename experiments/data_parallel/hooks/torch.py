"""PyTorch: torch.distributed with the gloo backend (TCP on loopback) and DistributedDataParallel over the mlp."""

from __future__ import annotations

import os
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from fwbench.frameworks import get_adapter

API = "torch.distributed (gloo) + DistributedDataParallel"


def configure(threads: int) -> dict:
    return get_adapter("torch").configure(threads)


def init_group(rank: int, world: int, ports: list[int], timeout_s: float) -> dict:
    """Start the process group: rank 0 hosts the TCP store on ports[0]; gloo opens its own pairs on loopback."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(ports[0]), GLOO_SOCKET_IFNAME="lo")
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=timedelta(seconds=timeout_s))
    return {"backend": dist.get_backend(), "world": dist.get_world_size()}


def all_reduce(group, array: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(array.copy())
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.numpy()


class Trainer:
    """The adapter's mlp module; wrapped in DDP (gradients averaged by its bucketed all-reduce in backward) when the
    group has more than one process, plain otherwise. torch.optim.SGD(foreach=True), as the adapter's eager step."""

    def __init__(self, spec, group, world: int):
        self.model = get_adapter("torch").build(spec, "cpu")
        module = self.model["module"]
        self.net = torch.nn.parallel.DistributedDataParallel(module) if world > 1 else module
        self.optimizer = torch.optim.SGD(module.parameters(), lr=spec.lr, foreach=True)
        self.timed = (
            "DDP forward, loss.backward() with DDP's gradient all-reduce (bucketed, overlapped with "
            "backward), SGD(foreach) update; eager"
            if world > 1
            else "forward, loss.backward(), SGD(foreach) update; eager"
        )

    def prepare(self, x: np.ndarray, y: np.ndarray):
        """This rank's slice as tensors, made before the clock starts (as every framework's is)."""
        return torch.from_numpy(x), torch.from_numpy(y)

    def step(self, batch) -> float:
        x, y = batch
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.net(x, True), y)
        loss.backward()  # DDP waits for its all-reduce before backward returns: the step is synchronized on CPU
        self.optimizer.step()
        return float(loss.detach())

    def weights(self) -> dict[str, np.ndarray]:
        return get_adapter("torch").weights(self.model)


def shutdown(group) -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
