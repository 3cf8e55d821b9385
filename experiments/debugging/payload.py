"""The debugging experiment's own part of a stored job, `cases`, as the store checks it on every read."""

from __future__ import annotations

from fwbench.errors import StoreError


def check_cases(cases, path, check_name) -> None:
    """Every case names its bug, mode and outcome as plain names (they reach page titles and tables)."""
    if not isinstance(cases, list):
        raise StoreError(f"{path}: cases is not a list")
    for i, case in enumerate(cases):
        if not isinstance(case, dict) or not all(isinstance(case.get(k), str) for k in ("bug", "mode", "outcome")):
            raise StoreError(f"{path}: cases[{i}] lacks bug, mode or outcome")
        for k in ("bug", "mode", "outcome", "tool"):
            if k in case:
                check_name(path, f"cases[{i}].{k}", case[k])
