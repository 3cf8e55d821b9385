"""Sequential rounds: which cell gets another process, when it stops, and what a stored extension says."""

import pytest

from fwbench.errors import InputError
from fwbench.matrix.profile import parse_profile
from fwbench.run.sequential import ENTRY, Extensions
from fwbench.store.replacement import is_current
from synthetic.eager_vs_graph import evg_job


def planned(start: int = 3, cap: int = 6, **block):
    p = parse_profile(
        {
            "name": "t",
            "experiments": {
                "eager_vs_graph": {
                    "frameworks": ["jax"],
                    "variants": ["eager", "jax.jit"],
                    "workloads": ["mlp"],
                    "processes": start,
                    "max_processes": cap,
                    **block,
                }
            },
        }
    )
    return list(p.jobs)


def key_of(job) -> str:
    return f"key-{job.job_id}"


def doc(job, run_id: str, times: dict, **extra) -> dict:
    d = evg_job(run_id, "jax", times, process=job.process, between=0.05, within=0.05, steps=20, seed=11)
    d.update(job_id=job.job_id, job_key=key_of(job), variant=job.variant, **extra)
    return d


def with_results(jobs, times) -> Extensions:
    return Extensions(tuple(jobs), key_of, {j.job_id: ("r1", doc(j, "r1", times)) for j in jobs})


def test_a_cell_whose_comparisons_are_decided_at_the_first_look_gets_no_more_processes():
    jobs = planned()
    assert all(j.max_processes == 6 and j.replacements == 0 for j in jobs) and len(jobs) == 3
    assert with_results(jobs, {"eager": 0.02, "jax.jit": 0.0005}).round() == []  # 40x: decided at 3 processes


def test_an_open_cell_grows_one_process_per_round_until_more_would_not_decide_it():
    from fwbench.experiments.eager_vs_graph.sequential import judge

    jobs = planned()
    edge = {"eager": 0.0106, "jax.jit": 0.0100}  # 1.06x: on the margin's edge
    ext = with_results(jobs, edge)
    (first,) = ext.round()
    assert first.process == 3 and first.cell_id == jobs[0].cell_id
    entry = ext.added[first.job_id]
    assert entry["look"] == 3 and entry["for"] == [{"run_id": "r1", "job_id": j.job_id} for j in jobs]
    assert "jax jax.jit vs eager" in entry["open"] and "at 3 processes" in entry["open"]
    job, looks = first, [3]
    while job is not None:
        assert job.process == looks[-1] and ext.added[job.job_id]["look"] == job.process
        ext.store("r2", doc(job, "r2", edge, **{ENTRY: ext.added[job.job_id]}))
        batch = ext.round()
        job = batch[0] if batch else None
        looks.append(looks[-1] + 1)
    # It stopped at the cap, or earlier where its comparisons could not be decided by the cap (futile).
    docs, _ = ext._docs(jobs[0].cell_id)
    state = judge({jobs[0].cell_id: docs}, {jobs[0].cell_id: ext.design(jobs[0].cell_id)})[jobs[0].cell_id]
    assert not state["open"] and (len(docs) == 6 or state["futile"])
    assert not ext.may_grow(jobs[0].cell_id) or state["futile"]


def test_a_stored_extension_counts_only_while_the_processes_it_was_added_to_are_the_newest():
    jobs = planned()
    edge = {"eager": 0.0106, "jax.jit": 0.0100}
    ext = with_results(jobs, edge)
    (job,) = ext.round()
    stored = doc(job, "r2", edge, **{ENTRY: ext.added[job.job_id]})
    ext.store("r2", stored)
    current = {j: r for j, (r, _) in ext.newest.items()}
    assert is_current(stored, current)
    ext.store("r3", doc(jobs[0], "r3", edge))  # process 0 measured again: the extension's cell is gone
    assert not is_current(stored, {j: r for j, (r, _) in ext.newest.items()})
    assert not is_current({ENTRY: "not an entry"}, current)
    (again,) = ext.round()
    assert again.process == 3  # the next look starts from the cell as it now stands


@pytest.mark.parametrize(
    "block, words",
    [
        ({"processes": 3, "max_processes": 2}, "max_processes: expected 3 to"),
        ({"processes": 2, "max_processes": 4}, "starts with at least 3 processes"),
    ],
)
def test_a_design_that_cannot_work_is_refused_in_one_line(block, words):
    with pytest.raises(InputError, match=words):
        parse_profile({"name": "t", "experiments": {"eager_vs_graph": {"frameworks": ["jax"], **block}}})
    with pytest.raises(InputError, match="has no sequential rule"):
        parse_profile(
            {"name": "t", "experiments": {"debugging": {"frameworks": ["jax"], "processes": 3, "max_processes": 4}}}
        )


def test_plan_says_how_many_processes_the_sequential_cells_may_add():
    from fwbench.run.plan import Planned, describe

    lines = describe([Planned(job, "run", "", ()) for job in planned(3, 6)])
    assert lines[-1].endswith(
        "3 jobs; then, in 1 cells of sequential designs, up to 3 more processes in all, one per "
        "cell and round while a comparison is undecided"
    )


def test_no_round_starts_once_the_run_has_taken_its_profiles_budget():
    now = [0.0]
    jobs = planned()
    edge = {"eager": 0.0106, "jax.jit": 0.0100}  # open at the first look (test above)

    def extensions():
        stored = {j.job_id: ("r1", doc(j, "r1", edge)) for j in jobs}
        return Extensions(tuple(jobs), key_of, stored, budget_min=1, clock=lambda: now[0])

    now[0] = 0.0
    within = extensions()
    now[0] = 30.0
    assert len(within.round()) == 1 and within.stopped is None  # within the budget: the open cell grows
    now[0] = 0.0
    past = extensions()
    now[0] = 61.5
    assert past.round() == []  # past it: no round, and the run records why the open cell stopped
    assert past.stopped == {"reason": "budget", "budget_min": 1, "after_min": 1.02, "open_cells": 1}
    # A cell decided at the first look was never stopped by the budget: nothing to record.
    quick = Extensions(
        tuple(jobs),
        key_of,
        {j.job_id: ("r1", doc(j, "r1", {"eager": 0.02, "jax.jit": 0.0005})) for j in jobs},
        budget_min=1,
        clock=lambda: now[0],
    )
    now[0] = 1000.0
    assert quick.round() == [] and quick.stopped is None
