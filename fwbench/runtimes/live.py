"""The source framework itself, no export: the adapter builds the workload and runs one of its inference variants.

The artifact is a small JSON file naming the workload and variant (e.g. torch
"eager", JAX "jax.jit"); the option after ':' names the framework ("live:torch").
What a team serves when it keeps the training code in production.
"""

from __future__ import annotations

import json

from fwbench.runtimes.base import Runtime


class Live(Runtime):
    distributions = ()

    def prepare(self):
        from fwbench import frameworks

        if self.option not in frameworks.names():
            raise ValueError(
                f"live runtime needs a framework option ({', '.join(frameworks.names())}), got {self.option!r}"
            )

    def version(self):
        from fwbench.frameworks import get_adapter

        adapter = get_adapter(self.option)
        return f"{adapter.distribution} {adapter.version()}"

    def import_runtime(self):
        from fwbench.frameworks import get_adapter

        get_adapter(self.option)

    def load(self, artifact, threads):
        from fwbench.frameworks import get_adapter
        from fwbench.workloads import get_workload

        doc = json.loads(artifact.read_text())
        adapter = get_adapter(self.option)
        adapter.configure(threads)
        model = adapter.build(get_workload(doc["workload"]), "cpu")
        step = adapter.infer_step(model, doc["variant"])
        # to_numpy is the synchronization point: the call returns finished work.
        return lambda x: adapter.to_numpy(step(adapter.to_device(x, "cpu")))
