"""fwbench.report.busy: the words the chapters list busy runs with."""

import math

from fwbench.report.busy import busy_blocks, busy_list, how_busy


def test_how_busy_says_what_was_recorded():
    assert how_busy(0.9, 3) == "other programs used 0.9 CPUs on average (3 attempts)"
    assert how_busy(1.25, 1) == "other programs used 1.25 CPUs on average (1 attempt)"
    assert how_busy(math.nan, math.nan) == "other programs used the CPUs"


def test_busy_list_counts_the_runs_and_lists_each():
    text = busy_list(["box, a", "box, b"], "timed launch(es)", "the launch was run again", "their times are")
    assert text.startswith("2 timed launch(es) were measured on a busy machine")
    assert "even when the launch was run again), so their times are left out of every table" in text
    assert text.endswith("\n\n- box, a\n- box, b")
    assert busy_list([], "x", "y", "z") == ""


def test_busy_blocks_pair_each_busy_flag_with_its_own_block_readings():
    rec = lambda block, metric, value: {"phase": block, "metric": metric, "value": value}  # noqa: E731
    records = [
        rec("a", "busy_block", 1.0),
        rec("a", "other_cpus", 0.9),
        rec("a", "block_attempts", 3.0),
        rec("b", "busy_block", 0.0),
        rec("b", "other_cpus", 0.01),
        rec("b", "block_attempts", 1.0),
        rec("a", "latency_s", 0.1),
    ]
    assert busy_blocks(records, lambda r: r["phase"]) == [("a", {"other_cpus": 0.9, "block_attempts": 3.0})]
