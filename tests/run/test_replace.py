"""Replacement processes: which cell gets one, when it stops, and when a stored one no longer counts."""

from fwbench.matrix.profile import parse_profile
from fwbench.run.replace import Replacements, short_series
from fwbench.store.replacement import is_current
from synthetic.eager_vs_graph import evg_job

TIMES = {"eager": 0.02, "jax.jit": 0.005}


def planned(cap: int = 2):
    p = parse_profile(
        {
            "name": "t",
            "experiments": {
                "eager_vs_graph": {
                    "frameworks": ["jax"],
                    "variants": ["eager", "jax.jit"],
                    "workloads": ["mlp"],
                    "processes": 4,
                    "replacement_processes": cap,
                }
            },
        }
    )
    return list(p.jobs)


def key_of(job) -> str:
    return f"key-{job.job_id}"


def doc(job, run_id: str, unstable: bool = False, status: str = "ok", **extra) -> dict:
    """The stored result of `job`, with its jax.jit series unstable if asked."""
    d = evg_job(run_id, "jax", TIMES, process=job.process, unstable="jax.jit" if unstable else None)
    d.update(job_id=job.job_id, job_key=key_of(job), variant=job.variant, status=status, **extra)
    return d


def with_results(jobs, unstable=(), run_id="r1") -> Replacements:
    newest = {j.job_id: (run_id, doc(j, run_id, unstable=j.process in unstable)) for j in jobs}
    return Replacements(tuple(jobs), key_of, newest)


def run(reps: Replacements, job, run_id: str, unstable: bool = False, status: str = "ok") -> None:
    """What the runner does with a replacement: run it, store it with its 'replacement' entry."""
    reps.store(run_id, doc(job, run_id, unstable=unstable, status=status, replacement=reps.added[job.job_id]))


def test_a_cell_whose_series_are_all_stable_gets_none():
    jobs = planned()
    assert with_results(jobs).round() == []


def test_a_cell_short_of_stable_processes_gets_replacements_until_it_has_them():
    jobs = planned()
    reps = with_results(jobs, unstable=(1, 2))
    (first,) = reps.round()
    assert first.process == 4 and first.cell_id == jobs[0].cell_id and first.replacements == 2
    entry = reps.added[first.job_id]
    assert entry["for"] == [{"run_id": "r1", "job_id": j.job_id} for j in jobs]
    assert entry["short"] == ["jax.jit infer b32: 2 of 4 stable", "jax.jit train b32: 2 of 4 stable"]
    run(reps, first, "r2")
    (second,) = reps.round()
    assert second.process == 5 and reps.added[second.job_id]["short"][0] == "jax.jit infer b32: 3 of 4 stable"
    run(reps, second, "r2")
    assert reps.round() == []


def test_replacements_stop_at_the_cap_even_when_they_fail_or_are_unstable_themselves():
    jobs = planned(cap=2)
    reps = with_results(jobs, unstable=(0,))
    (first,) = reps.round()
    run(reps, first, "r2", status="failed")
    (second,) = reps.round()
    assert second.process == 5
    run(reps, second, "r2", unstable=True)
    assert reps.round() == []  # still short, but the cell has had its two
    assert with_results(planned(cap=0), unstable=(0, 1)).round() == []


def test_a_failed_planned_process_is_not_replaced_and_one_without_a_result_waits():
    jobs = planned()
    newest = {j.job_id: ("r1", doc(j, "r1", status="failed" if j.process == 3 else "ok")) for j in jobs}
    assert Replacements(tuple(jobs), key_of, newest).round() == []
    del newest[jobs[0].job_id]
    newest[jobs[1].job_id] = ("r1", doc(jobs[1], "r1", unstable=True))
    assert Replacements(tuple(jobs), key_of, newest).round() == []


def test_a_stored_replacement_counts_only_while_its_processes_are_the_newest_and_its_key_is_current():
    jobs = planned()
    reps = with_results(jobs, unstable=(1, 2))
    (first,) = reps.round()
    run(reps, first, "r2")
    # Reused as it stands by the next run: a fresh Replacements over the same store asks for the fifth only.
    again = Replacements(tuple(jobs), key_of, dict(reps.newest))
    assert [j.process for j in again.round()] == [5]
    # Process 1 measured again: the replacement belonged to a cell that no longer exists, and its slot is reused.
    reps.store("r3", doc(jobs[1], "r3"))
    (fresh,) = reps.round()
    assert fresh.process == 4 and {"run_id": "r3", "job_id": jobs[1].job_id} in reps.added[fresh.job_id]["for"]
    assert not is_current(reps.newest[first.job_id][1], {j: r for j, (r, _) in reps.newest.items()})
    # New code: the stored replacement's key is not the job's any more.
    reps = with_results(jobs, unstable=(1, 2))
    (first,) = reps.round()
    run(reps, first, "r2")
    reps.key_of = lambda job: "new code"
    assert [j.process for j in reps.round()] == [4]


def test_short_series_leave_out_twins_and_failed_jobs():
    docs = [evg_job("r1", "jax", TIMES, process=p, twin=True, unstable="eager" if p == 0 else None) for p in range(3)]
    docs.append({**docs[0], "status": "failed"})
    # A series with no steps is no series (the report skips it too): it never asks for a replacement.
    docs.append({**docs[1], "samples": [{"phase": "infer", "batch_size": 999, "variant": "eager", "values": []}]})
    assert short_series(docs, 3) == ["eager infer b32: 2 of 3 stable", "eager train b32: 2 of 3 stable"]


def test_a_replacement_for_series_measured_on_a_busy_machine_says_so():
    """The runner holds back (until the next run) the replacements of busy series while the machine is still busy,
    and starts the others: it needs to tell them apart."""
    jobs = planned()
    reps = with_results(jobs, unstable=(1,))
    (job,) = reps.round()
    assert not reps.after_busy(job)  # unsteady on a quiet machine: replaced at once
    busy = with_results(jobs, unstable=(1,))
    for entry in busy.newest[jobs[1].job_id][1]["samples"]:
        if entry["stable"] is False:
            entry["busy"] = True
    (job,) = busy.round()
    assert busy.after_busy(job)
