"""Job keys: what makes a stored result reusable (the runner's papermill runs are tested end to end in test_integration)."""

from fwbench.matrix.profile import parse_profile
from fwbench.run.inputs import job_key

ENV = {"machine_id": "m", "python": "3.11", "packages": {"torch": "2.13.0"}, "environment": {}, "threads": 2}
TOOLS = {"java": "openjdk 17", "tensorflow_model_server": None, "taskset": "taskset 2.38"}


def jobs():
    p = parse_profile({"name": "t", "experiments": {
        "serving": {"frameworks": ["tensorflow"], "variants": ["tf-serving"]},
        "eager_vs_graph": {"frameworks": ["jax"], "variants": ["eager"], "workloads": ["mlp"], "processes": 1}}})
    return {j.experiment: j for j in p.jobs}


def test_installing_a_server_changes_only_the_keys_of_experiments_that_use_it():
    j = jobs()
    installed = {**TOOLS, "tensorflow_model_server": "TensorFlow ModelServer: 2.21.0"}
    assert job_key(j["serving"], ENV, "c", TOOLS) != job_key(j["serving"], ENV, "c", installed)
    assert job_key(j["eager_vs_graph"], ENV, "c", TOOLS) == job_key(j["eager_vs_graph"], ENV, "c", installed)


def test_keys_follow_code_environment_and_parameters():
    j = jobs()["eager_vs_graph"]
    base = job_key(j, ENV, "c", TOOLS)
    assert base == job_key(j, dict(ENV), "c", dict(TOOLS))
    assert base != job_key(j, ENV, "other code", TOOLS)
    assert base != job_key(j, {**ENV, "packages": {"torch": "2.14.0"}}, "c", TOOLS)
    assert base != job_key(j, {**ENV, "threads": 1}, "c", TOOLS)


def test_a_cells_later_processes_are_not_started_once_one_found_its_server_missing(tmp_path, monkeypatch):
    import shutil

    import pytest

    from fwbench.run import runner
    from fwbench.store.store import Store

    if shutil.which("tensorflow_model_server"):
        pytest.skip("TensorFlow Serving is installed here: nothing is missing")
    # This test measures nothing: it need not wait for (or hold) the machine's one-benchmark-at-a-time lock.
    monkeypatch.setattr(runner, "_machine_lock_path", lambda: tmp_path / "machine.lock")
    profile = parse_profile({"name": "t", "experiments": {"serving": {
        "frameworks": ["tensorflow"], "variants": ["tf-serving"], "processes": 3, "params": {"workloads": ["mlp"]}}}})
    store = Store(tmp_path / "store")
    summary = runner.run_profile(profile, store, runner.RunOptions(progress=False, scratch=tmp_path / "scratch"))
    assert (summary.executed, summary.skipped, summary.failed) == (3, 3, 0)
    (run,), _ = store.load()
    jobs = {j["process"]: j for j in run.jobs}
    first = jobs[0]["error"]["message"]
    assert jobs[0]["error"]["type"] == "ServerUnavailable" and "tensorflow_model_server" in first
    notebooks = {p.name for p in (store.run_dir(run.run_id) / "notebooks").glob("*.ipynb")}
    assert notebooks == {f"{jobs[0]['job_id']}.ipynb"}  # only the first process started a kernel
    for p in (1, 2):
        assert jobs[p]["status"] == "skipped" and jobs[p]["duration_s"] == 0
        assert jobs[p]["error"]["message"].startswith("not run: process 0 of this cell found")
        assert first in jobs[p]["error"]["message"] and jobs[p]["cell_id"] == jobs[0]["cell_id"]
    # Stored as skipped, all three are reused until the server is installed (their keys cover its binary).
    again = runner.run_profile(profile, store, runner.RunOptions(progress=False, scratch=tmp_path / "scratch"))
    assert (again.executed, again.reused) == (0, 3)


def test_a_cells_processes_share_a_temp_dir_that_goes_after_its_last_process():
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from fwbench.run.runner import TEMP_VARS, CellTemps

    p = parse_profile({"name": "t", "experiments": {"eager_vs_graph": {
        "frameworks": ["jax", "torch"], "variants": ["eager"], "workloads": ["mlp"], "processes": 2}}})
    jobs = list(p.jobs)
    before = {name: os.environ.get(name) for name in TEMP_VARS}
    # A child that leaks as a forked case does: a temp file, then os._exit past every atexit handler.
    leak = ("import os, tempfile; f = tempfile.NamedTemporaryFile(delete=False); f.write(b'x'); f.close(); "
            "print(f.name, flush=True); os._exit(0)")
    temps, seen = CellTemps(jobs), {}
    for i, job in enumerate(jobs):
        with temps.env(i, job) as path:
            out = subprocess.run([sys.executable, "-c", leak], capture_output=True, text=True, check=True).stdout
            assert Path(out.strip()).parent == Path(path)
            assert Path(path).parent == Path(tempfile.gettempdir()) and len(path) < 60  # room for socket names
            seen.setdefault(job.cell_id, []).append((path, job.process))
        last = max(j for j, other in enumerate(jobs) if other.cell_id == job.cell_id)
        assert Path(path).exists() == (i < last)  # compiler caches kept there stay warm for the next process
    assert all(len({path for path, _ in v}) == 1 and len(v) == 2 for v in seen.values()) and len(seen) == 2
    assert {name: os.environ.get(name) for name in TEMP_VARS} == before
    temps.close()
