"""D1-D4 on synthetic cases we control (never on what a framework did)."""

from fwbench.report.claims import load_claims, verdict_for
from fwbench.report.results import Report
from synthetic.debugging import debug_case, debug_job, pb, store_with

CLAIMS = {c.id: c for c in load_claims()}


def test_d1_d3_when_only_torch_keeps_working_compiled(make_store):
    r = store_with(
        make_store,
        {"torch": pb("works", "works", "works", "works"), "jax": pb("works", "silent-wrong", "works", "silent-wrong")},
    )
    assert verdict_for(CLAIMS["D1"], r).verdict == "supported"
    assert verdict_for(CLAIMS["D3"], r).verdict == "mixed"


def test_d1_contradicted_when_another_framework_does_as_well(make_store):
    r = store_with(
        make_store,
        {"torch": pb("works", "silent-wrong", "works", "works"), "jax": pb("works", "works", "works", "silent-wrong")},
    )
    assert verdict_for(CLAIMS["D1"], r).verdict == "contradicted"


def test_d1_mixed_when_torch_leads_without_a_full_house(make_store):
    r = store_with(
        make_store,
        {
            "torch": pb("works", "works", "works", "silent-wrong"),
            "jax": pb("works", "silent-wrong", "works", "silent-wrong"),
        },
    )
    assert verdict_for(CLAIMS["D1"], r).verdict == "mixed"


def test_d3_contradicted_when_eager_fails(make_store):
    r = store_with(make_store, {"torch": pb("works", "works", "error", "works")})
    assert verdict_for(CLAIMS["D3"], r).verdict == "contradicted"


def test_d2_counts_good_outcomes_per_mode(make_store):
    torch = [
        debug_case("shape", "eager", "error", ideal="error", line=True),
        debug_case("shape", "graph", "error", ideal="error", line=False),
        debug_case("print", "eager", "works"),
        debug_case("print", "graph", "works"),
    ]
    jax = [
        debug_case("shape", "eager", "error", ideal="error", line=True),
        debug_case("shape", "graph", "error", ideal="error", line=True),
        debug_case("print", "eager", "works"),
        debug_case("print", "graph", "works"),
    ]
    r = store_with(make_store, {"torch": torch, "jax": jax})
    v = verdict_for(CLAIMS["D2"], r)
    assert v.verdict == "mixed"
    assert "torch: 2 of 2 bugs (100%) handled well eagerly, 1 of 2 (50%) compiled: **harder**" in v.evidence


def test_d2_supported_when_every_framework_is_worse_compiled(make_store):
    torch = [
        debug_case("shape", "eager", "error", ideal="error", line=True),
        debug_case("shape", "graph", "error", ideal="error", line=False),
    ]
    assert verdict_for(CLAIMS["D2"], store_with(make_store, {"torch": torch})).verdict == "supported"


def _item(item, works, needs=()):
    return {
        "item": item,
        "works": works,
        "files": ["f"] if works else [],
        "bytes": 10 if works else 0,
        "extra_packages": list(needs),
        "error": None if works else "ModuleNotFoundError: x",
    }


def test_d4_rule(make_store):
    few = {"torch": [debug_case("print", "eager", "works")], "tensorflow": [debug_case("print", "eager", "works")]}
    both_need = {
        "torch": [_item("scalar_log", False, ["tensorboard"])],
        "tensorflow": [_item("scalar_log", False, ["tensorboard"])],
    }
    assert verdict_for(CLAIMS["D4"], store_with(make_store, few, survey=both_need)).verdict == "contradicted"
    tf_free = {"torch": [_item("scalar_log", False, ["tensorboard"])], "tensorflow": [_item("scalar_log", True)]}
    v = verdict_for(CLAIMS["D4"], store_with(make_store, few, survey=tf_free))
    assert v.verdict == "supported"
    assert "needs tensorboard" in v.evidence


def test_no_debugging_data_means_not_yet_measured():
    for cid in ("D1", "D2", "D3", "D4"):
        assert verdict_for(CLAIMS[cid], Report(runs=[])).verdict == "not yet measured"


def test_a_framework_whose_debugging_job_failed_is_named_not_dropped(make_store):
    failed = {
        **debug_job("r1", "tensorflow", "none", []),
        "status": "failed",
        "cases": [],
        "records": [],
        "error": {"type": "RuntimeError", "message": "<b>kernel died</b>", "traceback": ""},
    }
    jobs = [
        debug_job("r1", "torch", "none", pb("works", "works", "works", "works")),
        debug_job("r1", "jax", "none", pb("works", "silent-wrong", "works", "silent-wrong")),
        failed,
    ]
    r = Report(make_store([("r1", jobs)]).load()[0])
    d1 = verdict_for(CLAIMS["D1"], r)
    # PyTorch leads the frameworks that ran, but TensorFlow's cases are missing: not "supported" on that machine.
    assert d1.verdict == "mixed"
    assert "Not compared (no cases: the job did not complete)" in d1.evidence and "tensorflow (failed" in d1.evidence
    assert "<b>" not in d1.evidence  # store text, escaped
    assert "tensorflow" in verdict_for(CLAIMS["D2"], r).evidence


def test_d1_and_d3_give_their_own_reasons(make_store):
    from fwbench.report.claims import verdicts
    from fwbench.report.findings import because

    report = store_with(
        make_store,
        {"torch": pb("works", "works", "works", "works"), "jax": pb("works", "silent-wrong", "works", "error")},
    )
    v = {x.claim.id: x for x in verdicts(report)}
    d1, d3 = because(v["D1"]), because(v["D3"])
    assert d1 != d3
    assert "torch 4 of 4" in d1 and "jax 2 of 4" in d1
    assert "eager: 4 of 4" in d3 and "compiled: 2 of 4" in d3
