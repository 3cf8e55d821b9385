"""Registry of framework adapters: one module per framework in this package, found by file name.

Adding a framework is adding one file here that defines an `Adapter` subclass.
Names and variants are read from the source without importing it, so that
validating a profile never loads three deep-learning frameworks into the runner.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fwbench.errors import DeviceUnavailable
from fwbench.frameworks.base import MODES, Adapter
from fwbench.plugins import module_literal, module_names, single_subclass

__all__ = [
    "Adapter",
    "DeviceUnavailable",
    "MODES",
    "names",
    "variants",
    "device_variants",
    "family_variants",
    "timed",
    "loop_kind",
    "get_adapter",
]

_HERE = Path(__file__).parent


def names() -> list[str]:
    """Framework names, in a stable order."""
    return module_names(_HERE)


def _check(name: str) -> None:
    if name not in names():
        raise KeyError(f"unknown framework {name!r}; known: {', '.join(names())}")


def _class_literal(name: str, attribute: str) -> dict | None:
    """The literal assigned to `attribute` in the adapter class of `name`'s module, read without importing it."""
    _check(name)
    found = module_literal(_HERE / f"{name}.py", attribute)
    return None if found is None else dict(found)


@lru_cache(maxsize=None)
def variants(name: str) -> dict[str, str]:
    """variant -> mode for `name`, read statically from the adapter class's `variants` literal."""
    found = _class_literal(name, "variants")
    if found is None:
        raise KeyError(f"framework module {name!r} declares no `variants` literal")
    return found


@lru_cache(maxsize=None)
def device_variants(name: str) -> dict[str, list[str]]:
    """variant -> the only devices it runs on, for `name` (the adapter's `device_variants` literal; default: none)."""
    return _class_literal(name, "device_variants") or {}


@lru_cache(maxsize=None)
def family_variants(name: str) -> dict[str, list[str]]:
    """variant -> the only workload families it runs on, for `name` (the adapter's `family_variants` literal)."""
    return _class_literal(name, "family_variants") or {}


def get_adapter(name: str) -> Adapter:
    """Import the framework and return its adapter."""
    _check(name)
    return single_subclass(f"fwbench.frameworks.{name}", Adapter)()


@lru_cache(maxsize=None)
def timed(name: str) -> dict[str, dict[str, str]]:
    """variant -> what its timed step is (the adapter's `timed` literal; default: nothing said)."""
    return _class_literal(name, "timed") or {}


def loop_kind(name: str, variant: str) -> str:
    """How `variant` of framework `name` runs a recurrent loop: "unrolled", "loop construct" or "python"."""
    text = timed(name).get(variant, {}).get("rnn loop", "")
    if "unrolled" in text:
        return "unrolled"
    return "python" if text.startswith("Python") or not text else "loop construct"
