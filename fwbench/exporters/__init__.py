"""Export paths, one module per framework (`PATHS`, `export`), found by file name and read without importing the framework: the export experiment measures them and the serving experiment serves their artifacts."""

from __future__ import annotations

import importlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from fwbench.plugins import module_names, plugin_literal

_HERE = Path(__file__).parent


def frameworks() -> list[str]:
    return module_names(_HERE)


@lru_cache(maxsize=None)
def paths(framework: str) -> dict[str, str]:
    """export path -> the runtime (fwbench.runtimes) that runs its artifact, option after ':'; {} for none."""
    return plugin_literal(_HERE, framework, "PATHS", {})


def export(framework: str, model, spec, path: str, directory: Path, example: np.ndarray) -> tuple[Path, list[str]]:
    """Export `model`'s inference (logits, batch dimension dynamic where the path allows) along `path`.

    Writes under `directory`; returns the artifact the runtime loads and the conversion
    steps it took, one tool or call each (e.g. ["jax2tf.convert", "tf2onnx"]).
    """
    runtime = paths(framework).get(path)
    if runtime is None:
        raise ValueError(f"{framework} has no export path {path!r}; known: {', '.join(paths(framework))}")
    directory.mkdir(parents=True, exist_ok=True)
    if runtime.startswith("keras:"):
        # Nothing to convert: the runtime builds the one Keras definition itself (fwbench.runtimes._keras_model).
        artifact = directory / "keras_model.json"
        artifact.write_text(json.dumps({"workload": spec.name}))
        return artifact, ["keras_model.build"]
    module = importlib.import_module(f"fwbench.exporters.{framework}")
    return module.export(model, spec, path, directory, example)
