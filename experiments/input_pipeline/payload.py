"""The input-pipeline experiment's own part of a stored job, `pipelines`, as the store checks it on every read."""

from __future__ import annotations

from fwbench.errors import StoreError

OUTCOMES = ("ok", "fails")


def check_pipelines(pipelines, path, check_name) -> None:
    """Every attempt names its format and outcome and gives its workers and process as counts; epoch times are
    positive numbers."""
    if not isinstance(pipelines, list):
        raise StoreError(f"{path}: pipelines is not a list")
    for i, a in enumerate(pipelines):
        if not isinstance(a, dict) or not isinstance(a.get("format"), str) or a.get("outcome") not in OUTCOMES:
            raise StoreError(f"{path}: pipelines[{i}] lacks a format or an outcome ({', '.join(OUTCOMES)})")
        check_name(path, f"pipelines[{i}].format", a["format"])
        for key in ("workers", "process"):
            if not isinstance(a.get(key), int) or isinstance(a.get(key), bool) or a[key] < 0:
                raise StoreError(f"{path}: pipelines[{i}].{key} is not a count")
        epochs = a.get("epoch_s", [])
        if not isinstance(epochs, list) or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in epochs
        ):
            raise StoreError(f"{path}: pipelines[{i}].epoch_s is not a list of positive seconds")
        if a["outcome"] == "fails" and not isinstance(a.get("error"), dict):
            raise StoreError(f"{path}: pipelines[{i}] failed without its error")
