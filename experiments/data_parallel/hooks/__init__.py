"""Per-framework hooks of the data-parallel experiment: one module per framework, imported only inside a worker.

Each module offers `configure(threads)`, `init_group(rank, world, ports)` (the framework's own process-group
start, returning what it set up), `all_reduce(group, array)` (a sum over ranks), `Trainer(spec, group, world)`
(`.step(x, y)` trains one synchronized step on this rank's slice, `.weights()` the parameters as NumPy) and
`shutdown(group)`; a framework may add `keras_fit(group, spec, x, y, steps)`.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def get(framework: str) -> ModuleType:
    """Import the framework's hook module (and so the framework)."""
    return importlib.import_module(f"fwbench.experiments.data_parallel.hooks.{framework}")
