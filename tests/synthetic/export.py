"""Stored export jobs: export attempts with the outcomes, errors and latencies a test chooses."""

from __future__ import annotations

from fwbench import SCHEMA_VERSION

#: The workloads `path_job` attempts, in the order of its outcomes.
WORKLOADS = ("mlp", "cnn")


def export_attempt(
    workload: str,
    path: str,
    outcome: str,
    *,
    err: float = 1e-6,
    error_type: str = "RuntimeError",
    message: str = "<b>no</b> such op",
    runtime: str = "onnxruntime",
    latency_kind: str = "fresh",
) -> dict:
    """One stored export attempt (as fwbench.experiments.export.measure.export_one writes it); `latency_kind` says
    whether its latency processes were fresh interpreters or forks of one process."""
    attempt = {
        "workload": workload,
        "path": path,
        "runtime": runtime,
        "steps": ["export"],
        "export_batch": 8,
        "outcome": outcome,
        "stage": "done",
        "error": None,
        "batches": {},
        "runtime_version": "rt 1.0",
        "latency_process_kind": latency_kind,
    }
    if outcome == "fails":
        attempt.update(
            stage="export",
            steps=[],
            error={"type": error_type, "message": message, "traceback": "<script>alert(1)</script>"},
        )
    else:
        passed = outcome == "matches"
        attempt["batches"] = {
            b: {"ran": True, "max_abs_err": err, "max_rel_err": err, "passed": passed, "reference_max_abs_err": err}
            for b in ("1", "8", "64")
        }
    return attempt


def export_job(
    run_id: str,
    framework: str,
    path: str,
    attempts: list[dict],
    *,
    runtime: str = "onnxruntime",
    latency_b1: float = 1e-3,
    dynamic: bool = True,
    process_spread: tuple = (0.99, 1.0, 1.01),
) -> dict:
    """A stored export job holding `attempts`, with the records the experiment derives for each.

    Batch-1 latency: one process per factor of `process_spread`, its median `latency_b1` times the factor."""
    records = []
    for a in attempts:

        def rec(metric, value, batch=8, phase="infer", **axes):
            records.append(
                {
                    "workload": a["workload"],
                    "phase": phase,
                    "batch_size": batch,
                    "metric": metric,
                    "value": float(value),
                    "unit": "",
                    **axes,
                }
            )

        rec("export_ok", a["outcome"] != "fails")
        if a["outcome"] == "fails":
            continue
        rec("export_bytes", 1e6)
        rec("parity_ok", a["outcome"] == "matches")
        rec("dynamic_batch_ok", dynamic)
        for process, factor in enumerate(process_spread):
            for metric, scale in (
                ("step_time_median_s", 1.0),
                ("step_time_ci_low_s", 0.99),
                ("step_time_ci_high_s", 1.01),
            ):
                rec(metric, latency_b1 * factor * scale, batch=1, process=process)
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "job",
        "run_id": run_id,
        "job_id": f"export-{framework}-cpu-models-{path}-p0",
        "job_key": f"key-{framework}-{path}-{run_id}",
        "experiment": "export",
        "framework": framework,
        "device": "cpu",
        "workload": "models",
        "variant": path,
        "mode": runtime,
        "runtime": runtime,
        "status": "ok",
        "params": {"workloads": [a["workload"] for a in attempts], "export_batch": 8, "atol": 1e-5, "rtol": 1e-4},
        "process": 0,
        "records": records,
        "attempts": attempts,
        "samples": [],
        "checks": [],
        "framework_version": "1.0",
        "error": None,
    }


def path_job(framework, path, outcomes, runtime="onnxruntime", latency_kind="fresh", **kw) -> dict:
    """An export job of run r1 attempting `path` on each of WORKLOADS with the outcome of the same position."""
    return export_job(
        "r1",
        framework,
        path,
        [export_attempt(w, path, o, runtime=runtime, latency_kind=latency_kind) for w, o in zip(WORKLOADS, outcomes)],
        runtime=runtime,
        **kw,
    )


def with_busy(job: dict, processes, other_cpus: float = 0.9, attempts: int = 3) -> dict:
    """The job with every timed series guarded (fwbench.measure.quiet): those of `processes` measured on a busy
    machine (other programs at `other_cpus` even after `attempts` runs), the rest quiet at the first attempt."""
    for r in [r for r in job["records"] if r["metric"] == "step_time_median_s"]:
        busy = r["process"] in processes
        flags = {
            "busy_block": float(busy),
            "other_cpus": other_cpus if busy else 0.02,
            "block_attempts": attempts if busy else 1,
        }
        job["records"] += [{**r, "metric": m, "value": float(v)} for m, v in flags.items()]
    return job
