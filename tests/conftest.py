"""Shared fixtures: synthetic stored runs, so report and claim logic is tested on data we control."""

from __future__ import annotations

import os
import shutil
import tempfile
import zlib

import numpy as np
import pytest

from fwbench import SCHEMA_VERSION
from fwbench.store.store import Store


@pytest.fixture(scope="session", autouse=True)
def session_temp_folder():
    """Processes the tests start get a temp folder of the session's, removed at its end.

    Forked children (case and artifact servers) end with os._exit, past the atexit handlers that delete what
    libraries leave in the temp folder (TensorFlow's AutoGraph sources). One folder for the whole session, not one
    per server: TorchInductor keeps its precompiled headers there, and rebuilding them per server cost the suite
    about 2 minutes. This process's own temp folder (pytest's tmp_path included) is already fixed and stays.
    """
    folder = tempfile.mkdtemp(prefix="fwbench-tests-")
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = folder
    yield folder
    if before is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = before
    shutil.rmtree(folder, ignore_errors=True)


FINGERPRINT = {
    "machine_id": "test-cpu-00000000", "machine_label": "testbox",
    "hardware": {"cpu_model": "Test CPU", "architecture": "x86_64", "logical_cpus": 2, "physical_cores": 1,
                 "usable_cpus": 2, "memory_bytes": 2**33, "gpus": []},
    "os": {"system": "Linux", "release": "6", "platform": "Linux-6-x86_64"},
    "python": {"version": "3.11.7", "implementation": "CPython", "executable": "python"},
    "packages": {"torch": "2.13.0", "tensorflow-cpu": "2.21.0", "jax": "0.10.2"},
    "fwbench": {"version": "0.1.0", "commit": "0" * 40, "dirty": False},
    "environment": {},
}


def manifest(run_id: str, machine_id: str = "test-cpu-00000000", label: str = "testbox") -> dict:
    return {"schema_version": SCHEMA_VERSION, "kind": "run", "run_id": run_id, "machine_id": machine_id,
            "machine_label": label, "fingerprint": {**FINGERPRINT, "machine_id": machine_id, "machine_label": label,
                                                     "machine_label_source": "env"},  # tests name their machines
            "profile": {"name": "test", "description": "", "source": {}}, "status": "complete",
            "started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:01:00+00:00", "jobs": []}


def job(run_id: str, framework: str, variant: str, mode: str, step_s: float | None, *, status: str = "ok",
        error: dict | None = None, batch: int = 64, seed: int = 0, first_call_s: float = 0.01,
        workload: str = "mlp", process: int = 0) -> dict:
    """A job result whose samples scatter 2% around `step_s` seconds."""
    rng = np.random.default_rng(seed)
    doc = {"schema_version": SCHEMA_VERSION, "kind": "job", "run_id": run_id,
           "job_id": f"eager_vs_graph-{framework}-cpu-{workload}-{variant}-p{process}",
           "job_key": f"key-{framework}-{variant}-{workload}-{process}-{run_id}",
           "experiment": "eager_vs_graph", "framework": framework, "device": "cpu", "workload": workload,
           "variant": variant, "mode": mode, "status": status, "params": {"batch_size": batch}, "process": process,
           "records": [], "samples": [], "checks": [], "error": error, "framework_version": "1.0"}
    if status != "ok":
        return doc
    cache = "cold" if process == 0 else "warm"
    for phase in ("train", "infer"):
        samples = list(step_s * (1 + 0.02 * rng.standard_normal(50)))
        doc["samples"].append({"phase": phase, "batch_size": batch, "values": samples})
        med = float(np.median(samples))
        for metric, value, unit in [("step_time_median_s", med, "s"), ("first_call_s", first_call_s, "s"),
                                    (f"first_call_{cache}_s", first_call_s, "s"),
                                    ("step_time_ci_low_s", med * 0.99, "s"), ("step_time_ci_high_s", med * 1.01, "s"),
                                    ("step_time_iqr_s", med * 0.02, "s"), ("step_time_cv", 0.02, "ratio"),
                                    ("n_repeats", 50, "count"), ("throughput_per_s", batch / med, "samples/s"),
                                    ("gflops", 1.0, "GFLOP/s")]:
            doc["records"].append({"phase": phase, "batch_size": batch, "metric": metric, "value": value, "unit": unit})
    return doc


