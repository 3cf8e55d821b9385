"""Where a run's wall time went, per job and per experiment, from what the store already holds.

Every stored job has its wall time (`duration_s`, runner to runner) and its executed
notebook, in which papermill stamped when it started and when each cell ran. That
splits a job into: *start-up* (the runner's own work plus starting the kernel, before
the first cell), *preparing and checking* (imports, calibration, warm-up until steady,
correctness checks, saving) and *measured* (what the experiment exists for: first
calls with their compiles, timed steps, and for other experiments the cell that
measures). Jobs that time their own parts (eager-vs-graph) also say how much of
*preparing* was the framework's import and how much the warm-up until steady. For
eager-vs-graph the measured part is exact (its first calls and timed samples are
stored); for the others it is the whole measuring cell, an upper bound.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from fwbench.errors import StoreError

#: The notebook cell that runs an experiment (every notebook calls fwbench.measure.job.execute in it).
MEASURING_CELL = "execute("
_FIRST_CALLS = ("first_call_s", "shape_change_s", "shape_change_automatic_s")


def _time(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def notebook_split(notebook: dict) -> dict:
    """Kernel start and per-kind cell time of one executed notebook, from papermill's stamps (seconds)."""
    meta = notebook.get("metadata", {}).get("papermill", {})
    cells = [
        c
        for c in notebook.get("cells", [])
        if c.get("cell_type") == "code" and isinstance(c.get("metadata", {}).get("papermill"), dict)
    ]
    if not meta.get("start_time") or not cells or not cells[0]["metadata"]["papermill"].get("start_time"):
        return {}
    source = lambda c: c["source"] if isinstance(c["source"], str) else "".join(c["source"])
    measuring = sum(c["metadata"]["papermill"].get("duration") or 0 for c in cells if MEASURING_CELL in source(c))
    other = sum(c["metadata"]["papermill"].get("duration") or 0 for c in cells if MEASURING_CELL not in source(c))
    kernel = (_time(cells[0]["metadata"]["papermill"]["start_time"]) - _time(meta["start_time"])).total_seconds()
    return {
        "papermill_s": float(meta.get("duration") or 0),
        "kernel_start_s": max(kernel, 0.0),
        "measuring_cell_s": measuring,
        "other_cells_s": other,
    }


def _measured_inside(job: dict) -> float | None:
    """Seconds of first calls and timed steps a job stored, for jobs that record their first calls (those time a
    model's steps from its first call on, as eager vs graph does); None for jobs that store no such split."""
    if not any(r.get("metric") in _FIRST_CALLS for r in job.get("records", []) if isinstance(r, dict)):
        return None
    first = sum(
        r["value"]
        for r in job.get("records", [])
        if r.get("metric") in _FIRST_CALLS and isinstance(r.get("value"), (int, float))
    )
    timed = 0.0
    for series in job.get("samples", []):
        values = series.get("values") if isinstance(series, dict) else None
        timed += sum(v for v in values or [] if isinstance(v, (int, float)))
    return first + timed


def job_split(run, job: dict) -> dict | None:
    """One job's wall time in the three parts the module docstring names, or None without a notebook."""
    path = run.notebook(job["job_id"])
    if not path.is_file() or not isinstance(job.get("duration_s"), (int, float)):
        return None
    try:
        split = notebook_split(run.read_notebook(job["job_id"]))
    except StoreError:  # the book's appendix names it; here the job only loses its time split
        return None
    if not split:
        return None
    total = float(job["duration_s"])
    startup = max(total - split["papermill_s"], 0.0) + split["kernel_start_s"]
    measured = _measured_inside(job)
    if measured is None:
        measured = split["measuring_cell_s"]
    measured = min(measured, max(total - startup, 0.0))
    # Jobs that time their own parts (eager-vs-graph's process_info.wall_s) say how much of the rest was the
    # framework's import and how much the warm-up until steady; NaN where a job does not say.
    wall = (job.get("process_info") or {}).get("wall_s")
    wall = wall if isinstance(wall, dict) else {}
    parts = {k: float(v) for k, v in wall.items() if isinstance(v, (int, float))}
    imports = parts.get("import and configure", float("nan"))
    warmup = sum(v for k, v in parts.items() if k.endswith("warm-up")) if parts else float("nan")
    return {
        "experiment": job["experiment"],
        "framework": job["framework"],
        "job_id": job["job_id"],
        "total_s": total,
        "startup_s": startup,
        "unmeasured_s": max(total - startup - measured, 0.0),
        "measured_s": measured,
        "imports_s": imports,
        "warmup_s": warmup,
    }


def run_budget(run) -> pd.DataFrame:
    """Per experiment of one run: jobs, wall time and its three parts, and the measured share."""
    rows = [s for job in run.jobs if (s := job_split(run, job)) is not None]
    if not rows:
        return pd.DataFrame()
    df = (
        pd.DataFrame(rows)
        .groupby("experiment")
        .agg(
            jobs=("job_id", "size"),
            total_s=("total_s", "sum"),
            startup_s=("startup_s", "sum"),
            unmeasured_s=("unmeasured_s", "sum"),
            measured_s=("measured_s", "sum"),
            imports_s=("imports_s", lambda v: v.sum(min_count=1)),
            warmup_s=("warmup_s", lambda v: v.sum(min_count=1)),
        )
        .reset_index()
    )
    total = df[["total_s", "startup_s", "unmeasured_s", "measured_s"]].sum()
    for part in ("imports_s", "warmup_s"):
        total[part] = df[part].sum(min_count=1)
    df = pd.concat(
        [df, pd.DataFrame([{"experiment": "all", "jobs": int(df["jobs"].sum()), **total.to_dict()}])], ignore_index=True
    )
    df["measured_share"] = df["measured_s"] / df["total_s"]
    return df


def newest_per_machine(report) -> dict[str, pd.DataFrame]:
    """machine label -> run_budget of that machine's newest run measured into this store."""
    newest = {}
    for run in report.runs:  # oldest first
        if not report.origins.get(run.run_id):
            newest[run.manifest["machine_label"]] = run
    return {label: (run.run_id, run_budget(run)) for label, run in newest.items()}
