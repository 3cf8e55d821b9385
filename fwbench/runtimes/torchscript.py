"""PyTorch's TorchScript interpreter running a saved ScriptModule (.pt)."""

from __future__ import annotations

from fwbench.runtimes.base import Runtime


class TorchScript(Runtime):
    distributions = ("torch",)

    def import_runtime(self):
        import torch  # noqa: F401

    def load(self, artifact, threads):
        import torch

        torch.set_num_threads(threads)
        module = torch.jit.load(str(artifact)).eval()

        def run(x):
            with torch.no_grad():
                return module(torch.from_numpy(x)).numpy()

        return run
