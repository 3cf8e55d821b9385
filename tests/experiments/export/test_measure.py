"""The export experiment on real frameworks: a path that works, one that fails, a corrupt artifact, bad parameters."""

import numpy as np
import pytest

from fwbench.experiments.export import measure as export
from fwbench.frameworks import get_adapter
from fwbench.measure.forkserver import ForkServer
from tiers import full_only

# In the slow part's process (scripts/run_tests.py), to even out `make test`'s two halves.
pytestmark = pytest.mark.with_slow

TINY = dict(
    workloads=("mlp",), warmup=1, repeats=5, min_repeats=3, max_time_s=0.05, latency_batches=(1,), latency_processes=2
)


def records_of(recs, metric):
    return {r["batch_size"]: r["value"] for r in recs if r["metric"] == metric}


def assert_every_series_watched(recs, params):
    """Every timed series (one per batch size, phase and process) carries what other programs took from the CPUs
    while it ran, read inside the process that timed it; a busy one ran again, up to the bound. Never that the
    machine was quiet: the tests run beside others."""
    series = [r for r in recs if r["metric"] == "step_time_median_s"]
    assert series
    for s in series:
        m = {
            r["metric"]: r["value"]
            for r in recs
            if (r["workload"], r["phase"], r["batch_size"], r.get("process"))
            == (
                s["workload"],
                s["phase"],
                s["batch_size"],
                s["process"],
            )
        }
        assert m["other_cpus"] >= 0 and m["busy_block"] in (0.0, 1.0)
        assert 1 <= m["block_attempts"] <= params.busy_redo + 1


def test_torch_export_round_trip_is_recorded_with_parity_and_latency(tmp_path):
    params = export.Params(**TINY)
    attempt, recs, samples = export.export_one(
        get_adapter("torch"),
        "torch.export",
        "torch_export",
        "mlp",
        params,
        threads=1,
        artifacts=tmp_path / "art",
        scratch=tmp_path / "scr",
    )
    assert attempt["outcome"] == "matches" and attempt["error"] is None
    assert attempt["steps"] == ["torch.export.export", "torch.export.save"]
    assert (tmp_path / "art" / "mlp" / "model.pt2").is_file()
    assert records_of(recs, "export_ok") == {8: 1.0} and records_of(recs, "parity_ok") == {8: 1.0}
    assert records_of(recs, "export_bytes")[8] > 0 and records_of(recs, "load_s")[8] > 0
    assert 0 <= records_of(recs, "max_abs_err")[8] <= params.atol + params.rtol * 100
    assert records_of(recs, "dynamic_batch_ok") == {8: 1.0}  # batch 1 and 64 ran too
    assert set(attempt["batches"]) == {"1", "8", "64"}
    lat = records_of(recs, "step_time_median_s")
    assert set(lat) == {1} and lat[1] > 0
    assert samples and all(v > 0 for v in samples[0]["values"])
    # Latency timed in two processes (steps of one process are not independent samples of the machine).
    assert attempt["latency_processes"] == 2 and "latency_process_errors" not in attempt
    assert sorted(r["process"] for r in recs if r["metric"] == "step_time_median_s") == [0, 1]
    assert sorted(s["process"] for s in samples) == [0, 1]
    assert all("process" not in r for r in recs if r["metric"] in ("load_s", "parity_ok"))
    assert_every_series_watched(recs, params)
    busy = {r["process"] for r in recs if r["metric"] == "busy_block" and r["value"]}
    assert {s["process"] for s in samples if s.get("busy")} == busy


def test_a_path_that_cannot_export_is_a_failing_attempt_with_its_error(tmp_path):
    attempt, recs, _ = export.export_one(
        get_adapter("torch"),
        "torchscript-script",
        "torchscript",
        "mlp",
        export.Params(**TINY),
        threads=1,
        artifacts=tmp_path / "a",
        scratch=tmp_path / "s",
    )
    assert attempt["outcome"] == "fails" and attempt["stage"] == "export"
    assert attempt["error"]["type"] and attempt["error"]["message"] and "Traceback" in attempt["error"]["traceback"]
    assert recs == [
        {"workload": "mlp", "phase": "infer", "batch_size": 8, "metric": "export_ok", "value": 0.0, "unit": "bool"}
    ]


def test_a_corrupt_artifact_is_a_load_failure_not_a_crash(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"this is not an onnx file")
    result, outputs = export.run_artifact(
        "onnxruntime",
        bad,
        {1: np.zeros((1, 784), np.float32)},
        export.Params(**TINY),
        threads=1,
        workdir=tmp_path / "w",
        train=False,
    )
    assert result["stage"] == "load" and result["error"]["type"] and outputs == {}


def test_unknown_runtime_in_the_child_is_a_load_error(tmp_path):
    result, _ = export.run_artifact(
        "no-such-runtime",
        tmp_path / "x",
        {1: np.zeros((1, 2), np.float32)},
        export.Params(**TINY),
        threads=1,
        workdir=tmp_path / "w",
        train=False,
    )
    assert result["error"]["type"] == "KeyError" and "no-such-runtime" in result["error"]["message"]


