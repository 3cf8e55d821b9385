"""Plug-in registries (frameworks, runtimes, servers): one module per plug-in in a package, one subclass per module."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def module_names(package_dir: Path) -> list[str]:
    """The plug-in modules of a package: every module but `base` and private (`_`-prefixed) helpers, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules([str(package_dir)])
                  if m.name != "base" and not m.name.startswith("_"))


def single_subclass(module_path: str, base: type) -> type:
    """The one subclass of `base` that the module `module_path` defines (imports it)."""
    module = importlib.import_module(module_path)
    classes = [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, base) and c is not base]
    if len(classes) != 1:
        raise TypeError(f"{module_path.replace('.', '/')}.py must define exactly one {base.__name__} subclass")
    return classes[0]
