"""Data-parallel tables, findings, the payload check and the S1 rule on synthetic stored jobs whose answers are known
by construction (seeded step times; never measured values)."""

import numpy as np
import pytest

from fwbench import SCHEMA_VERSION
from fwbench.errors import StoreError
from fwbench.experiments.data_parallel import claims, findings, tables
from fwbench.experiments.data_parallel.payload import check_launches
from fwbench.report.claims import load_claims, verdict_for
from fwbench.report.results import Report

CLAIMS = {c.id: c for c in load_claims()}


def launch(config, role="timed", outcome="ok", error=None):
    return {
        "config": config,
        "role": role,
        "world": 2 if config == "2x1" else 1,
        "outcome": outcome,
        "error": error,
        "wall_s": 3.0,
        "ports": 1,
        "leftovers": [],
        "ranks": [{"rank": 0, "stage": "done", "api": "API <x>", "timed": "a step", "local_batch": 16}],
    }


def dp_job(framework, process, *, level=None, correct=True, fit=None, seed=0):
    """A stored job: 2x1 and 1x2 launched; step times seeded around `level` (config -> seconds)."""
    rng = np.random.default_rng([seed, process])
    level = level or {"2x1": 0.02, "1x2": 0.01}
    samples = [
        {"variant": c, "phase": "train", "batch_size": 32, "values": list(level[c] * rng.lognormal(0, 0.02, 20))}
        for c in level
    ]
    launches = [launch(c) for c in level]
    checks = [{"name": "no_leftovers", "variant": c, "passed": True, "value": 0.0, "tolerance": 0.0} for c in level]
    if process == 0:
        launches.append(launch("1x1", role="reference"))
        checks += [
            {
                "name": "all_reduce_known_answer",
                "variant": "2x1",
                "passed": correct,
                "value": 0.0 if correct else 3.0,
                "tolerance": 0.0,
            },
            {
                "name": "params_match_single_process",
                "variant": "2x1",
                "passed": correct,
                "value": 1e-7,
                "tolerance": 1e-4,
            },
        ]
        if fit is not None:
            launches.append(
                launch(
                    "2x1",
                    role="keras_fit",
                    outcome="ok" if fit else "failed",
                    error=None if fit else {"type": "ValueError", "message": "<PerReplica> no"},
                )
            )
    records = [
        {"variant": "2x1", "phase": "train", "batch_size": 32, "metric": m, "value": v, "unit": "s"}
        for m, v in (("group_ready_s", 0.3 + 0.01 * process), ("import_s", 2.0))
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "job",
        "run_id": "r1",
        "job_id": f"data_parallel-{framework}-cpu-mlp-2x1_1x2-p{process}",
        "job_key": f"k-{framework}-{process}",
        "experiment": "data_parallel",
        "framework": framework,
        "device": "cpu",
        "workload": "mlp",
        "variant": ",".join(level),
        "mode": "eager",
        "status": "ok",
        "params": {"steps": 20},
        "process": process,
        "records": records,
        "samples": samples,
        "checks": checks,
        "launches": launches,
        "api": "API <x>",
        "framework_version": "1.0",
        "error": None,
    }


def with_busy(jobs, framework, config, processes, other_cpus=0.9, attempts=3, slower=3.0):
    """The jobs with every timed launch guarded (fwbench.measure.quiet): `framework`'s `config` launches of
    `processes` measured on a busy machine (other programs at `other_cpus` even after `attempts` launches; steps
    `slower` times slower, the group ten times slower to get ready), the rest quiet at the first attempt."""
    for job in jobs:
        for launched in job["launches"]:
            if launched["role"] != "timed":
                continue
            busy = job["framework"] == framework and launched["config"] == config and job["process"] in processes
            launched.update(
                busy_block=float(busy), other_cpus=other_cpus if busy else 0.01, block_attempts=attempts if busy else 1
            )
            for s in job["samples"]:
                if s["variant"] == launched["config"]:
                    s["busy"] = busy
                    if busy:
                        s.update(values=[v * slower for v in s["values"]], problem=f"other programs used {other_cpus}")
            for r in job["records"]:
                if busy and r["variant"] == config and r["metric"] == "group_ready_s":
                    r["value"] *= 10
    return jobs


