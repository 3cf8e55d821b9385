"""Stored serving jobs: per workload, the peak throughput and tail latency a test chooses (or a failed server)."""

from __future__ import annotations

from fwbench import SCHEMA_VERSION

#: Each variant is served in three processes whose speed differs this much (a quiet machine).
SPREAD = (0.98, 1.0, 1.02)


def serving_job(
    run_id: str,
    framework: str,
    variant: str,
    how: str,
    workloads: dict,
    *,
    status: str = "ok",
    error: dict | None = None,
    machine_runs: str = "",
    process: int = 0,
    factor: float = 1.0,
) -> dict:
    """A stored serving job (process `process` of its variant). `workloads`: workload -> (peak req/s, single-client
    p99 s) or None (server failed), both scaled by `factor` (throughput times it, latency over it); levels are
    closed loop at 1 and 8 clients, no batching and batching, JSON only."""
    workloads = {w: None if perf is None else (perf[0] * factor, perf[1] / factor) for w, perf in workloads.items()}
    doc = {
        "schema_version": SCHEMA_VERSION,
        "kind": "job",
        "run_id": run_id,
        "job_id": f"serving-{framework}-cpu-models-{variant}-p{process}",
        "job_key": f"key-s-{framework}-{variant}-{run_id}-{process}",
        "experiment": "serving",
        "framework": framework,
        "device": "cpu",
        "workload": "models",
        "variant": variant,
        "mode": how,
        "status": status,
        "params": {"workloads": list(workloads), "concurrency": [1, 8]},
        "process": process,
        "records": [],
        "samples": [],
        "checks": [],
        "error": error,
        "framework_version": "1.0",
        "server": how.split(":")[0],
        "server_version": "x 1.0",
        "servers": [],
    }
    if status != "ok":
        return doc
    for workload, perf in workloads.items():
        for batching in (False, True):
            bmode = "batching" if batching else "no-batching"
            ok = perf is not None
            doc["servers"].append(
                {
                    "workload": workload,
                    "server": how.split(":")[0],
                    "runtime": "rt",
                    "batching": batching,
                    "outcome": "serves" if ok else "fails",
                    "stage": "done" if ok else "start",
                    "ports_released": True,
                    "server_cpus": [0],
                    "client_cpus": [1],
                    "pinned": True,
                    "info": {"runtime_version": "rt 1"},
                    "error": None
                    if ok
                    else {"type": "RuntimeError", "message": "<b>died</b>", "traceback": "<script>x</script>"},
                    "log_tail": "" if ok else "<i>log</i>",
                }
            )
            rec = lambda phase, mode, metric, value: {
                "workload": workload,
                "phase": phase,
                "mode": mode,  # noqa: E731
                "batch_size": 1,
                "metric": metric,
                "value": float(value),
                "unit": "x",
            }
            if not ok:
                doc["records"].append(rec("startup", bmode, "serve_ok", 0))
                continue
            peak, p99 = perf
            doc["records"] += [
                rec("startup", bmode, "serve_ok", 1),
                rec("startup", bmode, "cold_start_s", 0.5),
                rec("startup", bmode, "parity_ok", 1),
            ]
            scale = 0.9 if batching else 1.0  # batching: a little slower here, so the best is without
            for c, share, lat in ((1, 0.5, p99), (8, 1.0, p99 * 4)):
                m = f"{bmode}/json"
                doc["records"] += [
                    rec(f"closed-{c}", m, "throughput_rps", peak * share * scale),
                    rec(f"closed-{c}", m, "latency_p50_s", lat / 2),
                    rec(f"closed-{c}", m, "latency_p99_s", lat / scale),
                    rec(f"closed-{c}", m, "error_rate", 0),
                ]
    return doc


def sm(perf, variant="tf-savedmodel", spread=SPREAD) -> list[dict]:
    """The TensorFlow SavedModel served (`variant`), one job per start, each start's speed scaled by `spread`."""
    return [
        serving_job("r1", "tensorflow", variant, "frontend:savedmodel", perf, process=p, factor=f)
        for p, f in enumerate(spread)
    ]


def ort(perf, spread=SPREAD) -> list[dict]:
    """PyTorch's ONNX export served by ONNX Runtime, one job per start, each start's speed scaled by `spread`."""
    return [
        serving_job("r1", "torch", "onnxruntime", "frontend:onnx-dynamo", perf, process=p, factor=f)
        for p, f in enumerate(spread)
    ]


def with_time_parts(jobs, call_s: float, frontend_s: float):
    """The jobs with the frontend's request log in every closed level: `call_s` in the runtime's call per request
    (no batching: the model's busy time per request too), `frontend_s` split over decode, queue and encode, and
    what the client saw beyond the server."""
    for job in jobs:
        for r in [r for r in job["records"] if r["metric"] == "latency_p50_s"]:
            parts = {
                "server_decode_s": frontend_s / 3,
                "server_queue_s": frontend_s / 3,
                "server_runtime_s": call_s,
                "server_encode_s": frontend_s / 3,
                "server_handled_s": call_s + frontend_s,
                "outside_server_s": r["value"] - call_s - frontend_s,
                "server_model_busy_s": call_s,
                "latency_mean_s": r["value"],
            }
            job["records"] += [{**r, "metric": m, "value": v} for m, v in parts.items()]
    return jobs


def with_busy(jobs, processes, other_cpus: float = 0.9, attempts: int = 3):
    """The jobs with every load level guarded (fwbench.measure.quiet): those of `processes` measured on a busy
    machine (other programs at `other_cpus` even after `attempts` runs), the rest quiet at the first attempt."""
    for job in jobs:
        busy = job["process"] in processes
        flags = {
            "busy_block": float(busy),
            "other_cpus": other_cpus if busy else 0.02,
            "block_attempts": attempts if busy else 1,
        }
        for r in [r for r in job["records"] if r["metric"] == "throughput_rps"]:
            job["records"] += [{**r, "metric": m, "value": float(v)} for m, v in flags.items()]
    return jobs
