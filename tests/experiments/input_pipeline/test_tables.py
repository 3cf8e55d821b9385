"""Input-pipeline tables on synthetic jobs: attempts (failures as rows), pipelines with intervals, comparisons."""

import math

from fwbench.experiments.input_pipeline import findings, tables
from fwbench.report.sanitize import md


def test_attempts_hold_every_process_and_every_failure_with_its_error(pipeline_report, ip_job):
    report = pipeline_report(
        [
            ip_job(
                "r1",
                "torch",
                {("npy-shards", 0): 1.0, ("files", 0): 1.0},
                processes=2,
                failed={("files", 0): "OSError"},
            ),
            ip_job("r1", "jax", {}, status="failed"),
        ]
    )
    att = tables.attempts(report)
    torch = att[att["framework"] == "torch"]
    assert len(torch) == 4 and set(torch["loader"]) == {"DataLoader"}
    bad = torch[torch["outcome"] == "fails"]
    assert len(bad) == 2 and set(bad["error_type"]) == {"OSError"} and set(bad["kind"]) == {"own"}
    grain = att[att["framework"] == "jax"]
    assert set(grain["format"]) == {"npy-shards", "arrayrecord"} and set(grain["outcome"]) == {"fails"}
    assert set(grain["error_type"]) == {"ImportError"}


def test_pipelines_estimate_samples_per_second_with_an_interval_over_processes(pipeline_report, ip_job):
    report = pipeline_report([ip_job("r1", "tensorflow", {("npy-shards", 2): 0.5}, processes=4)])
    row = tables.pipelines(report).iloc[0]
    assert row["n_processes"] == 4 and row["n_failed"] == 0 and row["workers"] == 2
    assert row["samples_per_s_ci_low"] < row["samples_per_s"] < row["samples_per_s_ci_high"]
    assert math.isclose(row["samples_per_s"], 1024 / 0.5, rel_tol=0.05)  # seeded noise of 1%
    assert row["cpu_s_per_1000_samples"] == 1.0 / (2 * 1024) * 1000


def test_one_process_gives_no_interval(pipeline_report, ip_job):
    row = tables.pipelines(pipeline_report([ip_job("r1", "torch", {("files", 0): 1.0}, processes=1)])).iloc[0]
    assert row["samples_per_s_ci_low"] == 0 and math.isinf(row["samples_per_s_ci_high"])


def test_a_format_that_failed_a_check_is_counted_left_out(pipeline_report, ip_job):
    report = pipeline_report([ip_job("r1", "jax", {("arrayrecord", 0): 1.0}, bad_labels="arrayrecord")])
    row = tables.pipelines(report).iloc[0]
    assert row["n_processes"] == 0 and row["n_excluded"] == 4 and math.isnan(row["samples_per_s"])


def test_what_this_means_and_the_finding_are_computed_from_the_store(pipeline_report, ip_job):
    report = pipeline_report(
        [
            ip_job("r1", "tensorflow", {("npy-shards", 0): 1.0, ("npy-shards", 2): 0.5}, seed=1),
            ip_job("r1", "torch", {("npy-shards", 0): 2.0, ("npy-shards", 2): 1.0}, seed=2),
        ]
    )
    text = tables.what_this_means(report)
    assert "tf.data vs DataLoader: faster" in text and "from 0 to 2 workers" in text
    (finding,) = findings.findings(report)
    assert "2 workers" in finding.text and finding.target == "fig-pipeline-throughput"
    assert finding.text.index("tf.data") < finding.text.index("DataLoader")  # the fastest first


def test_the_timed_table_names_every_loader_and_step():
    t = tables.timed_table()
    assert list(t.columns[1:]) == ["tf.data (TensorFlow)", "DataLoader (PyTorch)", "grain (JAX)"]
    assert {"read", "decode", "shuffle", "workers", "prefetch", "caching"} <= set(t["step"])


def test_processes_measured_on_a_busy_machine_are_kept_out_and_listed(pipeline_report, ip_job):
    # tf.data's third and fourth processes at 2 workers ran beside another program, three times slower: counted,
    # they would drag its samples/s down and turn a clear win over the DataLoader into a noisy one.
    busy = {("npy-shards", 2): {2, 3}}
    report = pipeline_report(
        [
            ip_job("r1", "tensorflow", {("npy-shards", 0): 0.5, ("npy-shards", 2): 0.5}, seed=1, busy=busy),
            ip_job("r1", "torch", {("npy-shards", 0): 1.0, ("npy-shards", 2): 1.0}, seed=2, busy={}),
        ]
    )
    pipes = tables.pipelines(report).set_index(["loader", "workers"])
    row = pipes.loc[("tf.data", 2)]
    assert row["n_processes"] == 2 and row["n_busy"] == 2 and row["n_excluded"] == 0
    assert math.isclose(row["samples_per_s"], 1024 / 0.5, rel_tol=0.05)  # not the busy processes' third of it
    assert pipes.loc[("tf.data", 0), "n_busy"] == 0 and pipes.loc[("DataLoader", 2), "n_processes"] == 4
    cmp = tables.comparisons(report).set_index(["workers", "kind"])
    assert cmp.loc[(2, "common"), "n_baseline"] == 2 and cmp.loc[(2, "common"), "verdict"] == "faster"
    busy_rows = tables.busy_attempts(report)
    assert list(busy_rows["process"]) == [2, 3] and set(busy_rows["loader"]) == {"tf.data"}
    assert (busy_rows["block_attempts"] == 3).all() and (busy_rows["other_cpus"] == 0.9).all()
    note = tables.busy_note(report)
    assert note.startswith("2 pipeline process(es)") and f"tf.data reading {md('npy-shards')}, 2 workers" in note
    assert "process 3" in note and "process 4" in note and "0.9 CPUs" in note and "3 attempts" in note
    # Pipelines stored before they were guarded carry no flag: nothing says they were busy, so they count.
    plain = pipeline_report([ip_job("r1", "tensorflow", {("npy-shards", 2): 0.5})])
    assert tables.busy_attempts(plain).empty and tables.busy_note(plain) == ""
    assert tables.pipelines(plain).iloc[0]["n_processes"] == 4