def report_of(make_store, jobs):
    return Report(make_store([("r1", jobs)]).load()[0])


def three_frameworks(fit=False, tf_correct=True, processes=4):
    return [
        dp_job(fw, p, correct=tf_correct if fw == "tensorflow" else True, fit=fit if fw == "tensorflow" else None)
        for fw in ("torch", "tensorflow", "jax")
        for p in range(processes)
    ]


def test_coverage_marks_what_ran_here_and_what_failed(make_store):
    cov = tables.coverage(report_of(make_store, three_frameworks(fit=False))).set_index(["setup", "framework"])
    assert cov.loc[("data parallel", "torch"), "status"] == "ran here"
    assert cov.loc[("data parallel, high-level fit", "tensorflow"), "status"] == "failed here"
    assert cov.loc[("data parallel, high-level fit", "torch"), "status"] == "absent"
    assert cov.loc[("multi-node launch", "jax"), "status"] == "documented, needs more than one host"
    assert cov.loc[("pipeline parallel", "torch"), "status"] == "documented, not run here"
    assert all(cov["source"].str.startswith("https://"))


def test_wrong_collectives_are_named_left_out_of_timings_and_a_finding(make_store):
    r = report_of(make_store, three_frameworks(tf_correct=False))
    right = tables.correctness(r).set_index("framework")
    assert right.loc["tensorflow", "collectives"] == "wrong" and right.loc["torch", "collectives"] == "correct"
    assert "tensorflow" not in set(tables.steps(r).query("config == '2x1'")["framework"])
    assert set(r.excluded("data_parallel")["framework"]) == {"tensorflow"}
    texts = [f.text for f in findings.findings(r)]
    assert any("tensorflow" in t and "wrong results" in t for t in texts)
    cov = tables.coverage(r).set_index(["setup", "framework"])
    assert cov.loc[("data parallel", "tensorflow"), "status"] == "failed here"


def test_comparisons_classify_seeded_differences(make_store):
    jobs = [dp_job("torch", p, level={"2x1": 0.02, "1x2": 0.01}) for p in range(4)]
    jobs += [dp_job("jax", p, level={"2x1": 0.01, "1x2": 0.01}, seed=1) for p in range(4)]
    comp = tables.comparisons(report_of(make_store, jobs)).set_index("framework")
    assert comp.loc["torch", "verdict"] == "slower" and comp.loc["torch", "paired"]
    assert comp.loc["torch", "speedup"] == pytest.approx(0.5, rel=0.05)
    assert comp.loc["jax", "verdict"] == "equivalent"


def test_startup_and_meaning_come_from_the_store(make_store):
    r = report_of(make_store, three_frameworks(fit=False))
    start = tables.startup(r).set_index(["framework", "metric"])
    assert start.loc[("torch", "group_ready_s"), "launches"] == 4
    text = " ".join(tables.meaning(r))
    assert "known-answer all-reduces exact" in text and "&lt;PerReplica&gt;" in text  # store text escaped


def test_s1_is_inconclusive_on_one_host_and_never_counts_documentation(make_store):
    r = report_of(make_store, three_frameworks(fit=True))
    v = verdict_for(CLAIMS["S1"], r)
    assert v.verdict == "inconclusive"
    roles = v.cells.set_index("setup")["role"]
    assert roles["data parallel"] == "contradicts" and roles["data parallel, high-level fit"] == "supports"
    assert (roles.drop(["data parallel", "data parallel, high-level fit"]) == "inconclusive").all()
    assert "From the documentation (not a measurement, and not counted)" in v.evidence


def test_s1_roles():
    assert claims.role("ran here", "absent") == "supports"
    assert claims.role("ran here", "ran here") == "contradicts"
    assert claims.role("failed here", "ran here") == "contradicts"
    assert claims.role("failed here", "absent") == "inconclusive"
    assert claims.role("documented, not run here", "documented, not run here") == "inconclusive"


