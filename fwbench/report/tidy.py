"""Flattens stored runs into one long-format table (one row per measured value): the public export."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from fwbench.experiments import params_digest, part, registry
from fwbench.store.store import Run

COLUMNS = [
    "run_id",
    "machine_id",
    "machine_label",
    "experiment",
    "framework",
    "framework_version",
    "device",
    "workload",
    "phase",
    "mode",
    "variant",
    "batch_size",
    "params_digest",
    "metric",
    "value",
    "unit",
    "status",
    "job_id",
    "process",
    "error",
]

#: Distributions that carry each framework's version when a failed job could not report it.
_VERSION_SOURCES = {"torch": ("torch",), "tensorflow": ("tensorflow-cpu", "tensorflow"), "jax": ("jax",)}


def _framework_version(job: dict, packages: dict) -> str:
    if job.get("framework_version"):
        return job["framework_version"]
    for dist in _VERSION_SOURCES.get(job["framework"], (job["framework"],)):
        if dist in packages:
            return packages[dist]
    return ""


def rows(runs: list[Run]):
    for run in runs:
        packages = run.manifest["fingerprint"].get("packages", {})
        for job in run.jobs:
            base = {
                "run_id": run.run_id,
                "machine_id": run.manifest["machine_id"],
                "machine_label": run.manifest["machine_label"],
                "experiment": job["experiment"],
                "framework": job["framework"],
                "framework_version": _framework_version(job, packages),
                "device": job["device"],
                "workload": job["workload"],
                "mode": job["mode"],
                "variant": job["variant"],
                "params_digest": params_digest(job),
                "status": job["status"],
                "job_id": job["job_id"],
            }
            if job["status"] != "ok":
                err = job["error"]
                yield {
                    **base,
                    "phase": "",
                    "batch_size": job["params"].get("batch_size"),
                    "metric": "error",
                    "value": math.nan,
                    "unit": "",
                    "error": f"{err['type']}: {err['message']}",
                    "process": job.get("process"),
                }
                continue
            for rec in job["records"]:
                # A debugging job's records name their own bug (workload) and mode; an interleaved job's, their variant.
                yield {
                    **base,
                    "workload": rec.get("workload", base["workload"]),
                    "mode": rec.get("mode", base["mode"]),
                    "variant": rec.get("variant", base["variant"]),
                    "phase": rec["phase"],
                    "batch_size": rec["batch_size"],
                    "metric": rec["metric"],
                    "value": rec["value"],
                    "unit": rec["unit"],
                    "error": "",
                    # The job's process (its cell's first, second, ... fresh process), so that every interval over
                    # processes can be recomputed from the export; a record's own where one job timed several
                    # processes (export latencies).
                    "process": rec.get("process", job.get("process")),
                }


def frame(runs: list[Run]) -> pd.DataFrame:
    return pd.DataFrame(list(rows(runs)), columns=COLUMNS)


def derived_rows(report) -> list[dict]:
    """Rows of metrics that compare jobs (a compiled variant's break-even against eager, say): each experiment's own,
    from its `views.py` `tidy_rows(report)`."""
    rows = []
    for name in registry():
        views = part(name, "views")
        if hasattr(views, "tidy_rows"):
            rows += list(views.tidy_rows(report))
    return rows


def write(runs: list[Run], path: Path, fmt: str = "csv", derived: list[dict] | None = None) -> int:
    """Write every stored record (and the `derived_rows` given) to `path` as CSV or JSON lines; return the number
    of rows."""
    derived = derived or []
    df = pd.concat([frame(runs), pd.DataFrame(list(derived), columns=COLUMNS)], ignore_index=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "csv":
        df.to_csv(tmp, index=False)
    elif fmt == "jsonl":
        df.to_json(tmp, orient="records", lines=True)
    else:
        raise ValueError(f"unknown format {fmt!r}; allowed: csv, jsonl")
    tmp.replace(path)
    return len(df)
