"""Plug-in registries (frameworks, runtimes, servers): one module per plug-in in a package, one subclass per module."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path


def module_names(package_dir: Path) -> list[str]:
    """The plug-in modules of a package: every module but `base` and private (`_`-prefixed) helpers, sorted."""
    return sorted(
        m.name for m in pkgutil.iter_modules([str(package_dir)]) if m.name != "base" and not m.name.startswith("_")
    )


def single_subclass(module_path: str, base: type) -> type:
    """The one subclass of `base` that the module `module_path` defines (imports it)."""
    module = importlib.import_module(module_path)
    classes = [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, base) and c is not base]
    if len(classes) != 1:
        raise TypeError(f"{module_path.replace('.', '/')}.py must define exactly one {base.__name__} subclass")
    return classes[0]


def plugin_literal(package_dir: Path, plugin: str, name: str, default):
    """`name`'s literal in the plug-in module `plugin` of a package (a framework's hook, say), read without importing
    it; `default` when the package has no such module or the module no such literal."""
    path = Path(package_dir) / f"{plugin}.py"
    found = module_literal(path, name) if path.is_file() else None
    return dict(default) if found is None else dict(found)


def module_literal(path: Path, name: str):
    """The literal assigned to `name` at the top level of the module at `path` (or in a class there), read
    without importing it: listing a framework's variants must not load the framework. None if absent."""
    tree = ast.parse(Path(path).read_text(), filename=str(path))
    bodies = [tree.body] + [node.body for node in tree.body if isinstance(node, ast.ClassDef)]
    for body in bodies:
        for stmt in body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and getattr(stmt.targets[0], "id", None) == name:
                return ast.literal_eval(stmt.value)
    return None
