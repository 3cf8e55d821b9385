"""The runner under abuse, for real (SIGKILL mid-matrix then rerun, a kernel that dies, a second runner refused), and
fwbench.report.reliability's cross-run A/A control allowing for the shift of a whole run, on seeded synthetic runs.

The runner tests run from a copy of the project (tests/package_copy.py): its own scratch folder and runner lock, so
they do not wait for the end-to-end test's runner (they measure nothing). `make test` runs them in that test's
process (`with_slow`), which otherwise ends well before the other."""

import math
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import package_copy
from conftest import manifest
from fwbench.measure import stats
from fwbench.report import reliability
from fwbench.report.results import Report, comparison_columns
from fwbench.store.store import Store
from synthetic.eager_vs_graph import evg_runs

EXP = "eager_vs_graph"

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
    return subprocess.Popen(
        package_copy.command(store, "run", "--profile", str(profile), "--no-progress"),
        cwd=copy,
        env=package_copy.env(copy, store),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


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


def plant_stray(kernel: int) -> subprocess.Popen:
    """A process in a session of its own carrying the job's mark, as a server the job started would be
    (fwbench.run.strays): nothing reaches it when the kernel or the runner dies."""
    import psutil

    from fwbench.run import strays

    mark = psutil.Process(kernel).environ()[strays.MARK]
    return subprocess.Popen(
        ["sleep", "600"], env={**os.environ, strays.MARK: mark}, start_new_session=True, stdout=subprocess.DEVNULL
    )


def ended(proc: subprocess.Popen, timeout: float = 30) -> bool:
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


@pytest.fixture
def copy(tmp_path):
    return package_copy.make(tmp_path / "copy")


@pytest.fixture
def profile(tmp_path):
    path = tmp_path / "reliability.yml"
    path.write_text(PROFILE)
    return path


@pytest.mark.with_slow
def test_sigkill_mid_matrix_then_rerun_loses_and_duplicates_nothing(tmp_path, copy, profile):
    store = tmp_path / "store"
    first = runner(copy, store, profile)
    try:
        wait_for(lambda: len(job_files(store)) == 1, what="the first job's result")
        wait_for(lambda: kernels_of(first.pid), what="the second job's kernel")
        stray = plant_stray(kernels_of(first.pid)[0])
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
    assert ended(stray, timeout=1)  # what the killed run's job left running, the rerun stopped first


@pytest.mark.with_slow
def test_sigterm_mid_job_stops_the_jobs_servers_and_exits_143(tmp_path, copy, profile):
    store = tmp_path / "store"
    proc = runner(copy, store, profile)
    try:
        wait_for(lambda: kernels_of(proc.pid), what="the first kernel")
        stray = plant_stray(kernels_of(proc.pid)[0])
        os.killpg(proc.pid, signal.SIGTERM)  # as `kill -- -PGID`, a cancelled CI job or a stopped service does
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 143, err[-2000:]
    assert ended(stray, timeout=1)  # stopped by the run itself, not left to the next one
    runs, problems = Store(store).load()  # and the run ended through its `finally`: closed, its scratch removed
    assert not problems and runs[0].manifest["status"] == "interrupted"
    assert not list((copy / ".fwbench" / "work").glob(f"{runs[0].run_id}*"))


@pytest.mark.with_slow
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


# ---- the cross-run A/A control and the shift of a whole run (issue 35) -----------------------------------------


def _cells(frameworks: dict, workloads=("mlp", "rnn"), batches=(1, 32)) -> list[tuple]:
    """Sample keys (with replicate 0) for every {framework: [variants]} x workload x phase x batch."""
    return [
        ("testbox", fw, "cpu", w, v, phase, b, "d0", 0)
        for fw, variants in frameworks.items()
        for v in variants
        for w in workloads
        for phase in ("train", "infer")
        for b in batches
    ]


def _two_runs(cells, seed: int, shift=None, planted=None, processes: int = 4, between: float = 0.02):
    """Two seeded runs of the same cells ({key: {process: steps}}), `processes` fresh processes each with a log-normal
    process effect of sd `between` and 30 steps scattering 2%; run 2's true step time is `shift(key)` times run 1's
    for every cell (a whole-run shift), and `planted` ({key: factor}) multiplies a cell's on top (a real difference)."""
    rng = np.random.default_rng(seed)

    def run(tag, factor):
        out = {}
        for i, key in enumerate(cells):
            level = 0.001 * (1 + i % 7) * factor(key)
            out[key] = {
                f"{tag}{p}": list(level * np.exp(rng.normal(0, between) + 0.02 * rng.standard_normal(30)))
                for p in range(processes)
            }
        return out

    return run("a", lambda key: 1.0), run(
        "b", lambda key: (shift(key) if shift else 1.0) * (planted or {}).get(key, 1.0)
    )


def _called(table) -> pd.Series:
    return table["verdict"].isin(["faster", "slower"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_whole_run_shift_of_one_framework_is_allowed_for(seed):
    """JAX's every cell 0.87x as fast in run 2 (a day effect), nothing else different: the raw control calls JAX's
    cells slower; the shift-adjusted control calls no more cells than a control at the issue's target rate of 5%
    would at its 99th percentile, and fewer than the raw one."""
    from scipy.stats import binom

    cells = _cells({"jax": ["eager", "jax.jit"], "torch": ["eager", "torch.compile"]})
    first, second = _two_runs(cells, seed, shift=lambda key: 1 / 0.87 if key[1] == "jax" else 1.0)
    raw = pd.DataFrame([{"framework": k[1], **comparison_columns(stats.compare(first[k], second[k]))} for k in cells])
    adjusted = reliability.adjusted_comparisons(first, second, EXP)
    jax = (raw["framework"] == "jax").to_numpy()
    # By construction the shift (log 1/0.87 = 0.14) is about ten standard errors of a 4-vs-4 cell beyond the margin.
    assert _called(raw)[jax].mean() >= 0.5 and (raw.loc[jax, "verdict"].isin(["slower", "inconclusive"])).all()
    bound = int(binom.ppf(0.99, len(cells), 0.05))
    assert _called(adjusted).sum() <= bound < _called(raw).sum()
    assert _called(adjusted).sum() < _called(raw).sum()
    # The shift divided out is JAX's (from its other cells), and nothing is divided out of Torch's.
    shifted = adjusted[adjusted["framework"] == "jax"]
    assert (shifted["shift_cells"] == 7).all()  # 8 cells per framework and mode, the judged one left out
    assert (np.abs(np.log(shifted["run_shift"] * 0.87)) < math.log1p(stats.EQUIVALENCE_MARGIN)).all()
    assert (np.abs(np.log(adjusted["speedup"])) < math.log1p(stats.EQUIVALENCE_MARGIN)).mean() > 0.9


def test_a_real_difference_in_one_cell_of_six_is_still_called_leave_one_out():
    """Six JAX eager cells, all shifted 0.87x in run 2, one of them 1.5x slower still: the adjusted control still calls
    that one (its own move is not in the shift divided out of it) and the shift it used is the median of the other
    five cells' moves."""
    cells = _cells({"jax": ["eager"]}, workloads=("mlp", "rnn", "cnn"), batches=(32,))
    assert len(cells) == 6
    target = cells[2]
    first, second = _two_runs(cells, 7, shift=lambda key: 1 / 0.87, planted={target: 1.5})
    row = reliability.adjusted_comparisons(first, second, EXP)
    planted = row[(row["workload"] == target[3]) & (row["phase"] == target[5])].iloc[0]
    assert planted["verdict"] == "slower" and planted["speedup_ci_high"] < 1 / 1.05
    moves = reliability.cell_moves(first, second)
    others = [moves[k] for k in cells if k != target]
    assert planted["run_shift"] == pytest.approx(math.exp(float(np.median(others))))
    assert planted["shift_cells"] == 5
    # The other five are judged against shifts that include the planted cell's move, and are not called.
    assert len(row) == 6 and not _called(row.drop(planted.name)).any()


def test_a_group_with_too_few_other_cells_is_left_unadjusted():
    """Three cells of a framework and mode leave two when one is judged: below MIN_SHIFT_CELLS, so they are compared
    as the raw control compares them (and say so: no shift, two cells); four cells are adjusted."""
    few = _cells({"tensorflow": ["eager"]}, workloads=("mlp",), batches=(1, 32))[:3]
    enough = _cells({"jax": ["eager"]}, workloads=("mlp",), batches=(1, 32))
    first, second = _two_runs(few + enough, 5, shift=lambda key: 1 / 0.87)
    adjusted = reliability.adjusted_comparisons(first, second, EXP)
    small = adjusted[adjusted["framework"] == "tensorflow"]
    assert len(small) == 3 and small["run_shift"].isna().all() and (small["shift_cells"] == 2).all()
    for _, r in small.iterrows():
        key = ("testbox", "tensorflow", "cpu", r["workload"], "eager", r["phase"], r["batch_size"], "d0", 0)
        raw = stats.compare(first[key], second[key])
        assert (r["speedup_ci_low"], r["speedup_ci_high"], r["verdict"]) == (raw.ci_low, raw.ci_high, raw.verdict)
    big = adjusted[adjusted["framework"] == "jax"]
    assert big["run_shift"].notna().all() and (big["shift_cells"] == 3).all()
    assert not reliability.run_shift([0.1, 0.2]).estimated and reliability.run_shift([0.1, 0.2, 0.3]).estimated


def test_the_shift_widens_the_interval_by_its_own_uncertainty():
    """Dividing out an estimated shift costs precision: the adjusted interval is at least as wide on the log scale
    as the raw one, and wider the more the group's cells disagree about the shift."""
    c = stats.compare(
        {"a0": [1.0, 1.01], "a1": [1.02, 1.0], "a2": [0.99, 1.0]},
        {"b0": [1.1, 1.11], "b1": [1.12, 1.1], "b2": [1.09, 1.1]},
    )
    tight = reliability.shift_adjusted(c, reliability.run_shift([0.095, 0.1, 0.105, 0.1]))
    loose = reliability.shift_adjusted(c, reliability.run_shift([0.0, 0.1, 0.2, 0.1]))
    width = [math.log(x.ci_high / x.ci_low) for x in (c, tight, loose)]
    assert width[0] < width[1] < width[2]
    assert abs(tight.log_ratio) < abs(c.log_ratio)  # the common 10% move is divided out


def test_the_raw_and_adjusted_controls_and_the_shifts_from_stored_runs(tmp_path):
    """Through stored runs (Report): JAX shifted as a whole in the second run; `between_runs` keeps calling it,
    `between_runs_adjusted` allows for it, and `shift_table` names the shift per framework and mode."""
    times = {
        ("jax", "eager"): 0.004,
        ("jax", "jax.jit"): 0.001,
        ("torch", "eager"): 0.003,
        ("torch", "torch.compile"): 0.002,
    }
    reports = []
    for run_id, factor in (("20260101T000000Z-a", 1.0), ("20260102T000000Z-b", 1 / 0.87)):
        store = Store(tmp_path / run_id)
        store.write_manifest(manifest(run_id))
        for workload in ("mlp", "rnn"):
            shifted = {k: t * (factor if k[0] == "jax" else 1.0) for k, t in times.items()}
            for doc in evg_runs(run_id, shifted, seed=len(reports), workload=workload, between=0.01, within=0.01):
                store.write_job(doc)
        reports.append(Report.load(store.root))
    raw = reliability.between_runs(*reports, EXP)
    adjusted = reliability.between_runs_adjusted(*reports, EXP)
    assert len(raw) == len(adjusted) == 16
    assert _called(raw[raw["framework"] == "jax"]).sum() > _called(adjusted[adjusted["framework"] == "jax"]).sum()
    shifts = reliability.shift_table(*reports, EXP).set_index(["framework", "mode"])
    assert set(shifts.index) == {("jax", "eager"), ("jax", "graph"), ("torch", "eager"), ("torch", "graph")}
    assert (shifts["cells"] == 4).all()
    jax = shifts.loc[[("jax", "eager"), ("jax", "graph")]]
    assert ((jax["ci_low"] <= jax["run_shift"]) & (jax["run_shift"] <= jax["ci_high"])).all()
    assert (np.abs(np.log(jax["run_shift"] * 0.87)) < math.log1p(stats.EQUIVALENCE_MARGIN)).all()
    torch = shifts.loc[[("torch", "eager"), ("torch", "graph")]]
    assert (np.abs(np.log(torch["run_shift"])) < math.log1p(stats.EQUIVALENCE_MARGIN)).all()
