"""Per-framework hooks of the debugging experiment: one module per framework (`TOOLS`, `target`, `profiler_trace`,
`scalar_log`, optionally `preload`), found by file name; the tools are read without importing the framework."""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from fwbench.plugins import module_names, plugin_literal

_HERE = Path(__file__).parent
#: A framework without a hook module still has the baseline: the bug with no tool.
NO_TOOL = {"none": "eager,graph"}


def frameworks() -> list[str]:
    return module_names(_HERE)


@lru_cache(maxsize=None)
def tools(framework: str) -> dict[str, str]:
    """debugging tool -> the modes it changes ("eager,graph", or "graph" for a switch that turns compiling off)."""
    return plugin_literal(_HERE, framework, "TOOLS", NO_TOOL)


def get(framework: str) -> ModuleType:
    """Import the framework's hook module (and so the framework)."""
    return importlib.import_module(f"fwbench.experiments.debugging.hooks.{framework}")


def preload(framework: str) -> None:
    """Import what the framework's compiler loads lazily at its first call (its hook's `preload`, if it has one)."""
    hook = get(framework)
    if hasattr(hook, "preload"):
        hook.preload()


def log_scalars(writer, values: list[float]) -> None:
    """Write `values` as the scalar series "loss" with a SummaryWriter-style writer (torch's, tensorboardX's), then close it."""
    for step, v in enumerate(values):
        writer.add_scalar("loss", v, step)
    writer.close()
