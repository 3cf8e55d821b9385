"""Expected time of a profile's jobs: the stored time of the same job, else the same job on an imported machine, else
the stored time of the same cell, else the experiment's median on this machine, else the experiment's stated default;
sequential designs add their most; a budget overrun is one warning line."""

import dataclasses

import pytest

from fwbench.experiments import EXPERIMENTS
from fwbench.matrix.profile import parse_profile
from fwbench.run import estimate


def profile(**graph):
    """Two experiments: eager_vs_graph (torch on mlp and rnn, optionally sequential) and torch's debugging tools."""
    spec = {"frameworks": ["torch"], "devices": ["cpu"], "workloads": ["mlp", "rnn"], "processes": 3, **graph}
    return parse_profile({"name": "t", "experiments": {"eager_vs_graph": spec, "debugging": {"frameworks": ["torch"]}}})


def stored(job, seconds, run_id="20260101T000000Z-m", status="ok", **changed):
    """A stored result of `job` (with fields changed, e.g. other params) that took `seconds`."""
    doc = {
        "job_id": job.job_id,
        "experiment": job.experiment,
        "framework": job.framework,
        "device": job.device,
        "workload": job.workload,
        "variant": job.variant,
        "process": job.process,
        "params": job.params,
        "status": status,
        "duration_s": seconds,
        **changed,
    }
    return run_id, doc


def row(rows, experiment):
    return next(r for r in rows if r.experiment == experiment)


def test_nothing_stored_takes_each_experiments_stated_default():
    p = profile()
    rows = estimate.expected(p.jobs, {j.job_id for j in p.jobs}, [])
    for r in rows:
        n = sum(j.experiment == r.experiment for j in p.jobs)
        assert (r.to_run, r.reused, dict(r.sources)) == (n, 0, {estimate.DEFAULT: n})
        assert r.seconds == pytest.approx(n * EXPERIMENTS[r.experiment].default_job_s)
        assert EXPERIMENTS[r.experiment].default_job_s > 0


def test_the_newest_stored_time_of_the_same_cell_even_under_a_changed_key():
    p = profile()
    mlp0 = next(j for j in p.jobs if j.experiment == "eager_vs_graph" and j.workload == "mlp" and j.process == 0)
    rnn0 = next(j for j in p.jobs if j.experiment == "eager_vs_graph" and j.workload == "rnn" and j.process == 0)
    history = [
        stored(mlp0, 40.0, "20260101T000000Z-m"),
        stored(mlp0, 30.0, "20260102T000000Z-m"),
        # rnn's cell measured under other parameters (another job id): still this cell's best guess
        stored(rnn0, 50.0, job_id="eager_vs_graph-other-p0", params={"batch_size": 8}),
    ]
    times = estimate.Times(history)
    assert times.of(mlp0) == (30.0, estimate.STORED)
    assert times.of(rnn0) == (50.0, estimate.STORED)


def test_without_the_cell_the_median_of_the_experiments_stored_jobs_and_never_a_failed_ones():
    p = profile()
    graph = [j for j in p.jobs if j.experiment == "eager_vs_graph"]
    mlp = [j for j in graph if j.workload == "mlp"]
    history = [stored(j, s) for j, s in zip(mlp, (10.0, 20.0, 60.0))]
    history.append(stored(mlp[0], 999.0, "20251201T000000Z-m", job_id="older", process=9))  # an older run's job
    history.append(stored(graph[-1], 500.0, status="failed"))
    rnn = [j for j in graph if j.workload == "rnn"]
    times = estimate.Times(history)
    assert times.median["eager_vs_graph"] == pytest.approx(40.0)  # median of 10, 20, 60, 999
    for job in rnn:
        assert times.of(job) == (pytest.approx(40.0), estimate.MEDIAN)
    rows = estimate.expected(p.jobs, {j.job_id for j in p.jobs}, history)
    r = row(rows, "eager_vs_graph")
    assert dict(r.sources) == {estimate.STORED: 3, estimate.MEDIAN: 3}
    assert r.seconds == pytest.approx(10 + 20 + 60 + 3 * 40.0)
    assert dict(row(rows, "debugging").sources) == {
        estimate.DEFAULT: len([j for j in p.jobs if j.experiment == "debugging"])
    }


