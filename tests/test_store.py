"""The store round-trips, validates on read, writes atomically, and refuses a second writer."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import job, manifest
from fwbench.store import Store, StoreError, write_json_atomic

REPO = Path(__file__).resolve().parent.parent


def test_round_trip(make_store):
    store = make_store([("r1", [job("r1", "torch", "eager", "eager", 0.01)])])
    runs, problems = store.load()
    assert problems == [] and len(runs) == 1
    assert runs[0].manifest["run_id"] == "r1"
    assert runs[0].jobs[0]["framework"] == "torch"
    assert runs[0].jobs[0]["samples"][0]["values"]


def test_rejects_other_schema_version(make_store):
    store = make_store([("r1", [job("r1", "torch", "eager", "eager", 0.01)])])
    path = store.run_dir("r1") / "jobs" / "eager_vs_graph-torch-cpu-mlp-eager-p0.json"
    data = json.loads(path.read_text())
    data["schema_version"] = 999
    path.write_text(json.dumps(data))
    with pytest.raises(StoreError, match="schema_version 999"):
        store.load()


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("records"), "records"),
    (lambda d: d.update(status="great"), "status"),
    (lambda d: d["records"][0].update(value="fast"), "value"),
    (lambda d: d.update(status="failed", error=None), "error"),
    (lambda d: d.update(attempts=[{"workload": "mlp", "path": "tflite", "outcome": "great"}]),
     r"attempts\[0\].outcome 'great' is not one of matches, differs, fails"),
    (lambda d: d.update(attempts=[{"workload": "mlp"}]), "attempts.0. lacks workload, path or outcome"),
    (lambda d: d.update(servers=[{"workload": "mlp", "server": "frontend", "outcome": "fast", "batching": False}]),
     r"servers\[0\].outcome 'fast' is not one of serves, fails, unsupported"),
    (lambda d: d.update(servers=[{"workload": "mlp", "outcome": "serves", "batching": False}]),
     r"servers\[0\] lacks workload, server or outcome"),
    (lambda d: d.update(servers=[{"workload": "mlp", "server": "frontend", "outcome": "serves", "batching": "on"}]),
     r"servers\[0\].batching is not true or false"),
])
def test_rejects_malformed_jobs(make_store, mutate, message):
    store = make_store([("r1", [job("r1", "torch", "eager", "eager", 0.01)])])
    path = store.run_dir("r1") / "jobs" / "eager_vs_graph-torch-cpu-mlp-eager-p0.json"
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(StoreError, match=message):
        store.load()


def test_corrupt_file_is_named_and_lenient_load_keeps_the_rest(make_store):
    store = make_store([("r1", [job("r1", "torch", "eager", "eager", 0.01)]),
                        ("r2", [job("r2", "jax", "eager", "eager", 0.01)])])
    bad = store.run_dir("r2") / "jobs" / "eager_vs_graph-jax-cpu-mlp-eager-p0.json"
    bad.write_text('{"schema_version": 1, "kind": "jo')
    with pytest.raises(StoreError, match=str(bad.name)):
        store.load()
    runs, problems = store.load(strict=False)
    assert [r.run_id for r in runs] == ["r1"] and len(problems) == 1 and bad.name in problems[0]


def test_cli_validate_reports_corruption_in_one_line_and_changes_nothing(make_store):
    store = make_store([("r1", [job("r1", "torch", "eager", "eager", 0.01)])])
    bad = store.run_dir("r1") / "manifest.json"
    bad.write_text("not json at all")
    before = {p: p.read_bytes() for p in store.root.rglob("*") if p.is_file()}
    for args in (["validate"], ["results", "--format", "csv", "-o", str(store.root.parent / "out.csv")]):
        proc = subprocess.run([sys.executable, "-m", "fwbench", "--store", str(store.root), *args],
                              capture_output=True, text=True, cwd=REPO, timeout=120)
        assert proc.returncode == 2
        assert len(proc.stderr.strip().splitlines()) == 1 and "manifest.json" in proc.stderr
    assert {p: p.read_bytes() for p in store.root.rglob("*") if p.is_file()} == before
    assert not (store.root.parent / "out.csv").exists()


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / "x.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
    with pytest.raises(ValueError):
        write_json_atomic(path, {"a": float("nan")})  # NaN is not JSON


def test_second_writer_is_refused(tmp_path):
    store = Store(tmp_path / "s")
    with store.lock():
        with pytest.raises(StoreError, match="another fwbench runner"):
            with Store(tmp_path / "s").lock():
                pass
    with store.lock():  # released after the first holder is done
        pass


def test_manifest_validation(tmp_path):
    store = Store(tmp_path / "s")
    m = manifest("r1")
    m["status"] = "exploded"
    with pytest.raises(StoreError, match="status"):
        store.write_manifest(m)
    assert not (tmp_path / "s" / "runs" / "r1" / "manifest.json").exists()


def test_default_root_ignores_an_empty_variable(monkeypatch):
    from fwbench.store import default_root
    monkeypatch.setenv("FWBENCH_STORE", "")
    assert default_root() == REPO / "results"
    monkeypatch.setenv("FWBENCH_STORE", "/tmp/elsewhere")
    assert default_root() == Path("/tmp/elsewhere")
