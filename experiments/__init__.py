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


#: What the runner passes every notebook (`Job.notebook_parameters()` plus where to write and the compiler cache).
NOTEBOOK_PARAMETERS = (
    "framework",
    "device",
    "workload",
    "variant",
    "threads",
    "process",
    "params",
    "output_path",
    "cache_dir",
)


def check_notebooks() -> None:
    """Each experiment's notebook declares every parameter the runner passes, once, in its cell tagged
    `parameters` (papermill injects the values after it: a name it lacks is only warned about, and a name given
    twice hides which value the notebook means)."""
    import ast

    for name in registry():
        where = f"experiments/{name}/notebook.ipynb"
        try:
            cells = json.loads((_HERE / name / "notebook.ipynb").read_text())["cells"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ExperimentError(f"{where}: not a readable notebook ({exc})") from None
        tagged = [c for c in cells if isinstance(c, dict) and "parameters" in c.get("metadata", {}).get("tags", [])]
        if len(tagged) != 1:
            raise ExperimentError(f"{where}: needs exactly one cell tagged 'parameters', has {len(tagged)}")
        source = tagged[0].get("source", "")
        source = source if isinstance(source, str) else "".join(source)
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise ExperimentError(
                f"{where}: its parameters cell is not Python ({exc.msg}, line {exc.lineno})"
            ) from None
        declared = [
            t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
        ]
        twice = sorted({n for n in declared if declared.count(n) > 1})
        missing = [n for n in NOTEBOOK_PARAMETERS if n not in declared]
        if twice or missing:
            raise ExperimentError(
                f"{where}: its parameters cell "
                + "; ".join(
                    ([f"does not declare {', '.join(map(repr, missing))}"] if missing else [])
                    + ([f"declares {', '.join(map(repr, twice))} twice"] if twice else [])
                )
            )


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
