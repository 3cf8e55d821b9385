"""The store round-trips, validates on read, writes atomically, and refuses a second writer."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import job, manifest
from fwbench.errors import StoreError
from fwbench.files import write_json_atomic
from fwbench.store.store import Store

REPO = Path(__file__).resolve().parents[2]


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


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("records"), "records"),
        (lambda d: d.update(status="great"), "status"),
        (lambda d: d["records"][0].update(value="fast"), "value"),
        (lambda d: d.update(status="failed", error=None), "error"),
        (
            lambda d: d.update(
                experiment="export", attempts=[{"workload": "mlp", "path": "tflite", "outcome": "great"}]
            ),
            r"attempts\[0\].outcome 'great' is not one of matches, differs, fails",
        ),
        (
            lambda d: d.update(experiment="export", attempts=[{"workload": "mlp"}]),
            "attempts.0. lacks workload, path or outcome",
        ),
        (
            lambda d: d.update(
                experiment="serving",
                servers=[{"workload": "mlp", "server": "frontend", "outcome": "fast", "batching": False}],
            ),
            r"servers\[0\].outcome 'fast' is not one of serves, fails, unsupported",
        ),
        (
            lambda d: d.update(
                experiment="serving", servers=[{"workload": "mlp", "outcome": "serves", "batching": False}]
            ),
            r"servers\[0\] lacks workload, server or outcome",
        ),
        (
            lambda d: d.update(
                experiment="serving",
                servers=[{"workload": "mlp", "server": "frontend", "outcome": "serves", "batching": "on"}],
            ),
            r"servers\[0\].batching is not true or false",
        ),
        # Each experiment checks its own part (experiments/<name>/payload.py); a part only other experiments store is
        # refused, so a bundle cannot slip one past under another experiment's name.
        (
            lambda d: d.update(experiment="debugging", cases={"bug": "shape", "mode": "eager", "outcome": "error"}),
            "cases is not a list",
        ),
        (
            lambda d: d.update(experiment="debugging", cases=[{"bug": "shape", "mode": "eager"}]),
            r"cases\[0\] lacks bug, mode or outcome",
        ),
        (lambda d: d.update(experiment="export", attempts="matches"), "attempts is not a list"),
        (
            lambda d: d.update(cases=[{"bug": "shape", "mode": "eager", "outcome": "error"}]),
            "carries 'cases', which debugging jobs store, not eager_vs_graph jobs",
        ),
        # Experiments that store a part under the same key each check it in their own shape.
        (
            lambda d: d.update(
                experiment="porting", attempts=[{"workload": "mlp", "path": "tflite", "outcome": "matches"}]
            ),
            "attempts.0. lacks layer, source, target, route or outcome",
        ),
        # A replacement process names the processes it was added for; a bundle's text there is refused unless plain.
        (lambda d: d.update(replacement={"for": [], "short": []}), "replacement must hold a non-empty list"),
        (
            lambda d: d.update(replacement={"for": [{"run_id": "r1", "job_id": "<img src=x>"}], "short": []}),
            r"replacement.for\[0\].job_id '<img src=x>' is not an id",
        ),
        (
            lambda d: d.update(replacement={"for": [{"run_id": "r1", "job_id": "j"}], "short": ["<script>"]}),
            r"replacement.short\[0\] '<script>' is not a plain name",
        ),
    ],
)
def test_rejects_malformed_jobs(make_store, mutate, message):
    store = make_store([("r1", [job("r1", "torch", "eager", "eager", 0.01)])])
    path = store.run_dir("r1") / "jobs" / "eager_vs_graph-torch-cpu-mlp-eager-p0.json"
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(StoreError, match=message):
        store.load()


def test_corrupt_file_is_named_and_lenient_load_keeps_the_rest(make_store):
    store = make_store(
        [("r1", [job("r1", "torch", "eager", "eager", 0.01)]), ("r2", [job("r2", "jax", "eager", "eager", 0.01)])]
    )
    bad = store.run_dir("r2") / "jobs" / "eager_vs_graph-jax-cpu-mlp-eager-p0.json"
    bad.write_text('{"schema_version": 1, "kind": "jo')
    with pytest.raises(StoreError, match=str(bad.name)):
        store.load()
    runs, problems = store.load(strict=False)
    # The damaged job is lost, not its run: r2 still counts, with its other jobs (here none).
    assert [r.run_id for r in runs] == ["r1", "r2"] and len(problems) == 1 and bad.name in problems[0]
    assert runs[1].jobs == [] and runs[1].damaged == problems


def test_one_damaged_job_loses_only_that_job(make_store, tmp_path):
    from fwbench.report import versions
    from fwbench.report.results import Report
    from fwbench.run.runner import reusable_results

    jobs = [job("r1", fw, "eager", "eager", 0.01) for fw in ("torch", "jax", "tensorflow")]
    store = make_store([("r1", jobs)])
    report = Report.load(store.root)
    old = versions.current_manifest(store, report, "v1", {"commit": "abc"})
    bad = store.run_dir("r1") / "jobs" / f"{jobs[1]['job_id']}.json"
    bad.write_bytes(bad.read_bytes()[:40])  # truncated
    report = Report.load(store.root)
    assert len(report.runs) == 1 and len(report.runs[0].jobs) == 2
    assert len(report.problems) == 1 and bad.name in report.problems[0]
    # The other jobs stay reusable: the next run measures only the damaged one again.
    assert set(reusable_results(report.runs, {})) == {jobs[0]["job_key"], jobs[2]["job_key"]}
    new = versions.current_manifest(store, report, "v2", {"commit": "abc"})
    assert new["unreadable"] and versions.compare(store, new, old).removed.empty
    # A damaged manifest: the run cannot be read, but it was not removed either.
    (store.run_dir("r1") / "manifest.json").write_text("{")
    report = Report.load(store.root)
    new = versions.current_manifest(store, report, "v3", {"commit": "abc"})
    changes = versions.compare(store, new, old)
    assert report.runs == [] and changes.removed.empty and store.unreadable_runs() == ["r1"]


@pytest.mark.parametrize(
    "setup, args, message",
    [
        ("file", ["validate"], "is a file"),
        ("missing", ["validate"], "no such store"),
        ("missing", ["book", "--no-reference"], "no such store"),
        ("parent-file", ["run", "--profile", "smoke"], "is a file"),
        ("parent-file", ["plan", "--profile", "smoke"], "is not a directory"),
        ("file", ["plan", "--profile", "smoke"], "is a file"),
        ("imports", ["validate"], "imports.json: unreadable"),
        ("report", ["validate"], "not a report manifest"),
    ],
)
def test_store_path_faults_are_one_line(tmp_path, setup, args, message):
    root = tmp_path / "store"
    if setup == "file":
        root.write_text("I am not a store")
    elif setup == "parent-file":
        (tmp_path / "blocker").write_text("x")
        root = tmp_path / "blocker" / "store"
    elif setup in ("imports", "report"):
        store = Store(root)
        store.write_manifest(manifest("r1"))
        if setup == "imports":
            (root / "imports.json").write_text('{"schema_version": 1, "kind": "imp')
        else:
            (root / "reports").mkdir()
            (root / "reports" / "v.json").write_text('{"kind": "report"}')
    before = sorted(p.as_posix() for p in tmp_path.rglob("*"))
    proc = subprocess.run(
        [sys.executable, "-m", "fwbench", "--store", str(root), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    # (a warning may name the synthetic run, of a machine that is not this one, as having no import record)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("fwbench: ") and " warning: " not in line]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in proc.stderr
    assert sorted(p.as_posix() for p in tmp_path.rglob("*")) == before  # nothing created or removed


def _without_write_access(store_root: Path) -> list[str]:
    """Take the write bits off the store and return a command prefix under which they count: root writes
    through any mode bits (and CI runs as root), so there the command runs without CAP_DAC_OVERRIDE."""
    import os
    import shutil

    for sub in [store_root, *store_root.rglob("*")]:
        if sub.is_dir():
            sub.chmod(0o555)
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without util-linux's setpriv: cannot drop the right to ignore mode bits")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--profile", "smoke"], "permission denied"),
        (["import", "BUNDLE"], "permission denied"),
    ],
)
def test_a_store_without_write_permission_is_one_line_and_untouched(tmp_path, args, message):
    from fwbench.store.bundle import pack

    source = Store(tmp_path / "source")
    source.write_manifest(manifest("r1", machine_id="other-cpu-11111111"))
    source.write_job(job("r1", "torch", "eager", "eager", 0.01))
    bundle = tmp_path / "other.fwbundle"
    pack(source, bundle, ["other-cpu-11111111"])
    root = tmp_path / "store"
    Store(root).write_manifest(manifest("r0"))
    before = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    prefix = _without_write_access(root)
    args = [str(bundle) if a == "BUNDLE" else a for a in args]
    try:
        proc = subprocess.run(
            [*prefix, sys.executable, "-m", "fwbench", "--store", str(root), *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
        )
    finally:
        for sub in [root, *root.rglob("*")]:
            if sub.is_dir():
                sub.chmod(0o755)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("fwbench: ")]
    assert len(errors) == 1 and message in errors[0].lower() and str(root) in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    after = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    assert after == before


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
    from fwbench.store.store import default_root

    monkeypatch.setenv("FWBENCH_STORE", "")
    assert default_root() == REPO / "results"
    monkeypatch.setenv("FWBENCH_STORE", "/tmp/elsewhere")
    assert default_root() == Path("/tmp/elsewhere")