def test_the_same_job_on_an_imported_machine_comes_before_this_machines_cell_under_other_parameters():
    # A full-profile job never run here: the committed 2-core reference's time of that very job (the median over
    # imported machines) says more than this machine's quick job of the same cell, which measured less.
    p = profile()
    mlp0, mlp1 = [j for j in p.jobs if j.experiment == "eager_vs_graph" and j.workload == "mlp"][:2]
    here = [stored(mlp0, 12.0, job_id="eager_vs_graph-quick-p0", params={"batch_size": 32})]
    elsewhere = [
        stored(mlp0, 300.0, "20260101T000000Z-ref"),
        stored(mlp0, 100.0, "20260101T000000Z-gpu"),
        stored(mlp0, 200.0, "20260101T000000Z-ci"),
        stored(mlp1, 999.0, "20260101T000000Z-ref", status="failed"),
    ]
    times = estimate.Times(here, elsewhere)
    assert times.of(mlp0) == (200.0, estimate.IMPORTED)
    assert times.of(mlp1) == (12.0, estimate.MEDIAN)  # a failed job elsewhere says nothing
    # This machine's own time of the job wins over any other machine's.
    assert estimate.Times([stored(mlp0, 50.0)], elsewhere).of(mlp0) == (50.0, estimate.STORED)
    rows = estimate.expected(p.jobs, {j.job_id for j in p.jobs}, here, elsewhere)
    assert row(rows, "eager_vs_graph").sources[estimate.IMPORTED] == 1
    lines = estimate.table(rows)
    assert any(line.startswith("  (imported: the same job as measured on a machine whose bundle") for line in lines)


def test_reused_jobs_take_no_time():
    p = profile()
    graph = {j.job_id for j in p.jobs if j.experiment == "eager_vs_graph"}
    rows = estimate.expected(p.jobs, {j.job_id for j in p.jobs} - graph, [])
    r = row(rows, "eager_vs_graph")
    assert (r.to_run, r.reused, r.seconds, r.extra) == (0, len(graph), 0.0, 0)
    assert "-" in next(line for line in estimate.table(rows) if line.strip().startswith("eager_vs_graph"))


def test_a_sequential_design_adds_its_most_at_the_cells_warm_time_or_the_added_processes_own():
    p = profile(max_processes=5)
    graph = [j for j in p.jobs if j.experiment == "eager_vs_graph"]
    mlp2 = next(j for j in graph if j.workload == "mlp" and j.process == 2)
    history = [stored(j, 10.0 + j.process) for j in graph]  # p0 10 s, p1 11 s, p2 12 s
    history.append(stored(dataclasses.replace(mlp2, process=3), 30.0))  # an earlier run added p3 to mlp
    rows = estimate.expected(p.jobs, {j.job_id for j in p.jobs}, history)
    r = row(rows, "eager_vs_graph")
    assert r.seconds == pytest.approx(2 * (10 + 11 + 12))
    assert r.extra == 2 * 2  # two cells, from 3 processes to 5
    assert r.extra_seconds == pytest.approx((30 + 12) + (12 + 12))
    assert r.most_seconds == pytest.approx(r.seconds + r.extra_seconds)
    assert row(rows, "debugging").extra == 0
    lines = estimate.table(rows)
    assert "at most min" in lines[1] and any(line.startswith("  (at most:") for line in lines)


def test_the_table_has_a_row_per_experiment_and_a_total():
    p = profile()
    rows = estimate.expected(p.jobs, {j.job_id for j in p.jobs}, [])
    lines = estimate.table(rows, " (class big)")
    assert "(class big)" in lines[0]
    body = [line.split() for line in lines[2:-1]]
    assert [b[0] for b in body] == ["eager_vs_graph", "debugging", "total"]
    # Every estimate here is a default: the table says what a default is and what it does not know.
    assert "quick profile on a 2-core VM" in lines[-1] and "full profile" in lines[-1]
    measured = [stored(j, 5.0) for j in p.jobs]
    assert "quick profile" not in estimate.table(estimate.expected(p.jobs, {j.job_id for j in p.jobs}, measured))[-1]
    assert body[-1][1:4] == [str(len(p.jobs)), "0", f"{sum(r.seconds for r in rows) / 60:.1f}"]
    assert "at most min" not in lines[1]  # no sequential design, no such column


def test_over_budget_is_one_warning_line_only_when_the_expected_time_exceeds_the_budget():
    p = profile()
    rows = estimate.expected(p.jobs, {j.job_id for j in p.jobs}, [])
    minutes = sum(r.seconds for r in rows) / 60
    assert estimate.over_budget(rows, None) is None
    assert estimate.over_budget(rows, minutes + 1) is None
    assert estimate.over_budget(rows, 0.5) == (
        f"fwbench: warning: expected {minutes:.1f} min, over this profile's budget of 0.5 min"
    )
