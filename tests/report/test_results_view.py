"""The results view: every stored number once, readable numbers, escaped text, and the same rows as CSV/Parquet."""

import numpy as np
import pandas as pd

from fwbench.report import results_view
from fwbench.report.results import Report, html_table, plain_number
from synthetic.eager_vs_graph import evg_runs

TIMES = {("torch", "eager"): 0.010, ("torch", "torch.compile"): 0.004}


def test_rows_carry_cell_intervals_and_files_round_trip(make_store, tmp_path):
    report = Report(make_store([("r1", evg_runs("r1", TIMES))]).load()[0])
    rows = results_view.table(report)
    step = rows[rows["metric"] == "step_time_s"]
    cells = report.cell_table("eager_vs_graph").dropna(subset=["step_time_median_s"])
    assert len(step) == len(cells) and (step["ci_low"] < step["value"]).all() and (step["n"] == 4).all()
    assert not rows["metric"].str.startswith("step_time_median").any()  # per-process duplicates are left out
    files = results_view.write_files(rows, tmp_path / "data")
    assert len(pd.read_csv(files["csv"])) == len(rows) == len(pd.read_parquet(files["parquet"]))


def test_numbers_are_readable_and_text_is_escaped():
    assert results_view.number(0.0264, "s") == "26.4 ms" and results_view.number(8.1e-7, "s") == "0.81 µs"
    assert results_view.number(31234.0, "samples/s") == "31.2 k samples/s"
    assert results_view.number(1.006e-7, "ratio") == "0.000000101"
    assert results_view.number(float("nan"), "s") == "-"
    # The unit is chosen after rounding: a value just under a unit's boundary reads as the next unit.
    assert results_view.number(0.9996, "s") == "1 s" and results_view.number(0.0009996, "s") == "1 ms"
    assert results_view.number(1234.5, "s") == "1,234 s" and results_view.number(9999.6, "x") == "10 k x"
    for v in np.geomspace(1e-9, 1e13, 400) * 0.9996:
        for unit in ("s", "bytes", "samples/s", ""):
            assert "e" not in results_view.number(v, unit).replace("samples", "").lower(), (v, unit)
    for v in (2.749e4, 1.36e3, 1e-5, 123456789.0, 0.5):
        assert "e" not in plain_number(v).lower()
    df = pd.DataFrame(
        {
            "experiment": ["e"],
            "machine": ["<b>m</b>"],
            "framework": ["f"],
            "variant": ["v"],
            "device": ["cpu"],
            "workload": ["w"],
            "phase": [""],
            "batch": [None],
            "metric": ["x"],
            "value": [1.0],
            "unit": [""],
            "ci_low": [np.nan],
            "ci_high": [np.nan],
            "n": [1],
        }
    )
    page = results_view.html(df)
    assert "<b>m</b>" not in page and "&lt;b&gt;m&lt;/b&gt;" in page


def test_wide_tables_keep_key_columns_in_view_and_the_rest_behind_a_toggle():
    wide = pd.DataFrame({f"column_{i}": [1.5e-5 * i] for i in range(12)})
    page = html_table(wide)
    shown, hidden = page.split("<details", 1)
    assert shown.count("<th>") == 9 and "all 12 columns" in hidden and hidden.count("<th>") == 12
    assert "column 3" in shown and "e-0" not in page


def test_export_latencies_timed_in_several_processes_carry_the_interval_over_them(make_store):
    from fwbench.measure import stats
    from synthetic.export import export_attempt, export_job

    spread = (0.9, 1.0, 1.2)
    job = export_job(
        "r1",
        "torch",
        "onnx-dynamo",
        [export_attempt("mlp", "onnx-dynamo", "matches")],
        latency_b1=2e-3,
        process_spread=spread,
    )
    rows = results_view.table(Report(make_store([("r1", [job])]).load()[0]))
    step = rows[rows["metric"] == "step_time_s"]
    est, lo, hi = stats.cell_estimate({i: [2e-3 * f] for i, f in enumerate(spread)})
    assert len(step) == 1 and step.iloc[0]["n"] == 3
    assert np.isclose(step.iloc[0]["value"], est) and np.isclose(step.iloc[0]["ci_low"], lo)
    assert np.isclose(step.iloc[0]["ci_high"], hi)
    assert not rows["metric"].str.startswith(("step_time_median", "step_time_ci")).any()  # no per-process rows
    assert "parity_ok" in set(rows["metric"])


def test_each_row_says_its_mode_and_the_value_comes_before_where_it_was_measured(make_store):
    from fwbench.report import results_view
    from fwbench.report.results import Report
    from synthetic.eager_vs_graph import evg_runs

    report = Report(
        make_store(
            [("r1", evg_runs("r1", {("torch", "eager"): 0.01, ("torch", "torch.compile"): 0.005}, processes=3))]
        ).load()[0]
    )
    df = results_view.table(report)
    steps = df[df["metric"] == "step_time_s"]
    assert set(steps[steps["variant"] == "eager"]["mode"]) == {"eager"}
    assert set(steps[steps["variant"] == "torch.compile"]["mode"]) == {"graph"}
    html = results_view.html(df)
    head = html[html.index("<thead>") : html.index("</thead>")]
    assert head.index("value") < head.index("machine") and "<th>mode</th>" in head and ">compiled<" in html
