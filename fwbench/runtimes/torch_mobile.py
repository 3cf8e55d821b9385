"""PyTorch Mobile's lite interpreter running a .ptl file (deprecated upstream in favour of ExecuTorch)."""

from __future__ import annotations

from fwbench.runtimes.base import Runtime


class TorchMobile(Runtime):
    distributions = ("torch",)

    def import_runtime(self):
        import torch.jit.mobile  # noqa: F401

    def load(self, artifact, threads):
        import torch
        from torch.jit.mobile import _load_for_lite_interpreter

        torch.set_num_threads(threads)
        module = _load_for_lite_interpreter(str(artifact))

        def run(x):
            with torch.no_grad():
                return module(torch.from_numpy(x)).numpy()

        return run
