"""Synthetic input-pipeline jobs whose right answers are known by construction (seeded epoch times, checks we set)."""

from __future__ import annotations

import numpy as np
import pytest

from fwbench import SCHEMA_VERSION
from fwbench.experiments.input_pipeline.hooks import LOADERS
from fwbench.report.results import Report

SAMPLES = 1024


def pipeline_job(
    run_id: str,
    framework: str,
    epoch_s: dict,
    *,
    processes: int = 4,
    noise: float = 0.01,
    seed: int = 0,
    failed: dict | None = None,
    bad_labels: str | None = None,
    status: str = "ok",
    page_cache: str = "warm",
    busy: dict | None = None,
) -> dict:
    """A stored job of `framework`'s loader: `epoch_s` maps (format, workers) to the true epoch time; each process's
    epochs scatter by `noise` (log scale) around a process effect of the same size. `failed` maps (format, workers)
    to an error type: those pipelines failed. `bad_labels`: the format whose label check failed. `busy` maps
    (format, workers) to the processes measured on a busy machine (other programs at 0.9 CPUs after 3 attempts,
    epochs 3x slower); every other process is guarded and quiet at its first attempt."""
    rng = np.random.default_rng(seed)
    formats = list(LOADERS[framework][1])
    doc = {
        "schema_version": SCHEMA_VERSION,
        "kind": "job",
        "run_id": run_id,
        "job_id": f"input_pipeline-{framework}-cpu-images-{'_'.join(formats)}-p0",
        "job_key": f"k-{framework}-{run_id}",
        "experiment": "input_pipeline",
        "framework": framework,
        "device": "cpu",
        "workload": "images",
        "variant": ",".join(formats),
        "mode": LOADERS[framework][0],
        "status": status,
        "params": {"samples": SAMPLES, "page_cache": page_cache},
        "process": 0,
        "records": [],
        "samples": [],
        "checks": [],
        "error": None,
        "framework_version": "1.0",
        "pipelines": [],
        "dataset": {"samples": SAMPLES},
    }
    if status != "ok":
        doc.update(
            error={"type": "ImportError", "message": "no module named grain", "traceback": ""}, samples={}, pipelines=[]
        )
        return doc
    for (fmt, workers), t in epoch_s.items():
        for p in range(processes):
            attempt = {
                "format": fmt,
                "workers": workers,
                "process": p,
                "page_cache": page_cache,
                "outcome": "ok",
                "error": None,
                "stage": "done",
            }
            if failed and (fmt, workers) in failed:
                attempt.update(
                    outcome="fails",
                    stage="stream",
                    error={"type": failed[(fmt, workers)], "message": "it broke", "traceback": "tb"},
                )
            else:
                level = t * np.exp(noise * rng.standard_normal())
                hit = p in (busy or {}).get((fmt, workers), ())
                if busy is not None:
                    attempt.update(
                        busy_block=float(hit), other_cpus=0.9 if hit else 0.01, block_attempts=3 if hit else 1
                    )
                    level *= 3 if hit else 1
                epochs = [level * 3] + list(level * np.exp(noise * rng.standard_normal(2)))
                attempt.update(
                    epoch_s=epochs,
                    first_batch_s=0.1 * (1 + workers),
                    import_s=1.0,
                    peak_tree_rss_bytes=2**28 * (1 + workers),
                    steady_cpu_s=1.0,
                    steady_samples=2 * SAMPLES,
                    settings={"workers": workers},
                )
            doc["pipelines"].append(attempt)
        doc["checks"].append({"name": "labels per epoch", "passed": fmt != bad_labels, "variant": fmt})
    return doc


@pytest.fixture
def pipeline_report(make_store):
    """Returns a function: jobs -> the Report of a fresh store holding them in one run."""

    def _make(jobs: list[dict]) -> Report:
        return Report(make_store([("r1", jobs)]).load()[0])

    return _make


@pytest.fixture
def ip_job():
    """The synthetic job builder (`pipeline_job`), as a fixture: test modules here cannot import this conftest by
    name (tests/conftest.py holds that name)."""
    return pipeline_job
