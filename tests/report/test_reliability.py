"""The runner under abuse, for real: SIGKILL mid-matrix then rerun, a kernel that dies, a second runner refused.

Each test runs from a copy of the project (tests/package_copy.py): its own scratch folder and runner lock, so
they do not wait for the end-to-end test's runner (they measure nothing). `make test` runs them in that test's
process (`with_slow`), which otherwise ends well before the other."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import package_copy
from fwbench.store.store import Store

pytestmark = pytest.mark.with_slow

PROFILE = """name: reliability
timeout_s: 300
experiments:
  eager_vs_graph:
    frameworks: [jax]
    variants: [eager]
    devices: [cpu]
    workloads: [mlp]
    processes: 3
    replacement_processes: 0  # counts below are of planned jobs; an unstable series must not add one at random
    params: {batch_size: 8, infer_batch_sizes: [8], min_samples: 5, min_blocks: 2, max_blocks: 4, max_time_s: 0.1}
"""


def runner(copy: Path, store: Path, profile: Path) -> subprocess.Popen:
    # Its own session, so the test can kill the runner together with its kernel, as a cancelled CI job would.
    return subprocess.Popen(package_copy.command(store, "run", "--profile", str(profile), "--no-progress"), cwd=copy,
                            env=package_copy.env(copy, store), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def wait_for(predicate, timeout=240, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def job_files(store: Path) -> list[Path]:
    return sorted(store.glob("runs/*/jobs/*.json"))


def kernels_of(pid: int) -> list[int]:
    """The papermill kernels a runner has started (its children running fwbench.run.kernel_launcher)."""
    out = subprocess.run(["pgrep", "-P", str(pid), "-f", "fwbench.run.kernel_launcher"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.fixture
def copy(tmp_path):
    return package_copy.make(tmp_path / "copy")


@pytest.fixture
def profile(tmp_path):
    path = tmp_path / "reliability.yml"
    path.write_text(PROFILE)
    return path


def test_sigkill_mid_matrix_then_rerun_loses_and_duplicates_nothing(tmp_path, copy, profile):
    store = tmp_path / "store"
    first = runner(copy, store, profile)
    try:
        wait_for(lambda: len(job_files(store)) == 1, what="the first job's result")
        wait_for(lambda: kernels_of(first.pid), what="the second job's kernel")
        # While it measures, a second runner (same store, or any store on this machine) is refused.
        for other in (store, tmp_path / "other-store"):
            second = package_copy.run(copy, "run", "--profile", str(profile), "--no-progress", store=other)
            assert second.returncode == 2
            assert second.stderr.strip().count("\n") == 0 and "another fwbench runner" in second.stderr
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert len(job_files(store)) == 1  # the job in flight left nothing behind
    runs, problems = Store(store).load()
    assert not problems and runs[0].manifest["status"] == "running"

    again = package_copy.run(copy, "run", "--profile", str(profile), "--no-progress", store=store, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "2 executed, 1 reused, 0 failed" in again.stdout
    runs, problems = Store(store).load()
    assert not problems and [r.manifest["status"] for r in runs] == ["interrupted", "complete"]
    jobs = [j for r in runs for j in r.jobs]
    assert sorted(j["process"] for j in jobs) == [0, 1, 2]  # each job once: nothing lost, nothing duplicated
    assert all(j["status"] == "ok" for j in jobs)
    assert runs[1].manifest["reused"] == {jobs[0]["job_id"]: runs[0].run_id}


def test_a_kernel_that_dies_is_a_failure_and_the_matrix_goes_on(tmp_path, copy, profile):
    store = tmp_path / "store"
    proc = runner(copy, store, profile)
    try:
        wait_for(lambda: kernels_of(proc.pid), what="the first kernel")
        for pid in kernels_of(proc.pid):
            os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, err[-2000:]
    assert "3 executed, 0 reused, 1 failed" in out
    runs, problems = Store(store).load()
    assert not problems and runs[0].manifest["status"] == "complete"
    failed = [j for j in runs[0].jobs if j["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["process"] == 0
    error = (failed[0]["error"]["type"] + " " + failed[0]["error"]["message"]).lower()
    assert "dead" in error or "died" in error, error
