"""Registry of workloads by name; each is a framework-neutral spec."""

from __future__ import annotations

from fwbench.workloads.spec import MLPSpec

WORKLOADS = {
    "mlp": MLPSpec(),
}


def get_workload(name: str) -> MLPSpec:
    try:
        return WORKLOADS[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(sorted(WORKLOADS))}") from None
