"""The runner: what makes a stored result reusable, which later processes it does not start, cells' temp folders and
replacement processes (its papermill runs of the real experiments are tested end to end in test_integration)."""

import subprocess
import sys

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
    import dataclasses
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
    kept = jobs[0].cell_id  # this cell has a replacement process to come: its folder stays after its last process
    temps, seen = CellTemps(jobs, keep=lambda cell_id: cell_id == kept), {}
    for i, job in enumerate(jobs):
        with temps.env(i, job) as path:
            out = subprocess.run([sys.executable, "-c", leak], capture_output=True, text=True, check=True).stdout
            assert Path(out.strip()).parent == Path(path)
            assert Path(path).parent == Path(tempfile.gettempdir()) and len(path) < 60  # room for socket names
            seen.setdefault(job.cell_id, []).append((path, job.process))
        temps.done(i, job)
        last = max(j for j, other in enumerate(jobs) if other.cell_id == job.cell_id)
        # Compiler caches kept there stay warm for the next process.
        assert Path(path).exists() == (i < last or job.cell_id == kept)
    assert all(len({path for path, _ in v}) == 1 and len(v) == 2 for v in seen.values()) and len(seen) == 2
    assert {name: os.environ.get(name) for name in TEMP_VARS} == before
    replacement = dataclasses.replace(jobs[0], process=2)
    temps.schedule([replacement])
    with temps.env(0, replacement) as path:
        assert path == seen[kept][0][0]  # the replacement finds the cell's folder, caches and all
    temps.close()
    assert not Path(path).exists()


#: An experiment whose first process stores its one series as unstable, as a descheduled process does.
FLAKY = {
    "__init__.py": '"""Flaky: a timed series that is unstable in process 0 only (proves replacement processes)."""\n',
    "experiment.py": '''"""The flaky experiment's declaration."""

from fwbench.experiments.base import Experiment
from fwbench.experiments.flaky.measure import Params

EXPERIMENT = Experiment(name="flaky", title="Flaky", params=Params, variants_of=lambda fw: {"sum": "eager"},
                        workloads=("numbers",), default_processes=2, default_replacements=2, timing_samples=True)
''',
    "measure.py": '''"""What a flaky job runs."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Params:
    """Nothing to set."""


def run(job):
    values = [0.001 * (1 + 0.01 * i) for i in range(12)]
    return {"records": [], "checks": [], "samples": [{
        "phase": "infer", "batch_size": 1, "variant": "sum", "values": values, "stable": job.process != 0,
        "problem": "level shift" if job.process == 0 else ""}]}
''',
    "chapter.md": "# Flaky\n",
}


def test_a_cell_that_lost_a_process_to_an_unstable_series_runs_a_replacement_once(tmp_path):
    import json

    import package_copy

    copy = package_copy.make(tmp_path / "copy")
    package_copy.add_experiment(copy, "flaky", FLAKY)
    profile = tmp_path / "flaky.yml"
    profile.write_text("name: flaky\nexperiments:\n  flaky:\n    frameworks: [torch]\n")
    store = tmp_path / "store"
    plan = package_copy.run(copy, "plan", "--profile", str(profile), store=store)
    assert "2 to run, 0 reused, 2 jobs; then up to 2 replacement processes per cell" in plan.stdout, plan.stderr

    ran = package_copy.run(copy, "run", "--profile", str(profile), "--no-progress", store=store)
    assert "3 executed, 0 reused, 0 failed, 0 skipped, 1 of the executed replacing unstable processes" in ran.stdout, \
        ran.stdout + ran.stderr
    (run_dir,) = (store / "runs").iterdir()
    jobs = {j["process"]: j for j in (json.loads(p.read_text()) for p in (run_dir / "jobs").glob("*.json"))}
    assert sorted(jobs) == [0, 1, 2] and "replacement" not in jobs[0] and "replacement" not in jobs[1]
    assert jobs[2]["replacement"] == {"for": [{"run_id": run_dir.name, "job_id": jobs[p]["job_id"]} for p in (0, 1)],
                                      "short": ["sum infer b1: 1 of 2 stable"]}
    assert json.loads((run_dir / "manifest.json").read_text())["jobs"][-1] == jobs[2]["job_id"]
    # The cell now has its two stable processes; the report pools the replacement's series with process 1's.
    pooled = subprocess.run(
        [sys.executable, "-c", "from fwbench.report.results import Report; "
         "print(sorted(p[-2:] for per in Report.load().samples('flaky').values() for p in per))"],
        cwd=copy, env=package_copy.env(copy, store), capture_output=True, text=True)
    assert pooled.stdout.split() == ["['p1',", "'p2']"], pooled.stderr

    again = package_copy.run(copy, "run", "--profile", str(profile), "--no-progress", store=store)
    assert "0 executed, 2 reused" in again.stdout and len(list((store / "runs").iterdir())) == 1
