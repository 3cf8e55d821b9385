"""The serving experiment's own part of a stored job, `servers`, as the store checks it on every read."""

from __future__ import annotations

from fwbench.errors import StoreError

#: Outcomes of one server start (per workload and batching setting).
SERVER_OUTCOMES = ("serves", "fails", "unsupported")


def check_servers(servers, path, check_name) -> None:
    """Every server start names its workload and server, has a known outcome and says whether it batched."""
    if not isinstance(servers, list):
        raise StoreError(f"{path}: servers is not a list")
    for i, attempt in enumerate(servers):
        if not isinstance(attempt, dict) or not all(
            isinstance(attempt.get(k), str) for k in ("workload", "server", "outcome")
        ):
            raise StoreError(f"{path}: servers[{i}] lacks workload, server or outcome")
        for k in ("workload", "server"):
            check_name(path, f"servers[{i}].{k}", attempt[k])
        if attempt["outcome"] not in SERVER_OUTCOMES:
            raise StoreError(
                f"{path}: servers[{i}].outcome {attempt['outcome']!r} is not one of {', '.join(SERVER_OUTCOMES)}"
            )
        if not isinstance(attempt.get("batching"), bool):
            raise StoreError(f"{path}: servers[{i}].batching is not true or false")