def test_s1_not_yet_measured_without_launches(make_store):
    assert verdict_for(CLAIMS["S1"], report_of(make_store, [])).verdict == "not yet measured"


def test_the_payload_check_refuses_what_a_table_cannot_show():
    names = []
    check_launches([launch("2x1")], "p", lambda path, where, value: names.append(value))
    assert names == ["2x1"]
    for bad in (
        "x",
        [{"config": "2x1"}],
        [{**launch("2x1"), "outcome": "maybe"}],
        [{**launch("2x1"), "error": {"type": 1}}],
        [{**launch("2x1"), "leftovers": [3]}],
    ):
        with pytest.raises(StoreError):
            check_launches(bad, "p", lambda *a: None)


def test_the_pick_names_every_framework_that_trained_correctly_and_no_winner(make_store):
    from fwbench.experiments.data_parallel import picks

    (pick,) = picks.picks(report_of(make_store, three_frameworks(tf_correct=False)))
    assert pick.job == "Distributed training" and pick.pick.startswith("no difference we can detect")
    assert "TensorFlow" in pick.by_how_much.split("; not in ")[1]


def test_launches_measured_on_a_busy_machine_are_kept_out_of_the_timings_and_listed(make_store):
    # PyTorch's two-process launches of processes 2 and 3 ran beside another program: counted, their steps (three
    # times slower) and group start (ten times) would make two processes look far worse than they are.
    r = report_of(make_store, with_busy(three_frameworks(), "torch", "2x1", {2, 3}))
    st = tables.steps(r).set_index(["framework", "config"])
    assert st.loc[("torch", "2x1"), "processes"] == 2 and st.loc[("torch", "1x2"), "processes"] == 4
    assert st.loc[("torch", "2x1"), "step_time_s"] == pytest.approx(0.02, rel=0.05)
    comp = tables.comparisons(r).set_index(["framework", "baseline", "candidate"])
    assert comp.loc[("torch", "1x2", "2x1"), "n_candidate"] == 2
    assert comp.loc[("torch", "1x2", "2x1"), "speedup"] == pytest.approx(0.5, rel=0.05)
    start = tables.startup(r).set_index(["framework", "metric"])
    assert (
        start.loc[("torch", "group_ready_s"), "launches"] == 2 and start.loc[("torch", "group_ready_s"), "seconds"] < 1
    )
    assert start.loc[("jax", "group_ready_s"), "launches"] == 4
    excluded = r.excluded("data_parallel")
    assert set(excluded["framework"]) == {"torch"} and excluded["reason"].str.startswith("busy machine").all()
    busy = tables.busy_launches(r)
    assert sorted(busy["process"]) == [2, 3] and set(busy["config"]) == {"2x1"} and set(busy["framework"]) == {"torch"}
    note = tables.busy_note(r)
    assert note.startswith("2 timed launch(es)") and "process 3" in note and "process 4" in note
    assert "0.9 CPUs" in note and "3 attempts" in note
    # Load slows a launch but cannot make it work: those launches still show data parallel runs here.
    assert tables.coverage(r).set_index(["setup", "framework"]).loc[("data parallel", "torch"), "status"] == "ran here"
    # Launches stored before they were guarded carry no flag: nothing says they were busy, so they count.
    plain = report_of(make_store, three_frameworks())
    assert tables.busy_launches(plain).empty and tables.busy_note(plain) == ""


def test_a_launch_that_failed_on_a_busy_machine_counts_neither_way(make_store):
    jobs = with_busy(three_frameworks(), "torch", "2x1", {0, 1, 2, 3})
    for job in jobs:
        for launched in job["launches"]:
            if job["framework"] == "torch" and launched["config"] == "2x1" and launched["role"] == "timed":
                launched.update(outcome="timeout", error={"type": "Timeout", "message": "killed"})
    r = report_of(make_store, jobs)
    cov = tables.coverage(r).set_index(["setup", "framework"])
    assert cov.loc[("data parallel", "torch"), "status"] == "documented, not run here"  # not "failed here"
    assert len(tables.busy_launches(r)) == 4
