"""PyTorch adapter: eager modules and torch.compile."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from fwbench.frameworks.base import Adapter, DeviceUnavailable


class MLP(torch.nn.Module):
    def __init__(self, layers, device):
        super().__init__()
        self.linears = torch.nn.ModuleList()
        for w, b in layers:
            lin = torch.nn.Linear(w.shape[0], w.shape[1], device=device)
            with torch.no_grad():
                # torch stores Linear weights as (fan_out, fan_in): transpose the neutral (fan_in, fan_out).
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                lin.bias.copy_(torch.from_numpy(b))
            self.linears.append(lin)

    def forward(self, x):
        for i, lin in enumerate(self.linears):
            x = lin(x)
            if i < len(self.linears) - 1:
                x = F.relu(x)
        return x


class TorchAdapter(Adapter):
    name = "torch"
    distribution = "torch"
    variants = {"eager": "eager", "torch.compile": "graph"}

    def configure(self, threads: int) -> dict:
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # only settable once per process, before parallel work
            pass
        return {"intra_op_threads": torch.get_num_threads(), "inter_op_threads": torch.get_num_interop_threads()}

    def device_info(self, device: str) -> dict:
        if device == "cpu":
            return {"device_name": "cpu", "backend": torch.backends.cpu.get_cpu_capability()}
        if device == "cuda":
            if not torch.cuda.is_available():
                raise DeviceUnavailable("torch sees no CUDA device (CPU-only build or no GPU)")
            props = torch.cuda.get_device_properties(0)
            return {"device_name": props.name, "cuda": torch.version.cuda,
                    "device_memory_bytes": props.total_memory}
        raise DeviceUnavailable(f"torch adapter does not support device {device!r}")

    def build(self, spec, device: str):
        model = MLP(spec.init_weights(), device)
        return {"module": model, "lr": spec.lr, "device": device}

    def weights(self, model):
        return [(lin.weight.detach().cpu().numpy().T.copy(), lin.bias.detach().cpu().numpy().copy())
                for lin in model["module"].linears]

    def to_device(self, array, device):
        return torch.from_numpy(array).to(device)

    def train_step(self, model, variant):
        mode = self.check_variant(variant)
        module, lr = model["module"], model["lr"]
        params = list(module.parameters())

        def loss_fn(x, y):
            return F.cross_entropy(module(x), y)

        # torch.compile is applied the way its docs recommend for training: forward and
        # loss are compiled, AOTAutograd compiles the matching backward, and the
        # single fused foreach update stays eager. Compiling autograd.grad itself
        # graph-breaks in dynamo and made steps slower, not faster.
        loss_fn = torch.compile(loss_fn) if mode == "graph" else loss_fn

        def step(x, y):
            loss = loss_fn(x, y)
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                torch._foreach_add_(params, grads, alpha=-lr)
            return loss.detach()

        return step

    def infer_step(self, model, variant):
        mode = self.check_variant(variant)
        module = model["module"]
        forward = torch.compile(module) if mode == "graph" else module

        def step(x):
            with torch.no_grad():
                return forward(x)

        return step

    def sync(self, out) -> None:
        if isinstance(out, torch.Tensor) and out.is_cuda:
            torch.cuda.synchronize(out.device)

    def to_numpy(self, value):
        return value.detach().cpu().numpy()
