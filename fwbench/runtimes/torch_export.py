"""PyTorch loading a saved torch.export program (.pt2) and running its module eagerly."""

from __future__ import annotations

from fwbench.runtimes.base import Runtime


class TorchExport(Runtime):
    distributions = ("torch",)

    def import_runtime(self):
        import torch  # noqa: F401

    def load(self, artifact, threads):
        import torch

        torch.set_num_threads(threads)
        module = torch.export.load(str(artifact)).module()

        def run(x):
            with torch.no_grad():
                return module(torch.from_numpy(x)).numpy()

        return run
