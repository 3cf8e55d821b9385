"""The porting experiment's own part of a stored job, `attempts`, as the store checks it on every read."""

from __future__ import annotations

from fwbench.errors import StoreError

OUTCOMES = ("matches", "differs", "fails")
NAIVE_OUTCOMES = ("matches", "silent-wrong", "refused", "error")


def check_attempts(attempts, path, check_name) -> None:
    """Every attempt names its layer, source, target and route as plain names, with a known outcome; its
    transformations are a list of text."""
    if not isinstance(attempts, list):
        raise StoreError(f"{path}: attempts is not a list")
    for i, a in enumerate(attempts):
        if not isinstance(a, dict) or not all(
            isinstance(a.get(k), str) for k in ("layer", "source", "target", "route", "outcome")
        ):
            raise StoreError(f"{path}: attempts[{i}] lacks layer, source, target, route or outcome")
        for k in ("layer", "source", "target", "route"):
            check_name(path, f"attempts[{i}].{k}", a[k])
        if a["outcome"] not in OUTCOMES:
            raise StoreError(f"{path}: attempts[{i}].outcome {a['outcome']!r} is not one of {', '.join(OUTCOMES)}")
        steps = a.get("steps", [])
        if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
            raise StoreError(f"{path}: attempts[{i}].steps is not a list of text")
        naive = a.get("naive")
        if naive is not None and (not isinstance(naive, dict) or naive.get("outcome") not in NAIVE_OUTCOMES):
            raise StoreError(f"{path}: attempts[{i}].naive.outcome is not one of {', '.join(NAIVE_OUTCOMES)}")
        for k in ("lines", "max_abs_err"):
            if a.get(k) is not None and (isinstance(a[k], bool) or not isinstance(a[k], (int, float))):
                raise StoreError(f"{path}: attempts[{i}].{k} is not a number")
