"""Per-framework loaders of the input-pipeline experiment, one module per framework, each exposing `LOADER`,
`FORMATS`, `version()` and `stream(request)`; imported by name in the child, so only its framework loads."""

from __future__ import annotations

import importlib
from types import ModuleType

#: framework -> (the loader it is measured with, the formats that loader reads: common first, then its own).
#: A literal, so that profiles validate and variants list without importing a framework.
LOADERS = {
    "tensorflow": ("tf.data", ("npy-shards", "tfrecord")),
    "torch": ("DataLoader", ("npy-shards", "files")),
    "jax": ("grain", ("npy-shards", "arrayrecord")),
}

#: The modules behind LOADERS, named in full so job keys follow them (fwbench.run.jobkey reads module strings).
MODULES = {
    "tensorflow": "fwbench.experiments.input_pipeline.hooks.tensorflow",
    "torch": "fwbench.experiments.input_pipeline.hooks.torch",
    "jax": "fwbench.experiments.input_pipeline.hooks.jax",
}


def variants(framework: str) -> dict[str, str]:
    """format -> the loader that reads it (the job's mode), for one framework; none for a framework without one."""
    loader, formats = LOADERS.get(framework, ("", ()))
    return {fmt: loader for fmt in formats}


def get(framework: str) -> ModuleType:
    """Import the framework's loader module (and so the framework)."""
    return importlib.import_module(MODULES[framework])