MODES = {"eager": "eager"}


def evg_job(run_id: str, framework: str, times: dict, *, process: int = 0, seed: int = 0, workload: str = "mlp",
            batch: int = 32, between: float = 0.0, within: float = 0.02, params: dict | None = None,
            twin: bool = False, failed_check: str | None = None, unstable: str | None = None,
            loss: float = 2.3, steps: int = 40) -> dict:
    """One interleaved eager-vs-graph job (as fwbench.experiments.eager_vs_graph.measure.run stores it): every variant of
    `times` ({variant: step seconds}) measured in one process whose own speed is off by a seeded log-normal
    factor of sd `between`, steps scattering `within` around it. `failed_check` names a variant whose first-loss
    check fails; `unstable` a variant whose series is stored as unstable."""
    rng = np.random.default_rng([seed, process, zlib.crc32(framework.encode()), zlib.crc32(workload.encode())])
    speed = float(np.exp(rng.normal(0, between)))
    variants = list(times)
    modes = {v: "eager" if v == "eager" else "graph" for v in variants}
    params = params or {"batch_size": batch, "infer_batch_sizes": [batch]}
    doc = {"schema_version": SCHEMA_VERSION, "kind": "job", "run_id": run_id,
           "job_id": f"eager_vs_graph-{framework}-cpu-{workload}-{'_'.join(variants)}-p{process}",
           "job_key": f"key-{framework}-{workload}-{process}-{run_id}-{seed}", "experiment": "eager_vs_graph",
           "framework": framework, "device": "cpu", "workload": workload, "variant": ",".join(variants),
           "mode": ",".join(sorted(set(modes.values()))), "status": "ok", "params": params, "process": process,
           "records": [], "samples": [], "checks": [], "error": None, "framework_version": "1.0"}
    cache = "cold" if process == 0 else "warm"
    alternatives = [(v, 0) for v in variants] + ([("eager", 1)] if twin and "eager" in times else [])
    for variant, replicate in alternatives:
        for phase in ("train", "infer"):
            values = list(times[variant] * speed * np.exp(within * rng.standard_normal(steps)))
            stable = not (unstable == variant and replicate == 0)
            doc["samples"].append({"phase": phase, "batch_size": batch, "variant": variant, "replicate": replicate,
                                   "values": values, "stable": stable, "settled": True, "attempts": 1 if stable else 2,
                                   "problem": "" if stable else "level shift after step 20: ...", "warmup_steps": 10})
            if replicate:
                continue
            med = float(np.median(values))
            for metric, value, unit in [("step_time_median_s", med, "s"), ("first_call_s", 0.5, "s"),
                                        (f"first_call_{cache}_s", 0.5, "s"), ("n_repeats", steps, "count"),
                                        ("stable", float(stable), "bool")] + (
                                            [("loss_after_steps", loss, "nats")] if phase == "train" else []):
                doc["records"].append({"phase": phase, "batch_size": batch, "metric": metric, "value": value,
                                       "unit": unit, "variant": variant, "mode": modes[variant]})
        doc["checks"].append({"name": "first_step_loss_vs_reference", "passed": failed_check != variant,
                              "value": 1.0 if failed_check == variant else 1e-7, "tolerance": 1e-4, "detail": "",
                              "variant": variant, "replicate": replicate})
    return doc


def evg_runs(run_id: str, times: dict, processes: int = 4, **kwargs) -> list[dict]:
    """Interleaved jobs for every framework of `times` ({(framework, variant): seconds}), `processes` each."""
    by_fw: dict[str, dict] = {}
    for (fw, variant), t in times.items():
        by_fw.setdefault(fw, {})[variant] = t
    return [evg_job(run_id, fw, vs, process=p, **kwargs) for p in range(processes) for fw, vs in by_fw.items()]


@pytest.fixture
def make_store(tmp_path):
    """Returns a function that writes runs of (run_id, [job docs]) into a fresh store."""
    def _make(runs: list[tuple[str, list[dict]]], **manifest_kwargs) -> Store:
        store = Store(tmp_path / "store")
        for run_id, jobs in runs:
            store.write_manifest(manifest(run_id, **manifest_kwargs))
            for doc in jobs:
                store.write_job(doc)
        return store
    return _make