def test_unknown_path_raises_naming_the_known_ones():
    with pytest.raises(ValueError, match="no export path 'onnx'.*onnx-dynamo"):
        export.export_all("torch", "onnx", export.Params(**TINY), threads=1)


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"workloads": ("nope",)}, "unknown workloads"),
        ({"latency_batches": (0,)}, "positive integers"),
        ({"export_batch": 0}, "positive integer"),
        ({"atol": -1.0}, "non-negative"),
    ],
)
def test_bad_params_are_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        export.Params(**bad)


#: What must be equal between a forked and a fresh load of the same artifact.
def outcome_of(attempt):
    return {
        "outcome": attempt["outcome"],
        "stage": attempt["stage"],
        "error": (attempt["error"] or {}).get("type"),
        "train_error": attempt.get("train_error"),
        "batches": {b: (e["ran"], e.get("passed")) for b, e in attempt["batches"].items()},
    }


@pytest.mark.parametrize(
    "framework, path",
    [full_only("torch", "torch.export"), full_only("tensorflow", "savedmodel"), ("jax", "jax-export")],
)
def test_artifacts_forked_from_one_import_end_as_in_fresh_interpreters(framework, path, tmp_path, monkeypatch):
    """The isolation check of issue 19 for every framework: same outcomes, one import timed per path."""
    runs = {}
    for processes in ("fork", "fresh"):
        # Relative artifact and scratch folders, as a job's are (a fork runs elsewhere: it must still find them).
        (tmp_path / processes).mkdir()
        monkeypatch.chdir(tmp_path / processes)
        # mlp twice: two artifacts through one server, at the cost of the cheapest workload. One latency process
        # each: with "fresh" every one is an interpreter importing the runtime (TensorFlow: 4-5 s here).
        params = export.Params(
            **{**TINY, "workloads": ("mlp", "mlp"), "latency_processes": 1}, artifact_processes=processes
        )
        runs[processes] = export.export_all(framework, path, params, threads=1)
    fork, fresh = runs["fork"], runs["fresh"]
    assert [a["process"] for a in fork["attempts"]] == ["fork", "fork"]
    assert [a["process"] for a in fresh["attempts"]] == ["fresh", "fresh"]
    assert [outcome_of(a) for a in fork["attempts"]] == [outcome_of(a) for a in fresh["attempts"]]
    assert all(a["outcome"] == "matches" for a in fork["attempts"])
    imports = [r["value"] for r in fork["records"] if r["metric"] == "runtime_import_s"]
    assert len(imports) == 2 and imports[0] == imports[1] > 0  # timed once, in the server
    fresh_imports = [r["value"] for r in fresh["records"] if r["metric"] == "runtime_import_s"]
    assert len(fresh_imports) == 2 and all(v > 0 for v in fresh_imports)
    for run in (fork, fresh):
        assert {r["metric"] for r in run["records"]} >= {"load_s", "step_time_median_s", "parity_ok"}
        assert_every_series_watched(run["records"], params)


def test_a_server_that_is_gone_hands_the_artifact_to_a_fresh_interpreter(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"this is not an onnx file")
    with ForkServer("fwbench.experiments.export.child", ["--runtime", "onnxruntime", "--threads", "1"]) as server:
        forked, _ = export.run_artifact(
            "onnxruntime",
            bad,
            {1: np.zeros((1, 784), np.float32)},
            export.Params(**TINY),
            threads=1,
            workdir=tmp_path / "w1",
            train=False,
            server=server,
        )
        server.kill()
        fresh, _ = export.run_artifact(
            "onnxruntime",
            bad,
            {1: np.zeros((1, 784), np.float32)},
            export.Params(**TINY),
            threads=1,
            workdir=tmp_path / "w2",
            train=False,
            server=server,
        )
    assert forked["process"] == "fork" and fresh["process"] == "fresh"
    assert forked["stage"] == fresh["stage"] == "load" and forked["error"]["type"] == fresh["error"]["type"]


def test_a_runtime_the_server_cannot_import_is_every_artifacts_load_error(tmp_path):
    with ForkServer("fwbench.experiments.export.child", ["--runtime", "no-such-runtime", "--threads", "1"]) as server:
        results = [
            export.run_artifact(
                "no-such-runtime",
                tmp_path / "x",
                {1: np.zeros((1, 2), np.float32)},
                export.Params(**TINY),
                threads=1,
                workdir=tmp_path / f"w{i}",
                train=False,
                server=server,
            )[0]
            for i in range(2)
        ]
    for result in results:
        assert result["process"] == "fork" and result["stage"] == "load"
        assert result["error"]["type"] == "KeyError" and "no-such-runtime" in result["error"]["message"]


def test_artifact_processes_must_be_fork_or_fresh():
    with pytest.raises(ValueError, match="artifact_processes must be 'fork' or 'fresh'"):
        export.Params(artifact_processes="thread")
