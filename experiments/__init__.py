"""Registry of experiments: every folder here whose `experiment.py` declares `EXPERIMENT`, found by folder name.

Nothing is imported until a caller asks (`EXPERIMENTS`, `registry()`), so a job that
imports its own experiment's code never runs another experiment's declaration: the
registry stays out of every job's key. Layers that list experiments (the profile
validator, the runner, the report, the book's table of contents, the metrics and
claims pages) all read this registry, so a new folder appears in each of them.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import pkgutil
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from fwbench.errors import ExperimentError

_HERE = Path(__file__).resolve().parent


def names() -> list[str]:
    """Folder names of the experiments (unsorted by order; see `registry`)."""
    return sorted(m.name for m in pkgutil.iter_modules([str(_HERE)]) if m.ispkg and not m.name.startswith("_"))


@lru_cache(maxsize=None)
def registry() -> dict:
    """name -> Experiment, in the book's order."""
    found = {}
    for name in names():
        declared = getattr(importlib.import_module(f"fwbench.experiments.{name}.experiment"), "EXPERIMENT", None)
        if declared is None:
            raise ExperimentError(f"experiments/{name}/experiment.py must declare EXPERIMENT = Experiment(...)")
        if declared.name != name:
            raise ExperimentError(
                f"experiments/{name}/experiment.py: EXPERIMENT.name is {declared.name!r}, not the "
                f"folder's name {name!r}"
            )
        found[name] = declared
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


def timed() -> list[str]:
    """The experiments that store per-process timing series (`timing_samples`), in the book's order: the ones
    with cells, comparisons over processes, A/A controls and histories of step times."""
    return [name for name, experiment in registry().items() if experiment.timing_samples]


def part(name: str, module: str) -> ModuleType | None:
    """An experiment's own module (`tables`, `plots`, `claims`, `findings`, `picks`, `metrics`), or None when it has
    none."""
    if not (_HERE / name / f"{module}.py").is_file():
        return None
    return importlib.import_module(f"fwbench.experiments.{name}.{module}")


def metrics() -> dict:
    """Every documented metric: the shared ones and each experiment's own (a name two of them define must agree)."""
    from fwbench.measure.metrics import COMMON

    found = dict(COMMON)
    for name in registry():
        own = part(name, "metrics")
        for metric, meaning in (own.METRICS if own else {}).items():
            if found.setdefault(metric, meaning) != meaning:
                raise ExperimentError(
                    f"experiments/{name}/metrics.py: metric {metric!r} is documented twice, "
                    "differently (a metric means one thing everywhere)"
                )
    return found


def __getattr__(attr: str):
    if attr == "EXPERIMENTS":  # read lazily, see the module docstring
        return registry()
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def params_digest(job: dict) -> str:
    """Digest of the parameters that changed what a stored job measured: cells that differ in it never pool."""
    experiment = registry().get(job["experiment"])
    params = job.get("params", {})
    chosen = experiment.identity(params) if experiment and experiment.identity else params
    return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:8]
