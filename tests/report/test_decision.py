"""The decision page answers each use case only from computed verdicts, and says what is missing otherwise."""

from conftest import evg_runs
from fwbench.report import decision
from fwbench.report.claims import verdicts
from fwbench.report.results import Report

TIMES = {("torch", "eager"): 0.010, ("torch", "torch.compile"): 0.004, ("jax", "eager"): 0.030,
         ("jax", "jax.jit"): 0.002}


def test_use_cases_rest_on_claims_that_exist():
    from fwbench.report.claims import load_claims

    ids = {c.id for c in load_claims()}
    for case in decision.USE_CASES:
        assert set(case.claims) <= ids, case.name


def test_answers_come_from_verdicts_and_gaps_say_what_they_need(make_store):
    report = Report(make_store([("r1", evg_runs("r1", TIMES))]).load()[0])
    results = {v.claim.id: v for v in verdicts(report)}
    rows = decision.rows(list(results.values())).set_index("use case")
    fast = rows.loc["Fast training on one machine"]
    assert [m[0] for m in fast["measured"]] == [c for c in ("E1", "E2", "E3", "E4", "E5")
                                                 if results[c].verdict not in ("not yet measured", "not testable here")]
    assert all(m[2] == results[m[0]].verdict for m in fast["measured"])
    tpu = rows.loc["TPU"]
    assert tpu["measured"] == [] and tpu["not measured"][0][0] == "H2" and "TPU" in tpu["not measured"][0][1]
    debugging = dict(rows.loc["Research prototyping"]["not measured"])
    assert "debugging experiment" in debugging["D1"]
    page = decision.html(decision.rows(list(results.values())))
    assert "href='claims.html#claim-E1'" in page and "Not measured here" in page
