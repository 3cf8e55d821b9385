"""Stored ergonomics jobs built from counts and losses we choose (never measured ones), for the tests here."""

import pytest

from fwbench import SCHEMA_VERSION
from fwbench.experiments.ergonomics.measure import VARIANTS

FRAMEWORK = {v: fw for fw, vs in VARIANTS.items() for v in vs}


def ergonomics_job(run_id, variant, lines, tokens, *, train=(2.5, 2.3), test=(2.9, 2.4), checks_pass=True, status="ok"):
    """A stored job of one program: its counts, the losses it reported and its checks."""
    values = {
        "source_logical_lines": lines,
        "source_tokens": tokens,
        "source_api_names": 10,
        "source_concepts": 3,
        "source_max_nesting": 2,
        "source_harness_lines": 30,
        "program_ok": 1,
        "program_wall_s": 5.0,
        "final_train_loss": train[-1],
        "final_test_loss": test[-1],
        "restored_test_loss": test[-1],
        "initial_logits_max_abs_err": 1e-6,
    }
    records = [
        {
            "phase": "source" if m.startswith("source") else "train",
            "batch_size": 16,
            "metric": m,
            "value": float(v),
            "unit": "",
        }
        for m, v in values.items()
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "job",
        "run_id": run_id,
        "job_id": f"ergonomics-{FRAMEWORK[variant]}-cpu-cnn-{variant}-p0",
        "job_key": f"key-{variant}-{run_id}",
        "experiment": "ergonomics",
        "framework": FRAMEWORK[variant],
        "device": "cpu",
        "workload": "cnn",
        "variant": variant,
        "mode": VARIANTS[FRAMEWORK[variant]][variant],
        "status": status,
        "params": {"loss_rtol": 1e-3, "batch_size": 16},
        "process": 0,
        "records": records if status == "ok" else [],
        "samples": [],
        "checks": [{"name": "checkpoint round trip", "passed": checks_pass, "value": 0.0, "tolerance": 1e-6}],
        "program": {
            "file": f"experiments/ergonomics/programs/{variant}.py",
            "sha256": "0" * 64,
            "api_names": ["torch.nn.Conv2d"],
            "concepts": ["train/eval mode"],
            "train_loss": list(train),
            "test_loss": list(test),
            "error": None,
        },
        "error": None if status == "ok" else {"type": "Timeout", "message": "no result", "traceback": ""},
    }


@pytest.fixture
def ergo_report(make_store):
    """A Report of one run holding a job per program: sizes maps variant -> (logical lines, tokens); changes maps
    variant -> keyword arguments of `ergonomics_job`."""
    from fwbench.report.results import Report

    def _make(sizes, changes=None):
        changes = changes or {}
        jobs = [ergonomics_job("r1", v, lines, tokens, **changes.get(v, {})) for v, (lines, tokens) in sizes.items()]
        return Report(make_store([("r1", jobs)]).load()[0])

    return _make
