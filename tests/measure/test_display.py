"""fwbench.measure.display: values in their units, sparse records without nan, e-notation or float batch sizes."""

from __future__ import annotations

import math
import re

from fwbench.measure.display import MISSING, duration, frame, records_table, value
from fwbench.measure.metrics import Metric, record

E_NOTATION = re.compile(r"\d[eE][+-]?\d")


def test_values_read_in_their_units():
    assert duration(2.5) == "2.50 s" and duration(0.0042) == "4.20 ms" and duration(7.9e-5) == "79.0 µs"
    assert duration(1.2e-7) == "120 ns" and duration(math.inf) == "never"
    assert value(1.0, "bool") == "yes" and value(0.0, "bool") == "no"
    assert value(27490.0, "requests/s") == "27,490 requests/s"
    assert value(12_345_678, "bytes") == "12.3 MB"
    assert value(3.0, "steps") == "3" and value(0.000123, "ratio") == "0.000123"
    assert value(float("nan"), "s") == MISSING and value(None, "s") == MISSING
    assert value("ok", None) == "ok"


def test_sparse_records_become_a_table_without_nan_e_notation_or_float_batches():
    metrics = {"first_call_s": Metric("s", ""), "shape_change_s": Metric("s", ""), "big": Metric("ratio", "")}
    records = [
        {"variant": "eager", **record(metrics, "train", 32, "first_call_s", 0.0123)},
        {"variant": "jit", **record(metrics, "train", 32, "first_call_s", 1.5)},
        {"variant": "jit", **record(metrics, "train", 16, "shape_change_s", 0.2)},
        {"variant": "jit", **record(metrics, "infer", 1, "big", 27490.0)},
    ]
    for r in records:  # what a pandas round trip through JSON with a missing batch would leave
        r["batch_size"] = float(r["batch_size"])
    table = records_table(
        records,
        rows=["variant", "phase", "batch_size"],
        columns=["metric"],
        metrics=["shape_change_s", "first_call_s", "big"],
    )
    assert list(table.columns) == ["shape_change_s", "first_call_s", "big"]  # the order asked for
    text = table.to_html()
    assert "nan" not in text.lower() and not E_NOTATION.search(text) and "32.0" not in text
    assert table.loc[("jit", "train", 32), "first_call_s"] == "1.50 s"
    assert table.loc[("eager", "train", 32), "shape_change_s"] == MISSING
    assert table.loc[("jit", "infer", 1), "big"] == "27,490"
    assert records_table([], ["variant"], ["metric"]).empty


def test_frames_use_the_experiments_units_and_say_yes_or_no():
    metrics = {"time_to_surface_s": Metric("s", "")}
    rows = [
        {"bug": "nan_loss", "time_to_surface_s": 0.0031, "user_line_shown": True},
        {"bug": "shape", "time_to_surface_s": None, "user_line_shown": False, "extra": 1e-9},
    ]
    table = frame(rows, metrics, columns=["bug", "time_to_surface_s", "user_line_shown", "extra"])
    assert table["time_to_surface_s"].tolist() == ["3.10 ms", MISSING]
    assert table["user_line_shown"].tolist() == ["yes", "no"]
    assert table["extra"].tolist() == [MISSING, "0.00000000100"]
    assert not E_NOTATION.search(table.to_html())


def test_the_timing_table_folds_the_interval_into_the_median_and_keeps_only_what_was_measured():
    from fwbench.measure.display import timing_table

    rows = [
        ("eager", "train", 32, "step_time_median_s", 0.004),
        ("eager", "train", 32, "step_time_ci_low_s", 0.0039),
        ("eager", "train", 32, "step_time_ci_high_s", 0.0042),
        ("eager", "train", 32, "first_call_s", 0.5),
        ("eager", "train", 32, "stable", 1.0),
        ("jit", "train", 16, "shape_change_s", 2.0),
    ]
    records = [{"variant": v, **record({"shape_change_s": Metric("s", "")}, p, b, m, x)} for v, p, b, m, x in rows]
    table = timing_table(records, rows=["variant", "phase", "batch_size"])
    assert list(table.columns) == ["median step [95% interval]", "first call", "shape change", "steady"]
    assert table.loc[("eager", "train", 32), "median step [95% interval]"] == "4.00 ms [3.90 ms – 4.20 ms]"
    assert table.loc[("jit", "train", 16)].tolist() == [MISSING, MISSING, "2.00 s", MISSING]
    assert timing_table([], ["variant"]).empty
