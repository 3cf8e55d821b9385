"""Real two-process runs per framework: the known-answer all-reduce is exact and the parameters match one process."""

import time

import pytest

from fwbench.experiments.data_parallel import measure
from fwbench.experiments.data_parallel.measure import CONFIGS, Params, cpus_for, group_steps, run_config
from fwbench.measure.job import Request
from fwbench.workloads import get_workload
from tiers import full_only

# In the slow part's process (scripts/run_tests.py), to even out `make test`'s two halves.
pytestmark = pytest.mark.with_slow

# One redo at most: beside the rest of the test suite a launch may well read busy, and each redo is a launch.
TINY = Params(global_batch=8, steps=2, warmup=1, distinct_batches=2, keras_fit=False, timeout_s=240, busy_redo=1)


def job(framework, params=TINY, variant="2x1", process=0):
    return Request(
        framework=framework,
        device="cpu",
        workload="mlp",
        variant=variant,
        params=params,
        threads=2,
        process=process,
        progress=lambda what: None,
    )


def test_params_refuse_what_cannot_run():
    with pytest.raises(ValueError, match="even"):
        Params(global_batch=7)
    with pytest.raises(ValueError, match="fault"):
        Params(fault="sometimes")
    assert set(measure.variants("torch")) == set(CONFIGS) and measure.variants("jax")["2x1"] == "graph"


def test_cpus_are_disjoint_where_there_are_enough():
    assert cpus_for(2, 1, [0, 1]) == [[0], [1]]
    assert cpus_for(1, 2, [0, 1]) == [[0, 1]]
    assert cpus_for(2, 1, [5]) == [[5], [5]]  # one CPU: both ranks share it


def test_group_steps_take_the_slowest_rank_per_step_after_warmup():
    ranks = [{"step_times_s": [9.0, 1.0, 3.0]}, {"step_times_s": [8.0, 2.0, 1.0]}]
    assert group_steps(ranks, warmup=1) == [2.0, 3.0]


def test_a_non_mlp_workload_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="batch norm"):
        measure.run(
            Request(
                framework="torch",
                device="cpu",
                workload="cnn",
                variant="2x1",
                params=TINY,
                threads=2,
                progress=lambda what: None,
            )
        )


@pytest.mark.parametrize("framework", [full_only("torch"), "jax", full_only("tensorflow")])
def test_two_processes_train_like_one(framework, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = measure.run(job(framework))
    checks = {c["name"]: c for c in result["checks"]}
    assert checks["all_reduce_known_answer"]["passed"], checks["all_reduce_known_answer"]
    assert checks["params_match_single_process"]["passed"], checks["params_match_single_process"]
    assert checks["no_leftovers"]["passed"]
    roles = [(launch["config"], launch["role"], launch["outcome"]) for launch in result["launches"]]
    assert roles == [("2x1", "timed", "ok"), ("1x1", "reference", "ok")]
    metrics = {r["metric"] for r in result["records"] if r["variant"] == "2x1"}
    assert {"group_ready_s", "step_time_median_s", "all_reduce_exact", "params_match", "leftovers"} <= metrics
    (sample,) = result["samples"]
    assert sample["variant"] == "2x1" and len(sample["values"]) == TINY.steps
    # What other programs took while the timed launch ran (its two ranks are the job's own): the launch and its
    # records carry it, and a busy launch was run again up to the bound (never asserted quiet: tests run side by
    # side). The untimed reference is not guarded.
    (timed,) = [x for x in result["launches"] if x["role"] == "timed"]
    values = {r["metric"]: r["value"] for r in result["records"] if r["variant"] == "2x1"}
    for m in (timed, values):
        assert m["other_cpus"] >= 0 and m["busy_block"] in (0.0, 1.0)
        assert 1 <= m["block_attempts"] <= TINY.busy_redo + 1
    assert sample["busy"] is bool(timed["busy_block"])
    assert "busy_block" not in next(x for x in result["launches"] if x["role"] == "reference")
    assert all(r["value"] >= 0 for r in result["records"] if r["metric"].endswith("_s"))


def test_a_planted_failure_is_stored_as_a_result_not_raised(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = measure.run(job("torch", Params(**{**TINY.__dict__, "fault": "die"})))
    (launch,) = [entry for entry in result["launches"] if entry["role"] == "timed"]
    assert launch["outcome"] == "failed" and launch["error"]["type"] == "ProcessDied" and launch["leftovers"] == []
    values = {r["metric"]: r["value"] for r in result["records"]}
    assert values["launch_ok"] == 0 and values["leftovers"] == 0
    assert "params_match_single_process" not in {c["name"] for c in result["checks"]}
    assert result["samples"] == []


def test_one_process_configs_run_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    got = run_config(job("jax"), TINY, "1x2", tmp_path / "one")
    assert got.outcome == "ok" and got.ports == [] and got.ranks[0]["local_batch"] == TINY.global_batch
    assert get_workload("mlp").n_params > 0


def test_a_busy_launch_runs_again_and_keeps_what_earlier_attempts_left_behind(monkeypatch, tmp_path):
    from fwbench.experiments.data_parallel.launch import Launch

    made = []

    def fake(job, p, config, workdir, task="train"):
        time.sleep(0.05)  # a window long enough for the bound below to call it busy
        made.append(Launch([], "ok", None, 0.05, 0.0, [], [], leftovers=[f"pid {len(made)} (rank 0)"]))
        return made[-1]

    monkeypatch.setattr(measure, "run_config", fake)
    # A bound below zero CPUs: every attempt reads busy, so the launch is run busy_redo more times and kept busy.
    p = Params(**{**TINY.__dict__, "busy_cpus": -100.0, "busy_redo": 2})
    kept, quiet = measure.timed_launch(job("torch", p), p, "2x1", tmp_path)
    assert len(made) == 3 and kept is made[-1] and quiet.attempts == 3 and quiet.busy
    assert kept.leftovers == ["pid 0 (rank 0) (attempt 1)", "pid 1 (rank 0) (attempt 2)", "pid 2 (rank 0)"]
