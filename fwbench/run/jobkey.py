"""Which of the package's source files an experiment's results depend on, and their hash (part of every job key).

A job re-runs when code it runs changes, not when the book's code does: starting
from the experiment's module, its notebook's imports and the kernel launcher, it
follows `fwbench` imports through the source (statically, nothing is imported).
Importing a registry package counts as using every module in it, because
registries (frameworks, runtimes, servers) load their members by name; a string
naming an fwbench module (`python -m fwbench.experiments.debugging.child`) counts as an import.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

from fwbench.paths import REPO

ROOT = REPO
_MODULE_STRING = re.compile(r"^fwbench(\.[A-Za-z_][A-Za-z0-9_]*)+$")
#: Always part of a measurement: the kernel that runs the notebook applies threads and flags before anything loads.
ALWAYS = ("fwbench", "fwbench.run.kernel_launcher", "fwbench.measure.env")


def _resolve(name: str) -> tuple[Path | None, bool]:
    """(source file, is_package) of a dotted fwbench name, or (None, False) if it names no module."""
    parts = name.split(".")
    # fwbench.experiments is the top-level experiments/ folder (fwbench/__init__.py says why).
    base = (
        (ROOT / "experiments").joinpath(*parts[2:])
        if parts[:2] == ["fwbench", "experiments"]
        else ROOT.joinpath(*parts)
    )
    if (base / "__init__.py").is_file():
        return base / "__init__.py", True
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py"), False
    return None, False


def module_name(path: Path) -> str:
    """The dotted name of a source file of the checkout (experiments/x/measure.py is fwbench.experiments.x.measure)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(("fwbench",) + parts if parts[0] == "experiments" else parts)


def _from_import(module: str, aliases) -> set[str]:
    """`from M import a, b`: the submodules it names, and M itself only for names that are not submodules.

    (`from fwbench.experiments import export` uses export.py, not every experiment
    that the package's __init__ happens to import.)
    """
    names = set()
    for alias in aliases:
        sub = f"{module}.{alias.name}"
        names.add(sub if _resolve(sub)[0] is not None else module)
    return names


def _is_registry(init: Path) -> bool:
    """A package whose __init__ loads its members by name (fwbench.plugins): using it uses them all."""
    return "module_names(" in init.read_text()


def _imports(path: Path) -> set[str]:
    """fwbench module names a source file imports or names in a string."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: resolve against this file's package
                parts = package.split(".")
                module = ".".join(parts[: len(parts) - node.level + 1] + ([module] if module else []))
            names.update(_from_import(module, node.names))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _MODULE_STRING.match(node.value):
            names.add(node.value)
    return {n for n in names if n == "fwbench" or n.startswith("fwbench.")}


def _notebook_imports(notebook: Path) -> set[str]:
    names = set()
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:  # IPython magics: fall back to the import lines
            tree = ast.parse("\n".join(ln for ln in source.splitlines() if re.match(r"\s*(from|import)\s", ln)))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.update(_from_import(node.module, node.names))
    return {n for n in names if n == "fwbench" or n.startswith("fwbench.")}


def used_files(roots: set[str]) -> set[Path]:
    """Every source file reachable from the module names `roots`."""
    files: set[Path] = set()
    visited: set[Path] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        path, is_package = _resolve(name)
        if path is None or path in visited:
            continue
        visited.add(path)
        files.add(path)
        # Parents' __init__ files run on import, and so does what they import. (The experiments registry
        # imports its members lazily, by name, so one experiment's job does not run another's code.)
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        todo.extend(_imports(path))
        if is_package and _is_registry(path):
            todo.extend(
                ".".join(p.relative_to(ROOT).with_suffix("").parts)
                for p in path.parent.rglob("*.py")
                if p.name != "__init__.py"
            )
    return files


def code_files(module: str, notebook: Path) -> dict[str, str]:
    """Every source file an experiment's job runs (its measuring module, what its notebook imports, and all they
    import), as repository path -> sha256 of its bytes. Stored with each run, so `plan` can name what changed."""
    files = used_files({module, *ALWAYS, *_notebook_imports(notebook)})
    return {path.relative_to(ROOT).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(files)}


def digest(files: dict[str, str]) -> str:
    """One hash over `code_files`: part of every job key."""
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


@lru_cache(maxsize=None)
def experiment_code_hash(module: str, notebook: Path) -> str:
    """Hash of the source an experiment runs (see `code_files`)."""
    return digest(code_files(module, notebook))
