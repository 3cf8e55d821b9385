"""The ergonomics experiment's own part of a stored job, `program`, as the store checks it on every read."""

from __future__ import annotations

import math

from fwbench.errors import StoreError

_LISTS = ("api_names", "concepts")
_LOSSES = ("train_loss", "test_loss")


def check_program(program, path, check_name) -> None:
    """The program's file, the names and concepts counted in it (plain names) and its per-epoch losses (numbers)."""
    if not isinstance(program, dict) or not isinstance(program.get("file"), str):
        raise StoreError(f"{path}: program is not an object naming its file")
    check_name(path, "program.file", program["file"])
    for key in _LISTS:
        items = program.get(key, [])
        if not isinstance(items, list):
            raise StoreError(f"{path}: program.{key} is not a list")
        for i, item in enumerate(items):
            check_name(path, f"program.{key}[{i}]", item)
    for key in _LOSSES:
        values = program.get(key, [])
        if not isinstance(values, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
        ):
            raise StoreError(f"{path}: program.{key} is not a list of finite numbers")
    error = program.get("error")
    if error is not None and not (
        isinstance(error, dict) and isinstance(error.get("type"), str) and isinstance(error.get("message"), str)
    ):
        raise StoreError(f"{path}: program.error is neither null nor an error object")
