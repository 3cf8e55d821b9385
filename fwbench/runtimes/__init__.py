"""Registry of the runtimes that run exported artifacts: one module per runtime in this package, found by file name.

A runtime name may carry an option after ':' ("keras:jax" is Keras 3 on the JAX
backend). Adding a runtime is adding one file here that defines a `Runtime` subclass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from fwbench.plugins import module_names, single_subclass
from fwbench.runtimes.base import Runtime

__all__ = ["Runtime", "Imported", "Loaded", "names", "get_runtime", "split", "import_timed", "load_timed"]

_HERE = Path(__file__).parent


def names() -> list[str]:
    return module_names(_HERE)


def split(name: str) -> tuple[str, str | None]:
    """'keras:jax' -> ('keras', 'jax'); 'onnxruntime' -> ('onnxruntime', None)."""
    base, _, option = name.partition(":")
    return base, option or None


def get_runtime(name: str) -> Runtime:
    """The runtime called `name` (option included), without importing what it runs on yet."""
    base, option = split(name)
    if base not in names():
        raise KeyError(f"unknown runtime {base!r}; known: {', '.join(names())}")
    return single_subclass(f"fwbench.runtimes.{base}", Runtime)(option)


@dataclass(frozen=True)
class Imported:
    """A runtime whose package(s) this process has imported, with what the import cost."""

    runtime: Runtime = field(metadata={"help": "the runtime, prepared and imported"})
    import_s: float = field(metadata={"help": "importing the runtime's package(s)"})


@dataclass(frozen=True)
class Loaded:
    """An artifact loaded in this process by its runtime, with what the load cost."""

    runtime: Runtime = field(metadata={"help": "the runtime that loaded it"})
    run: Callable = field(metadata={"help": "NumPy batch -> NumPy logits, finished when it returns"})
    import_s: float = field(metadata={"help": "importing the runtime's package(s)"})
    load_s: float = field(metadata={"help": "loading the artifact after the import"})


def import_timed(name: str) -> Imported:
    """Prepare and import runtime `name`, timing the import."""
    runtime = get_runtime(name)
    runtime.prepare()
    started = time.perf_counter()
    runtime.import_runtime()
    return Imported(runtime, time.perf_counter() - started)


def load_timed(name: str, artifact: Path, threads: int, imported: Imported | None = None) -> Loaded:
    """Load `artifact` with runtime `name`, timing the import apart from the load.

    `imported`: the runtime as this process (or the process it was forked from) already
    imported it; its import time is reported. Without it, the import happens here.
    """
    imported = imported or import_timed(name)
    started = time.perf_counter()
    run = imported.runtime.load(Path(artifact), threads)
    return Loaded(imported.runtime, run, imported.import_s, time.perf_counter() - started)
