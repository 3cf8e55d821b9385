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


def test_every_claim_gets_its_verdict_and_a_timing_claim_its_votes(make_store):
    from fwbench.report.claims import load_claims, verdict_for
    from fwbench.report.results import Report
    from synthetic.eager_vs_graph import evg_runs

    times = {
        ("torch", "eager"): 0.010,
        ("torch", "torch.compile"): 0.004,
        ("jax", "eager"): 0.020,
        ("jax", "jax.jit"): 0.002,
    }
    report = Report(make_store([("r1", evg_runs("r1", times))]).load()[0])
    table = bench_report.verdict_table(report)
    claims = {c.id: c for c in load_claims()}
    assert list(table) == list(claims)
    e1 = verdict_for(claims["E1"], report)
    roles = e1.cells["role"]
    votes = [int((roles == r).sum()) for r in ("supports", "contradicts", "inconclusive")]
    assert table["E1"] == f"{e1.verdict} ({votes[0]}/{votes[1]}/{votes[2]})" and sum(votes) == len(roles) > 0
    assert table["D1"] == "not yet measured"  # no debugging runs: no cells, no votes
