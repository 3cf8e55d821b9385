"""The outside_python experiment's own part of a stored job, `attempts`, as the store checks it on every read."""

from __future__ import annotations

from fwbench.errors import StoreError
from fwbench.measure.parity import CLASSES


def check_attempts(attempts, path, check_name) -> None:
    """Every attempt names its workload, runtime (host:runtime), host and format, and has a portability class."""
    if not isinstance(attempts, list):
        raise StoreError(f"{path}: attempts is not a list")
    for i, attempt in enumerate(attempts):
        if not isinstance(attempt, dict) or not all(
            isinstance(attempt.get(k), str) for k in ("workload", "runtime", "host", "format", "outcome")
        ):
            raise StoreError(f"{path}: attempts[{i}] lacks workload, runtime, host, format or outcome")
        for k in ("workload", "runtime", "host", "format", "source_path"):
            if k in attempt:
                check_name(path, f"attempts[{i}].{k}", attempt[k])
        if attempt["outcome"] not in CLASSES:
            raise StoreError(f"{path}: attempts[{i}].outcome {attempt['outcome']!r} is not one of {', '.join(CLASSES)}")
