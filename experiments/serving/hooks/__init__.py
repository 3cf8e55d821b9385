"""Per-framework variants of the serving experiment: one module per framework (`VARIANTS`), read without importing it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fwbench.plugins import module_names, plugin_literal

_HERE = Path(__file__).parent


def frameworks() -> list[str]:
    return module_names(_HERE)


@lru_cache(maxsize=None)
def variants(framework: str) -> dict[str, str]:
    """serving variant -> "server:source" (a server module; an inference variant or export path); {} for none."""
    return plugin_literal(_HERE, framework, "VARIANTS", {})
