"""The runner: what makes a stored result reusable, which later processes it does not start, cells' temp folders,
replacement processes, what it stores of its maker (no private path, no secret) and what it clears after a killed
run (its papermill runs of the real experiments are tested end to end in test_integration)."""

import subprocess
import sys

import pytest

from fwbench.matrix.profile import parse_profile
from fwbench.run.inputs import job_key

# In the slow part's process (scripts/run_tests.py): without the end-to-end test, as in `make test`, that part
# would end minutes before the other.
pytestmark = pytest.mark.with_slow

ENV = {"machine_id": "m", "python": "3.11", "packages": {"torch": "2.13.0"}, "environment": {}, "threads": 2}
TOOLS = {"java": "openjdk 17", "tensorflow_model_server": None, "taskset": "taskset 2.38"}


def jobs():
    p = parse_profile(
        {
            "name": "t",
            "experiments": {
                "serving": {"frameworks": ["tensorflow"], "variants": ["tf-serving"]},
                "eager_vs_graph": {"frameworks": ["jax"], "variants": ["eager"], "workloads": ["mlp"], "processes": 1},
            },
        }
    )
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


def test_a_cells_later_processes_are_not_started_once_one_found_its_server_missing(tmp_path, monkeypatch, capsys):
    import shutil

    from fwbench.run import runner
    from fwbench.store.store import Store

    if shutil.which("tensorflow_model_server"):
        pytest.skip("TensorFlow Serving is installed here: nothing is missing")
    # This test measures nothing: it need not wait for (or hold) the machine's one-benchmark-at-a-time lock.
    monkeypatch.setattr(runner, "_machine_lock_path", lambda: tmp_path / "machine.lock")
    profile = parse_profile(
        {
            "name": "t",
            "budget_min": 0.1,
            "experiments": {
                "serving": {
                    "frameworks": ["tensorflow"],
                    "variants": ["tf-serving"],
                    "processes": 3,
                    "params": {"workloads": ["mlp"]},
                }
            },
        }
    )
    store = Store(tmp_path / "store")
    summary = runner.run_profile(profile, store, runner.RunOptions(progress=False, scratch=tmp_path / "scratch"))
    assert (summary.executed, summary.skipped, summary.failed) == (3, 3, 0)
    # Before the first job: the expected time per experiment (a new store: the experiment's default) and the budget.
    out, err = capsys.readouterr()
    table = [line for line in out.splitlines() if line.startswith("  ") and not line.startswith("  (")]
    assert [line.split()[:3] for line in table][1:] == [
        ["serving", "3", "0"],
        ["total", "3", "0"],
    ]
    assert "over this profile's budget of 0.1 min" in err
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
    assert "expected" not in "".join(capsys.readouterr())  # nothing to run, nothing to expect


def test_a_cells_processes_share_a_temp_dir_that_goes_after_its_last_process():
    import dataclasses
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from fwbench.run.runner import TEMP_VARS, CellTemps

    p = parse_profile(
        {
            "name": "t",
            "experiments": {
                "eager_vs_graph": {
                    "frameworks": ["jax", "torch"],
                    "variants": ["eager"],
                    "workloads": ["mlp"],
                    "processes": 2,
                }
            },
        }
    )
    jobs = list(p.jobs)
    before = {name: os.environ.get(name) for name in TEMP_VARS}
    # A child that leaks as a forked case does: a temp file, then os._exit past every atexit handler.
    leak = (
        "import os, tempfile; f = tempfile.NamedTemporaryFile(delete=False); f.write(b'x'); f.close(); "
        "print(f.name, flush=True); os._exit(0)"
    )
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


