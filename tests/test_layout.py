"""The package's shape: no import cycles, no layer importing one above it, every experiment a self-contained folder."""

import ast
from pathlib import Path

import pytest

from fwbench.experiments import registry
from fwbench.paths import EXPERIMENTS, PACKAGE, REPO

#: Layers in data-flow order (profile -> runner -> store -> report -> book); a module may import its own layer
#: or one before it. An experiment's folder spans two: what a job runs (measure) and what the book shows (report).
LAYERS = ["foundation", "measure", "store", "matrix", "run", "report", "book", "command"]
BOOK_SIDE = {"tables", "plots", "claims", "findings", "picks", "views"}


def layer(module: str) -> str:
    parts = module.split(".")
    if module in ("fwbench", "fwbench.paths", "fwbench.files", "fwbench.plugins", "fwbench.errors", "fwbench.privacy"):
        return "foundation"
    if parts[1] in ("measure", "frameworks", "workloads", "runtimes", "exporters"):
        return "measure"
    if parts[1] == "experiments":
        return "report" if len(parts) > 3 and parts[3] in BOOK_SIDE else "measure"
    if parts[1] in ("store", "matrix", "run", "report", "book"):
        return parts[1]
    return "command"  # cli, __main__, nightly


def modules() -> dict[str, Path]:
    """Every module of the package and of experiments/ (imported as fwbench.experiments), by dotted name."""
    found = {}
    for path in [*PACKAGE.rglob("*.py"), *EXPERIMENTS.rglob("*.py")]:
        rel = path.relative_to(REPO).with_suffix("")
        parts = (("fwbench",) if rel.parts[0] == "experiments" else ()) + rel.parts
        name = ".".join(parts[:-1] if rel.name == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """fwbench modules a file imports (module-level or inside functions), resolved to known module names."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in known else node.module)
    return {n for n in found if n in known}


@pytest.fixture(scope="module")
def graph():
    mods = modules()
    return {name: imports(path, set(mods)) for name, path in mods.items()}


def test_no_import_cycles(graph):
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_module_imports_a_layer_above_its_own(graph):
    upward = [
        f"{m} ({layer(m)}) imports {d} ({layer(d)})"
        for m, deps in graph.items()
        for d in deps
        if LAYERS.index(layer(d)) > LAYERS.index(layer(m))
    ]
    assert not upward, "\n".join(upward)


def test_no_experiment_imports_another(graph):
    def owner(module):
        parts = module.split(".")
        return parts[2] if len(parts) > 2 and parts[1] == "experiments" and parts[2] in registry() else None

    crossing = [
        f"{m} imports {d}" for m, deps in graph.items() for d in deps if owner(m) and owner(d) and owner(m) != owner(d)
    ]
    assert not crossing, "\n".join(crossing)


def test_the_framework_adapters_hold_no_experiment_code(graph):
    adapters = [m for m in graph if m.startswith("fwbench.frameworks")]
    assert not [f"{m} imports {d}" for m in adapters for d in graph[m] if d.startswith("fwbench.experiments")]


@pytest.mark.parametrize("name", list(registry()))
def test_every_experiment_is_one_folder_with_its_declared_files(name):
    experiment = registry()[name]
    folder = EXPERIMENTS / name
    assert experiment.folder == folder
    for required in ("__init__.py", "experiment.py", "measure.py", "notebook.ipynb", "chapter.md"):
        assert (folder / required).is_file(), required
    assert experiment.title and experiment.summary and experiment.params.__doc__
    assert set(experiment.axes) == {"workload", "variant", "mode"}, "say what the tidy columns hold (method page)"