def debug_case(bug: str, mode: str, outcome: str, *, ideal: str = "works", line: bool = False, tool: str = "none",
               seen: dict | None = None) -> dict:
    """One stored bug-injection case (as fwbench.experiments.debugging.harness.run_case writes it)."""
    err = outcome == "error"
    return {"bug": bug, "mode": mode, "tool": tool, "outcome": outcome, "ideal": ideal, "compiled_with": "x.compile",
            "planted": "bugs.py:1", "time_to_surface_s": 0.01, "details": seen or {}, "stdout": "", "stderr": "",
            "warnings": [], "log": [], "exception_type": "ValueError" if err else None,
            "message": "<b>bad</b> (4, 3)" if err else None, "traceback": "<i>tb</i>" if err else None,
            "message_chars": 9 if err else None, "traceback_frames": 2 if err else None,
            "user_frame_depth": 0 if err and line else None, "user_line_shown": line if err else None,
            "names_shapes": err, "names_dtypes": False, "suggests_fix": False}


def debug_job(run_id: str, framework: str, tool: str, cases: list[dict], *, survey: list[dict] | None = None,
              overhead: list[dict] | None = None) -> dict:
    """A stored debugging job holding `cases` (records derived as the experiment derives them)."""
    from fwbench.experiments.debugging.measure import case_records, catalogue

    return {"schema_version": SCHEMA_VERSION, "kind": "job", "run_id": run_id,
            "job_id": f"debugging-{framework}-cpu-bugs-{tool}-p0", "job_key": f"key-{framework}-{tool}-{run_id}",
            "experiment": "debugging", "framework": framework, "device": "cpu", "workload": "bugs", "variant": tool,
            "mode": "eager,graph", "status": "ok", "params": {}, "process": 0,
            "records": [r for c in cases for r in case_records(c)], "cases": cases, "samples": [], "checks": [],
            "survey": survey or [], "overhead": overhead or [], "bug_catalogue": catalogue(),
            "framework_version": "1.0", "error": None}


def export_attempt(workload: str, path: str, outcome: str, *, err: float = 1e-6, error_type: str = "RuntimeError",
                   message: str = "<b>no</b> such op", runtime: str = "onnxruntime", latency_kind: str = "fresh") -> dict:
    """One stored export attempt (as fwbench.experiments.export.measure.export_one writes it); `latency_kind` says
    whether its latency processes were fresh interpreters or forks of one process."""
    attempt = {"workload": workload, "path": path, "runtime": runtime, "steps": ["export"], "export_batch": 8,
               "outcome": outcome, "stage": "done", "error": None, "batches": {}, "runtime_version": "rt 1.0",
               "latency_process_kind": latency_kind}
    if outcome == "fails":
        attempt.update(stage="export", steps=[], error={"type": error_type, "message": message,
                                                        "traceback": "<script>alert(1)</script>"})
    else:
        passed = outcome == "matches"
        attempt["batches"] = {b: {"ran": True, "max_abs_err": err, "max_rel_err": err, "passed": passed,
                                  "reference_max_abs_err": err} for b in ("1", "8", "64")}
    return attempt


def export_job(run_id: str, framework: str, path: str, attempts: list[dict], *, runtime: str = "onnxruntime",
               latency_b1: float = 1e-3, dynamic: bool = True, process_spread: tuple = (0.99, 1.0, 1.01)) -> dict:
    """A stored export job holding `attempts`, with the records the experiment derives for each.

    Batch-1 latency: one process per factor of `process_spread`, its median `latency_b1` times the factor."""
    records = []
    for a in attempts:
        def rec(metric, value, batch=8, phase="infer", **axes):
            records.append({"workload": a["workload"], "phase": phase, "batch_size": batch, "metric": metric,
                            "value": float(value), "unit": "", **axes})
        rec("export_ok", a["outcome"] != "fails")
        if a["outcome"] == "fails":
            continue
        rec("export_bytes", 1e6)
        rec("parity_ok", a["outcome"] == "matches")
        rec("dynamic_batch_ok", dynamic)
        for process, factor in enumerate(process_spread):
            for metric, scale in (("step_time_median_s", 1.0), ("step_time_ci_low_s", 0.99), ("step_time_ci_high_s", 1.01)):
                rec(metric, latency_b1 * factor * scale, batch=1, process=process)
    return {"schema_version": SCHEMA_VERSION, "kind": "job", "run_id": run_id,
            "job_id": f"export-{framework}-cpu-models-{path}-p0", "job_key": f"key-{framework}-{path}-{run_id}",
            "experiment": "export", "framework": framework, "device": "cpu", "workload": "models", "variant": path,
            "mode": runtime, "runtime": runtime, "status": "ok",
            "params": {"workloads": [a["workload"] for a in attempts], "export_batch": 8, "atol": 1e-5, "rtol": 1e-4},
            "process": 0, "records": records, "attempts": attempts, "samples": [], "checks": [],
            "framework_version": "1.0", "error": None}