#: An experiment whose first process stores its one series as unstable, as a descheduled process does. Each process
#: also leaves a file beside its code, and asks for another at its kernel's exit (which the runner does not wait for).
FLAKY = {
    "__init__.py": '"""Flaky: a timed series that is unstable in process 0 only (proves replacement processes)."""\n',
    "experiment.py": '''"""The flaky experiment's declaration."""

from fwbench.experiments.base import Experiment
from fwbench.experiments.flaky.measure import Params

EXPERIMENT = Experiment(name="flaky", title="Flaky", params=Params, variants_of=lambda fw: {"sum": "eager"},
                        workloads=("numbers",), default_processes=2, default_replacements=2, timing_samples=True)
''',
    "measure.py": '''"""What a flaky job runs."""

import atexit
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Params:
    """Nothing to set."""


def run(job):
    here = Path(__file__).parent
    (here / f"ran-{job.process}").touch()
    atexit.register((here / f"exited-{job.process}").touch)
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
    assert "3 executed, 0 reused, 0 failed, 0 skipped, 1 of the executed replacing unstable processes" in ran.stdout, (
        ran.stdout + ran.stderr
    )
    (run_dir,) = (store / "runs").iterdir()
    jobs = {j["process"]: j for j in (json.loads(p.read_text()) for p in (run_dir / "jobs").glob("*.json"))}
    assert sorted(jobs) == [0, 1, 2] and "replacement" not in jobs[0] and "replacement" not in jobs[1]
    assert jobs[2]["replacement"] == {
        "for": [{"run_id": run_dir.name, "job_id": jobs[p]["job_id"]} for p in (0, 1)],
        "short": ["sum infer b1: 1 of 2 stable"],
    }
    assert json.loads((run_dir / "manifest.json").read_text())["jobs"][-1] == jobs[2]["job_id"]
    # Once the result is written the kernel is stopped at once, not left to finalize: its exit hooks never ran.
    flaky = copy / "experiments" / "flaky"
    assert sorted(p.name for p in flaky.glob("ran-*")) == ["ran-0", "ran-1", "ran-2"]
    assert not list(flaky.glob("exited-*"))
    # The cell now has its two stable processes; the report pools the replacement's series with process 1's.
    pooled = subprocess.run(
        [
            sys.executable,
            "-c",
            "from fwbench.report.results import Report; "
            "print(sorted(p[-2:] for per in Report.load().samples('flaky').values() for p in per))",
        ],
        cwd=copy,
        env=package_copy.env(copy, store),
        capture_output=True,
        text=True,
    )
    assert pooled.stdout.split() == ["['p1',", "'p2']"], pooled.stderr

    again = package_copy.run(copy, "run", "--profile", str(profile), "--no-progress", store=store)
    assert "0 executed, 2 reused" in again.stdout and len(list((store / "runs").iterdir())) == 1


#: An experiment whose jobs show every path and secret they can see, as a careless experiment might: in the
#: notebook's output, the kernel log, the stored result and (process 1) an error's message and traceback.
LEAKY = {
    "__init__.py": '"""Leaky: a job that shows what it can see of its maker (proves the store keeps none of it)."""\n',
    "experiment.py": '''"""The leaky experiment's declaration."""

from fwbench.experiments.base import Experiment
from fwbench.experiments.leaky.measure import Params

EXPERIMENT = Experiment(name="leaky", title="Leaky", params=Params, variants_of=lambda fw: {"show": "eager"},
                        workloads=("numbers",), default_processes=2)
''',
    "measure.py": '''"""What a leaky job runs."""

import os
import sys
import tempfile
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Params:
    """Nothing to set."""


def run(job):
    seen = {"home": os.path.expanduser("~"), "cwd": os.getcwd(), "tmp": tempfile.gettempdir(),
            "python": sys.executable, "token": os.environ.get("TF_API_TOKEN", "")}
    print(seen, flush=True)
    os.write(2, f"{seen} {os.environ.get('NVIDIA_API_KEY')}\\\\n".encode())  # fd 2 is the kernel log
    os.write(1, b"chatter a framework wrote to fd 1 from C++\\\\n")  # so is fd 1: never the runner's terminal
    if os.environ.get("LEAKY_HANG"):
        time.sleep(300)
    if job.process == 1:
        raise RuntimeError(f"failed in {os.getcwd()} holding {os.environ.get('TORCHSERVE_AUTH_TOKEN')}")
    return {"records": [], "checks": [], "samples": [], "seen": seen,
            "settings": {"auth": os.environ.get("TRITON_API_KEY")}}
''',
    "chapter.md": "# Leaky\n",
}


def _leaky_copy(root):
    import package_copy

    copy = package_copy.make(root)
    package_copy.add_experiment(copy, "leaky", LEAKY)
    profile = copy / "leaky.yml"
    profile.write_text("name: leaky\nexperiments:\n  leaky:\n    frameworks: [torch]\n")
    return copy, profile


def test_nothing_stored_names_the_makers_home_or_holds_a_secret(tmp_path, monkeypatch):
    import json
    import secrets

    import package_copy

    home = tmp_path / "home" / "maker"
    # The checkout, its scratch folder (.fwbench), its temp folder (.tmp) and the store: all in the maker's home.
    copy, profile = _leaky_copy(home / "fwbench")
    store = home / "results"
    tokens = {
        name: f"tok-{secrets.token_hex(12)}"
        for name in (
            "TF_API_TOKEN",
            "TF_TOKEN_app_terraform_io",
            "NVIDIA_API_KEY",
            "TORCHSERVE_AUTH_TOKEN",
            "TRITON_API_KEY",
        )
    }
    monkeypatch.setenv("HOME", str(home))
    for name, value in tokens.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XLA_FLAGS", f"--xla_dump_to={home}/dumps")  # a recorded variable that names a private path
    ran = package_copy.run(copy, "run", "--profile", str(profile), "--no-progress", store=store)
    assert "2 executed, 0 reused, 1 failed" in ran.stdout, ran.stdout + ran.stderr
    assert "chatter a framework wrote" not in ran.stdout + ran.stderr

    files = [p for p in store.rglob("*") if p.is_file()]
    assert {"manifest.json", "jobs", "notebooks", "logs"} <= {
        p.parent.name if p.suffix != ".json" or p.parent.name == "jobs" else p.name for p in files
    }
    for path in files:
        text = path.read_text(errors="replace")
        for private in (str(home), *tokens.values()):
            assert private not in text, f"{path.relative_to(store)} holds {private}"
    (run_dir,) = (store / "runs").iterdir()
    fp = json.loads((run_dir / "manifest.json").read_text())["fingerprint"]
    assert fp["environment"]["XLA_FLAGS"] == "--xla_dump_to=~/dumps" and not set(tokens) & set(fp["environment"])
    jobs = {j["process"]: j for j in (json.loads(p.read_text()) for p in (run_dir / "jobs").glob("*.json"))}
    # What was there is still said, in placeholders: where the job ran, that a secret was shown.
    assert jobs[0]["seen"]["home"] == "~" and jobs[0]["seen"]["cwd"].startswith("<scratch>/work/")
    assert jobs[0]["seen"]["tmp"].startswith("<tmp>/fwbench-cell-") and jobs[0]["settings"]["auth"] == "<redacted>"
    assert jobs[0]["settings"]["env"]["TORCHINDUCTOR_CACHE_DIR"].startswith("<scratch>/work/")
    assert "<redacted>" in jobs[1]["error"]["message"] and "<scratch>/work/" in jobs[1]["error"]["message"]
    papermill = json.loads((run_dir / "notebooks" / f"{jobs[0]['job_id']}.ipynb").read_text())["metadata"]["papermill"]
    assert papermill["input_path"] == "<checkout>/experiments/leaky/notebook.ipynb"
    assert papermill["parameters"]["output_path"].startswith("<scratch>/work/")
    assert "<redacted>" in (run_dir / "logs" / f"{jobs[0]['job_id']}.log").read_text()

    # Keys are made from the inputs, not from the scrubbed copies: the stored success is reused.
    again = package_copy.run(copy, "run", "--profile", str(profile), "--no-progress", store=store)
    assert "1 executed, 1 reused, 1 failed" in again.stdout, again.stdout + again.stderr


def test_what_a_killed_runner_left_goes_with_the_next_run(tmp_path):
    import time

    import package_copy

    copy, profile = _leaky_copy(tmp_path / "copy")
    store, work, tmp = tmp_path / "store", copy / ".fwbench" / "work", copy / ".tmp"
    command = package_copy.command(store, "run", "--profile", str(profile), "--no-progress")
    env = {**package_copy.env(copy, store), "LEAKY_HANG": "1"}
    runner = subprocess.Popen(command, cwd=copy, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (list(work.glob("*/*/kernel-connection.json")) and list(tmp.glob("fwbench-cell-*"))):
            assert runner.poll() is None and time.monotonic() < deadline, "the runner never started its kernel"
            time.sleep(0.2)
    finally:
        runner.kill()  # SIGKILL: nothing of the runner's cleans up
        runner.wait()
    left = list(work.iterdir()) + list(tmp.glob("fwbench-cell-*"))
    assert len(left) == 2 and all(str(runner.pid) in p.name for p in left)
    assert not list(tmp.glob("tmp*.json"))  # the kernel's connection file (its HMAC key) was in the work folder

    # A runner beside the next one is alive: what it owns stays; so does a folder that names no owner.
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) as beside:
        theirs = [work / f"20990101T000000Z-m-pid{beside.pid}", tmp / f"fwbench-cell-{beside.pid}-abcdefgh"]
        unnamed = tmp / "fwbench-cell-abcdefgh"
        for folder in (*theirs, unnamed):
            folder.mkdir()
        ran = package_copy.run(copy, "run", "--profile", str(profile), "--no-progress", store=store)
        beside.kill()
    assert "2 executed, 0 reused, 1 failed" in ran.stdout, ran.stdout + ran.stderr
    assert not any(p.exists() for p in left) and all(p.exists() for p in (*theirs, unnamed))
    assert list(work.iterdir()) == theirs[:1] and not list(copy.rglob("kernel-connection.json"))
