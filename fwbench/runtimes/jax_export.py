"""JAX deserializing a jax.export artifact (serialized StableHLO) and calling it."""

from __future__ import annotations

import numpy as np

from fwbench.runtimes.base import Runtime


class JaxExport(Runtime):
    distributions = ("jax",)

    def import_runtime(self):
        import jax  # noqa: F401

    def load(self, artifact, threads):
        import jax

        exported = jax.export.deserialize(bytearray(artifact.read_bytes()))
        # np.asarray waits for JAX's asynchronous dispatch to finish.
        return lambda x: np.asarray(exported.call(x))
