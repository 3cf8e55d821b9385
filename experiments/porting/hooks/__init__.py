"""Per-framework hooks of the porting experiment: one module per framework building its idiomatic layer of each kind
(`build`), training it (`train`), running it in eval mode (`forward`), and reading and writing its arrays and
settings (`arrays`, `assign`, `settings`). The pair-specific conversions live in converters.py."""

from __future__ import annotations

import importlib
from types import ModuleType


def get(framework: str) -> ModuleType:
    """Import the framework's hook module (and so the framework)."""
    return importlib.import_module(f"fwbench.experiments.porting.hooks.{framework}")
