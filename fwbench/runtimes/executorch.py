"""ExecuTorch's runtime (PyTorch's on-device runtime, here through its Python bindings) running a .pte program."""

from __future__ import annotations

from fwbench.runtimes.base import Runtime


class ExecuTorch(Runtime):
    distributions = ("executorch",)

    def import_runtime(self):
        import executorch.runtime  # noqa: F401

    def load(self, artifact, threads):
        import torch
        from executorch.runtime import Runtime as ETRuntime

        torch.set_num_threads(threads)
        method = ETRuntime.get().load_program(str(artifact)).load_method("forward")
        return lambda x: method.execute([torch.from_numpy(x)])[0].numpy()
