"""The data-parallel experiment's own part of a stored job, `launches`, as the store checks it on every read."""

from __future__ import annotations

from fwbench.errors import StoreError

OUTCOMES = ("ok", "failed", "timeout")
ROLES = ("timed", "reference", "keras_fit")


def check_launches(launches, path, check_name) -> None:
    """Every launch names its configuration, role and outcome; an error has a type and a message; leftovers are
    text (they reach the chapter's tables)."""
    if not isinstance(launches, list):
        raise StoreError(f"{path}: launches is not a list")
    for i, item in enumerate(launches):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("config", "role", "outcome")):
            raise StoreError(f"{path}: launches[{i}] lacks config, role or outcome")
        if item["outcome"] not in OUTCOMES or item["role"] not in ROLES:
            raise StoreError(f"{path}: launches[{i}] has outcome {item['outcome']!r} or role {item['role']!r}")
        check_name(path, f"launches[{i}].config", item["config"])
        error = item.get("error")
        if error is not None and not (
            isinstance(error, dict) and isinstance(error.get("type"), str) and isinstance(error.get("message"), str)
        ):
            raise StoreError(f"{path}: launches[{i}].error lacks a type or message")
        if not isinstance(item.get("leftovers", []), list) or not all(
            isinstance(x, str) for x in item.get("leftovers", [])
        ):
            raise StoreError(f"{path}: launches[{i}].leftovers is not a list of text")
        if not isinstance(item.get("wall_s", 0), (int, float)) or isinstance(item.get("wall_s"), bool):
            raise StoreError(f"{path}: launches[{i}].wall_s is not a number")
