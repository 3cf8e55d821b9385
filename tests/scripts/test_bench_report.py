"""bench-report's comparison of a run's verdicts with the previous bench-report's (issue 41: two fresh runs agree)."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_report.py"
spec = importlib.util.spec_from_file_location("bench_report", SCRIPT)
bench_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_report)


def test_a_changed_verdict_is_named_and_votes_alone_are_not_a_change():
    before = {
        "when": "then",
        "commit": "abc1234",
        "verdicts": {"E1": "supported (20/2/0)", "E2": "contradicted (0/4/0)"},
    }
    now = {"E1": "supported (19/2/1)", "E2": "mixed (1/3/0)", "E3": "inconclusive (0/2/2)"}
    lines = bench_report.verdict_lines(now, before)
    assert "    E1: supported (19/2/1)   same" in lines
    assert "    E2: mixed (1/3/0)   CHANGED (was contradicted (0/4/0))" in lines
    assert "    E3: inconclusive (0/2/2)" in lines  # not in the previous run: nothing to compare
    assert lines[-1].endswith("abc1234): 1 of 2")


def test_the_first_run_says_there_is_nothing_to_compare():
    lines = bench_report.verdict_lines({"E1": "supported (3/0/0)"}, None)
    assert "no previous bench-report" in lines[0] and lines[1:] == ["    E1: supported (3/0/0)"]
