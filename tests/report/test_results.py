"""Chapter helpers pick the newest result per cell and never let stored text reach a page unescaped."""

import re

import pandas as pd

from conftest import job
from fwbench.report.results import Report, escape, failure_table, html_table
from synthetic.eager_vs_graph import evg_job


def test_latest_result_per_cell_wins(make_store):
    old = job("r1", "torch", "eager", "eager", 0.010)
    new = job("r2", "torch", "eager", "eager", 0.020)
    report = Report(make_store([("r1", [old]), ("r2", [new])]).load()[0])
    assert len(report.latest) == 1
    run, latest = report.latest[0]
    assert run.run_id == "r2"
    wide = report.metric_table("eager_vs_graph")
    assert set(wide["run_id"]) == {"r2"}


def test_failures_are_listed_and_escaped(make_store):
    evil = {"type": "RuntimeError", "message": "<script>alert('x')</script> & <b>bold</b>", "traceback": ""}
    bad = job("r1", "jax", "jax.jit", "graph", None, status="failed", error=evil)
    report = Report(make_store([("r1", [bad, job("r1", "jax", "eager", "eager", 0.01)])]).load()[0])
    fail = report.failures()
    assert len(fail) == 1 and fail.iloc[0]["variant"] == "jax.jit"
    page = html_table(fail)
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;" in page
    shown = failure_table(fail)  # the chapters' view: who and why first, the run behind the toggle
    assert "<script>" not in shown and "&lt;script&gt;" in shown and "all 10 columns" in shown


def test_long_unbroken_text_gets_break_points_outside_entities():
    html = html_table(pd.DataFrame({"message": ["^" * 50 + " a&b " + "x" * 30 + "<>" * 20]}))
    cell = re.search(r"<td>(.*?)</td>", html, re.S).group(1)
    assert re.search(r"[^\s<>&;]{25}", cell) is None  # no run of 25 characters without a break point
    assert cell.replace("<wbr>", "") == "^" * 50 + " a&amp;b " + "x" * 30 + "&lt;&gt;" * 20  # entities intact
    assert escape("<a href='x'>") == "&lt;a href=&#x27;x&#x27;&gt;"


def test_machines_table_has_one_row_per_machine(make_store, tmp_path):
    store = make_store([("r1", [job("r1", "torch", "eager", "eager", 0.01)])])
    report = Report(store.load()[0])
    table = report.machines()
    assert list(table["machine"]) == ["testbox"] and table.iloc[0]["torch"] == "2.13.0"


def test_cells_are_estimated_over_processes_and_cold_warm_kept_apart(make_store):
    jobs = [
        evg_job("r1", "torch", {"eager": 0.020, "torch.compile": 0.010}, process=p, between=0.1, seed=3)
        for p in range(4)
    ]
    report = Report(make_store([("r1", jobs)]).load()[0])
    cells = report.cell_table("eager_vs_graph")
    row = cells[(cells.variant == "torch.compile") & (cells.phase == "train")].iloc[0]
    assert row["n_processes"] == 4 and row["n_repeats"] == 160
    assert row["step_time_ci_low_s"] < row["step_time_median_s"] < row["step_time_ci_high_s"]
    assert row["process_spread"] > 0.05  # the processes differ by ~10%
    assert row["first_call_cold_s"] == 0.5 and row["first_call_warm_s"] == 0.5


def test_headline_batch_prefers_the_training_batch():
    import pandas as pd

    from fwbench.report.results import headline_batch

    df = pd.DataFrame(
        {"workload": ["a"] * 4, "phase": ["train", "infer", "infer", "infer"], "batch_size": [64, 1, 64, 256]}
    )
    assert sorted(headline_batch(df)["batch_size"]) == [64, 64]
    df2 = df[df.batch_size != 64].assign(phase="infer")
    assert list(headline_batch(df2)["batch_size"]) == [256]


def test_machines_sharing_a_host_name_stay_apart(make_store, tmp_path):
    from conftest import job, manifest
    from fwbench.store.store import Store

    store = Store(tmp_path / "s")
    for run_id, machine in (("20260101T000000Z-a", "cpu-aaaa"), ("20260102T000000Z-b", "gpu-bbbb")):
        store.write_manifest(manifest(run_id, machine_id=machine, label="vm"))
        store.write_job(job(run_id, "torch", "eager", "eager", 0.01))
    report = Report.load(store.root)
    assert sorted(report.machines()["machine"]) == ["vm [cpu-aaaa]", "vm [gpu-bbbb]"]
    assert report.cell_table("eager_vs_graph")["machine_label"].nunique() == 2
    assert Store(store.root).load()[0][0].manifest["machine_label"] == "vm"  # the store keeps what was recorded


def test_rnn_cells_are_compared_only_between_the_same_loop_strategy(make_store):
    """torch.compile unrolls the RNN: it meets the unrolled tf.function, never tf.function's while loop."""
    from synthetic.eager_vs_graph import evg_runs

    times = {
        ("torch", "eager"): 0.02,
        ("torch", "torch.compile"): 0.01,
        ("tensorflow", "eager"): 0.02,
        ("tensorflow", "tf.function"): 0.01,
        ("tensorflow", "tf.function-unrolled"): 0.01,
    }
    store = make_store([("r1", evg_runs("r1", times, workload="rnn") + evg_runs("r1", times, workload="mlp"))])
    report = Report.load(store.root)
    pairs = report.cross_framework(
        "eager_vs_graph",
        ("torch", "torch.compile"),
        [("tensorflow", "tf.function"), ("tensorflow", "tf.function-unrolled")],
    )
    rnn = pairs[pairs.workload == "rnn"]
    assert set(rnn["other"]) == {"tensorflow tf.function-unrolled"}
    assert set(pairs[pairs.workload == "mlp"]["other"]) == {"tensorflow tf.function", "tensorflow tf.function-unrolled"}


