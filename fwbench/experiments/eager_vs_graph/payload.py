"""Checks of the parts of an eager-vs-graph job that only this experiment stores (run on every job loaded)."""

from __future__ import annotations

import math

from fwbench.errors import StoreError


def check_references(references, path, check_name) -> None:
    """Each machine-speed reference series names its phase and batch and holds positive finite seconds: the
    statistics take their logarithm, so a bundle must not slip a zero, a negative or a string past them."""
    if not isinstance(references, list):
        raise StoreError(f"{path}: references is not a list")
    for i, entry in enumerate(references):
        if not isinstance(entry, dict) or not isinstance(entry.get("phase"), str) \
                or not isinstance(entry.get("batch_size"), int) or isinstance(entry.get("batch_size"), bool) \
                or not isinstance(entry.get("values"), list):
            raise StoreError(f"{path}: references[{i}] lacks phase, batch_size or values")
        check_name(path, f"references[{i}].phase", entry["phase"])
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
                   for v in entry["values"]):
            raise StoreError(f"{path}: references[{i}].values holds a value that is not a positive finite number")