def serving_job(run_id: str, framework: str, variant: str, how: str, workloads: dict, *, status: str = "ok",
                error: dict | None = None, machine_runs: str = "", process: int = 0, factor: float = 1.0) -> dict:
    """A stored serving job (process `process` of its variant). `workloads`: workload -> (peak req/s, single-client
    p99 s) or None (server failed), both scaled by `factor` (throughput times it, latency over it); levels are
    closed loop at 1 and 8 clients, no batching and batching, JSON only."""
    workloads = {w: None if perf is None else (perf[0] * factor, perf[1] / factor) for w, perf in workloads.items()}
    doc = {"schema_version": SCHEMA_VERSION, "kind": "job", "run_id": run_id,
           "job_id": f"serving-{framework}-cpu-models-{variant}-p{process}",
           "job_key": f"key-s-{framework}-{variant}-{run_id}-{process}",
           "experiment": "serving", "framework": framework, "device": "cpu", "workload": "models", "variant": variant,
           "mode": how, "status": status, "params": {"workloads": list(workloads), "concurrency": [1, 8]},
           "process": process, "records": [], "samples": [], "checks": [], "error": error, "framework_version": "1.0",
           "server": how.split(":")[0], "server_version": "x 1.0", "servers": []}
    if status != "ok":
        return doc
    for workload, perf in workloads.items():
        for batching in (False, True):
            bmode = "batching" if batching else "no-batching"
            ok = perf is not None
            doc["servers"].append({"workload": workload, "server": how.split(":")[0], "runtime": "rt",
                                   "batching": batching, "outcome": "serves" if ok else "fails",
                                   "stage": "done" if ok else "start", "ports_released": True,
                                   "server_cpus": [0], "client_cpus": [1], "pinned": True,
                                   "info": {"runtime_version": "rt 1"},
                                   "error": None if ok else {"type": "RuntimeError", "message": "<b>died</b>",
                                                             "traceback": "<script>x</script>"},
                                   "log_tail": "" if ok else "<i>log</i>"})
            rec = lambda phase, mode, metric, value: {"workload": workload, "phase": phase, "mode": mode,  # noqa: E731
                                                      "batch_size": 1, "metric": metric, "value": float(value),
                                                      "unit": "x"}
            if not ok:
                doc["records"].append(rec("startup", bmode, "serve_ok", 0))
                continue
            peak, p99 = perf
            doc["records"] += [rec("startup", bmode, "serve_ok", 1), rec("startup", bmode, "cold_start_s", 0.5),
                               rec("startup", bmode, "parity_ok", 1)]
            scale = 0.9 if batching else 1.0  # batching: a little slower here, so the best is without
            for c, share, lat in ((1, 0.5, p99), (8, 1.0, p99 * 4)):
                m = f"{bmode}/json"
                doc["records"] += [rec(f"closed-{c}", m, "throughput_rps", peak * share * scale),
                                   rec(f"closed-{c}", m, "latency_p50_s", lat / 2),
                                   rec(f"closed-{c}", m, "latency_p99_s", lat / scale),
                                   rec(f"closed-{c}", m, "error_rate", 0)]
    return doc


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory):
    """A real ONNX model, logits = x @ W (x: batch x 4, W: 4 x 3), and W: a model ONNX Runtime serves in
    milliseconds, so that server tests need no deep-learning framework."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["logits"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        initializer=[numpy_helper.from_array(w, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path_factory.mktemp("tiny") / "tiny.onnx"
    onnx.save(model, str(path))
    return path, w

