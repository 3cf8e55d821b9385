"""Shared fixtures: a store of synthetic runs (manifests, a plain job), so report logic is tested on data we control.

Each experiment's own synthetic jobs are in tests/synthetic/<experiment>.py; fixtures only one experiment's tests
use are in tests/experiments/<experiment>/conftest.py."""

from __future__ import annotations

import os
import shutil
import tempfile

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
    "machine_id": "test-cpu-00000000",
    "machine_label": "testbox",
    "hardware": {
        "cpu_model": "Test CPU",
        "architecture": "x86_64",
        "logical_cpus": 2,
        "physical_cores": 1,
        "usable_cpus": 2,
        "memory_bytes": 2**33,
        "gpus": [],
    },
    "os": {"system": "Linux", "release": "6", "platform": "Linux-6-x86_64"},
    "python": {"version": "3.11.7", "implementation": "CPython", "executable": "python"},
    "packages": {"torch": "2.13.0", "tensorflow-cpu": "2.21.0", "jax": "0.10.2"},
    "fwbench": {"version": "0.1.0", "commit": "0" * 40, "dirty": False},
    "environment": {},
}


def manifest(run_id: str, machine_id: str = "test-cpu-00000000", label: str = "testbox", profile: str = "test") -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "run",
        "run_id": run_id,
        "machine_id": machine_id,
        "machine_label": label,
        "fingerprint": {
            **FINGERPRINT,
            "machine_id": machine_id,
            "machine_label": label,
            "machine_label_source": "env",
        },  # tests name their machines
        "profile": {"name": profile, "description": "", "source": {}},
        "status": "complete",
        "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:01:00+00:00",
        "jobs": [],
    }


def job(
    run_id: str,
    framework: str,
    variant: str,
    mode: str,
    step_s: float | None,
    *,
    status: str = "ok",
    error: dict | None = None,
    batch: int = 64,
    seed: int = 0,
    first_call_s: float = 0.01,
    workload: str = "mlp",
    process: int = 0,
) -> dict:
    """A job result whose samples scatter 2% around `step_s` seconds."""
    rng = np.random.default_rng(seed)
    doc = {
        "schema_version": SCHEMA_VERSION,
        "kind": "job",
        "run_id": run_id,
        "job_id": f"eager_vs_graph-{framework}-cpu-{workload}-{variant}-p{process}",
        "job_key": f"key-{framework}-{variant}-{workload}-{process}-{run_id}",
        "experiment": "eager_vs_graph",
        "framework": framework,
        "device": "cpu",
        "workload": workload,
        "variant": variant,
        "mode": mode,
        "status": status,
        "params": {"batch_size": batch},
        "process": process,
        "records": [],
        "samples": [],
        "checks": [],
        "error": error,
        "framework_version": "1.0",
    }
    if status != "ok":
        return doc
    cache = "cold" if process == 0 else "warm"
    for phase in ("train", "infer"):
        samples = list(step_s * (1 + 0.02 * rng.standard_normal(50)))
        doc["samples"].append({"phase": phase, "batch_size": batch, "values": samples})
        med = float(np.median(samples))
        for metric, value, unit in [
            ("step_time_median_s", med, "s"),
            ("first_call_s", first_call_s, "s"),
            (f"first_call_{cache}_s", first_call_s, "s"),
            ("step_time_ci_low_s", med * 0.99, "s"),
            ("step_time_ci_high_s", med * 1.01, "s"),
            ("step_time_iqr_s", med * 0.02, "s"),
            ("step_time_cv", 0.02, "ratio"),
            ("n_repeats", 50, "count"),
            ("throughput_per_s", batch / med, "samples/s"),
            ("gflops", 1.0, "GFLOP/s"),
        ]:
            doc["records"].append({"phase": phase, "batch_size": batch, "metric": metric, "value": value, "unit": unit})
    return doc


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