def test_compact_table_drops_empty_columns_and_a_single_machine():
    import pandas as pd

    from fwbench.report.results import compact_table

    df = pd.DataFrame({"machine_label": ["a", "a"], "x": [1.5, 2.0], "empty": ["", None], "y": ["p", "q"]})
    html = compact_table(df, ["machine_label", "x", "empty", "y"])
    assert "<th>x</th>" in html and "<th>y</th>" in html
    assert "machine_label" not in html and "empty" not in html
    assert "machine label" in compact_table(df.assign(machine_label=["a", "b"]), ["machine_label", "x"])


def test_durations_change_unit_where_they_would_round_into_the_next():
    from fwbench.report.results import fmt_s

    assert fmt_s(0.99999e-3) == "1.00 ms" and fmt_s(0.9994e-3) == "999.4 µs"
    assert fmt_s(0.9999) == "1.00 s" and fmt_s(0.994) == "994.00 ms"
    assert fmt_s(float("inf")) == "no finite time" and fmt_s(float("nan")) == "not measured"


def test_a_replacement_process_joins_its_cell_until_the_processes_it_replaced_are_measured_again(make_store):
    times = {"eager": 0.02, "jax.jit": 0.005}
    planned = [evg_job("r1", "jax", times, process=p, unstable="jax.jit" if p == 1 else None) for p in range(4)]
    replacement = evg_job("r2", "jax", times, process=4)
    replacement["replacement"] = {
        "for": [{"run_id": "r1", "job_id": d["job_id"]} for d in planned],
        "short": ["jax.jit train b32: 3 of 4 stable"],
    }
    again = evg_job("r3", "jax", times, process=1, seed=1)

    def processes(report):
        return {
            tuple(sorted(pid.split("-p")[-1] for pid in per))
            for key, per in report.samples("eager_vs_graph").items()
            if key[4] == "jax.jit"
        }

    report = Report(make_store([("r1", planned), ("r2", [replacement])]).load()[0])
    assert processes(report) == {("0", "2", "3", "4")}  # four stable processes, as planned
    assert len(report.excluded("eager_vs_graph")) == 2  # the unstable series (train, infer) are still listed
    report = Report(make_store([("r3", [again])]).load()[0])  # the same store, one more run
    assert processes(report) == {("0", "1", "2", "3")}  # the replacement belonged to the cell as it was
    assert report.excluded("eager_vs_graph").empty
    assert sorted(j["process"] for _, j in report.latest) == [0, 1, 2, 3]


def test_a_process_far_from_its_siblings_is_flagged_not_dropped(make_store):
    from fwbench.report.results import OUTLIER_FACTOR
    from synthetic.eager_vs_graph import evg_runs

    docs = evg_runs("r1", {("torch", "eager"): 0.010}, processes=4, within=0.01)
    for entry in docs[2]["samples"]:  # the third process 2x slower in every series
        entry["values"] = [v * 2 for v in entry["values"]]
    report = Report(make_store([("r1", docs)]).load()[0])
    flagged = report.outlier_processes("eager_vs_graph")
    assert not flagged.empty and (flagged["times_siblings"] > OUTLIER_FACTOR).all()
    assert flagged["process"].str.endswith(docs[2]["job_id"]).all()
    assert all(len(per) == 4 for per in report.samples("eager_vs_graph").values())  # still in every comparison


def test_cells_with_different_parameters_never_pool(make_store):
    from synthetic.eager_vs_graph import evg_runs

    a = evg_runs("r1", {("torch", "eager"): 0.01, ("torch", "torch.compile"): 0.005})
    b = evg_runs(
        "r2",
        {("torch", "eager"): 0.01, ("torch", "torch.compile"): 0.005},
        params={"batch_size": 32, "infer_batch_sizes": [1, 32]},
        seed=9,
    )
    report = Report(make_store([("r1", a), ("r2", b)]).load()[0])
    cells = report.cell_table("eager_vs_graph")
    train = cells[(cells.variant == "eager") & (cells.phase == "train")]
    assert len(train) == 2 and set(train["n_processes"]) == {4}  # two cells of four processes, not one of eight
    assert train["params_digest"].nunique() == 2
    # Budget-only parameters do not split a cell: the same measurement, measured more or less precisely.
    c = evg_runs(
        "r3", {("torch", "eager"): 0.01}, params={"batch_size": 32, "infer_batch_sizes": [32], "max_time_s": 9.0}
    )
    from fwbench.experiments import params_digest

    assert params_digest(c[0]) == params_digest(a[0])


def test_aa_controls_measure_the_harness_false_positive_rate(make_store):
    from synthetic.eager_vs_graph import evg_runs

    times = {
        ("torch", "eager"): 0.010,
        ("torch", "torch.compile"): 0.005,
        ("tensorflow", "eager"): 0.013,
        ("tensorflow", "tf.function"): 0.010,
        ("tensorflow", "tf.function+xla"): 0.008,
        ("jax", "eager"): 0.030,
        ("jax", "jax.jit"): 0.004,
    }
    docs = [doc for w in ("mlp", "cnn") for doc in evg_runs("r1", times, workload=w, twin=True, processes=4)]
    report = Report(make_store([("r1", docs)]).load()[0])
    aa = report.aa_controls("eager_vs_graph")
    assert set(aa["kind"]) == {"in-process twin", "between processes"}
    assert (aa[aa.kind == "in-process twin"]["paired"]).all()
    rates = report.false_positive_rates("eager_vs_graph")
    assert set(rates["kind"]) == {"in-process twin", "between processes"}
    assert (rates["false_positive_rate"] <= 0.2).all() and (rates["controls"] > 0).all()
