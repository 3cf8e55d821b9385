"""Debugging tables and the D1-D4 rules, on synthetic cases we control (never on what a framework did)."""

import pandas as pd

from fwbench.experiments.debugging import tables as debug_report
from fwbench.report import tidy
from fwbench.report.claims import load_claims, verdict_for
from fwbench.report.results import Report
from synthetic.debugging import debug_case, debug_job

CLAIMS = {c.id: c for c in load_claims()}


def store_with(make_store, per_framework: dict, survey=None, tools=None):
    jobs = [debug_job("r1", fw, "none", cases, survey=(survey or {}).get(fw)) for fw, cases in per_framework.items()]
    for fw, tool, cases, overhead in tools or []:
        jobs.append(debug_job("r1", fw, tool, cases, overhead=overhead))
    return Report(make_store([("r1", jobs)]).load()[0])


def pb(eager_print, graph_print, eager_bp, graph_bp):
    return [debug_case("print", "eager", eager_print), debug_case("print", "graph", graph_print),
            debug_case("breakpoint", "eager", eager_bp), debug_case("breakpoint", "graph", graph_bp)]


def test_is_good():
    assert debug_report.is_good("error", "error", True)
    assert not debug_report.is_good("error", "error", False)
    assert not debug_report.is_good("silent-wrong", "error", None)
    assert debug_report.is_good("works", "works", None)
    assert debug_report.is_good("works", "error", None)  # e.g. an int promoted to float: the right answer


def test_d1_d3_when_only_torch_keeps_working_compiled(make_store):
    r = store_with(make_store, {"torch": pb("works", "works", "works", "works"),
                                "jax": pb("works", "silent-wrong", "works", "silent-wrong")})
    assert verdict_for(CLAIMS["D1"], r).verdict == "supported"
    assert verdict_for(CLAIMS["D3"], r).verdict == "mixed"


def test_d1_contradicted_when_another_framework_does_as_well(make_store):
    r = store_with(make_store, {"torch": pb("works", "silent-wrong", "works", "works"),
                                "jax": pb("works", "works", "works", "silent-wrong")})
    assert verdict_for(CLAIMS["D1"], r).verdict == "contradicted"


def test_d1_mixed_when_torch_leads_without_a_full_house(make_store):
    r = store_with(make_store, {"torch": pb("works", "works", "works", "silent-wrong"),
                                "jax": pb("works", "silent-wrong", "works", "silent-wrong")})
    assert verdict_for(CLAIMS["D1"], r).verdict == "mixed"


def test_d3_contradicted_when_eager_fails(make_store):
    r = store_with(make_store, {"torch": pb("works", "works", "error", "works")})
    assert verdict_for(CLAIMS["D3"], r).verdict == "contradicted"


def test_d2_counts_good_outcomes_per_mode(make_store):
    torch = [debug_case("shape", "eager", "error", ideal="error", line=True),
             debug_case("shape", "graph", "error", ideal="error", line=False),
             debug_case("print", "eager", "works"), debug_case("print", "graph", "works")]
    jax = [debug_case("shape", "eager", "error", ideal="error", line=True),
           debug_case("shape", "graph", "error", ideal="error", line=True),
           debug_case("print", "eager", "works"), debug_case("print", "graph", "works")]
    r = store_with(make_store, {"torch": torch, "jax": jax})
    v = verdict_for(CLAIMS["D2"], r)
    assert v.verdict == "mixed"
    assert "torch: 2 of 2 bugs (100%) handled well eagerly, 1 of 2 (50%) compiled: **harder**" in v.evidence


def test_d2_supported_when_every_framework_is_worse_compiled(make_store):
    torch = [debug_case("shape", "eager", "error", ideal="error", line=True),
             debug_case("shape", "graph", "error", ideal="error", line=False)]
    assert verdict_for(CLAIMS["D2"], store_with(make_store, {"torch": torch})).verdict == "supported"


def _item(item, works, needs=()):
    return {"item": item, "works": works, "files": ["f"] if works else [], "bytes": 10 if works else 0,
            "extra_packages": list(needs), "error": None if works else "ModuleNotFoundError: x"}


def test_d4_rule(make_store):
    few = {"torch": [debug_case("print", "eager", "works")], "tensorflow": [debug_case("print", "eager", "works")]}
    both_need = {"torch": [_item("scalar_log", False, ["tensorboard"])],
                 "tensorflow": [_item("scalar_log", False, ["tensorboard"])]}
    assert verdict_for(CLAIMS["D4"], store_with(make_store, few, survey=both_need)).verdict == "contradicted"
    tf_free = {"torch": [_item("scalar_log", False, ["tensorboard"])], "tensorflow": [_item("scalar_log", True)]}
    v = verdict_for(CLAIMS["D4"], store_with(make_store, few, survey=tf_free))
    assert v.verdict == "supported"
    assert "needs tensorboard" in v.evidence


def test_no_debugging_data_means_not_yet_measured():
    for cid in ("D1", "D2", "D3", "D4"):
        assert verdict_for(CLAIMS[cid], Report(runs=[])).verdict == "not yet measured"


def test_tool_effects_and_overhead(make_store):
    base = [debug_case("nan_loss", "eager", "silent-wrong", ideal="error")]
    with_tool = [debug_case("nan_loss", "eager", "error", ideal="error", line=True, tool="debug_nans")]
    overhead = [{"mode": "eager", "variant": "eager", "workload": "mlp", "batch_size": 64, "slowdown": 1.5,
                 "ci_low": 1.4, "ci_high": 1.6, "processes": 3},
                # stored before the cost was timed in several processes: its interval held one process's noise
                {"mode": "graph", "variant": "jax.jit", "workload": "mlp", "batch_size": 64, "slowdown": 1.5,
                 "ci_low": 1.4, "ci_high": 1.6}]
    r = store_with(make_store, {"jax": base}, tools=[("jax", "debug_nans", with_tool, overhead)])
    eff = debug_report.tool_effects(debug_report.cases(r))
    assert eff[["tool", "without tool", "with tool", "line shown"]].values.tolist() == [
        ["debug_nans", "silent-wrong", "error", True]]
    oh = debug_report.overhead(r)
    assert oh["slowdown"].tolist() == [1.5, 1.5] and set(oh["tool"]) == {"debug_nans"}
    assert oh["cost"].tolist() == [debug_report.COST_CLASSES["faster"], "inconclusive"]
    assert oh["ci_low"].isna().tolist() == [False, True]


def test_tidy_rows_name_the_bug_tool_and_mode(make_store):
    r = store_with(make_store, {"torch": [debug_case("shape", "graph", "error", ideal="error", line=True)]})
    df = tidy.frame(r.runs)
    rows = df[df["metric"] == "outcome_error"]
    assert rows[["experiment", "workload", "variant", "mode", "value"]].values.tolist() == [
        ["debugging", "shape", "none", "graph", 1.0]]
    assert set(df["metric"]) >= {"outcome_works", "outcome_silent_wrong", "user_line_shown", "time_to_surface_s"}


def test_cases_table_follows_the_catalogue_order(make_store):
    r = store_with(make_store, {"torch": [debug_case("side_effect", "eager", "works"),
                                          debug_case("shape", "eager", "error", ideal="error")]})
    assert debug_report.cases(r)["bug"].tolist() == ["shape", "side_effect"]
    assert isinstance(debug_report.catalogue(r), pd.DataFrame)


def test_the_chapters_sentences_count_what_the_cases_say(make_store):
    cases_torch = [debug_case("shape", "eager", "error", ideal="error", line=True),
                   debug_case("shape", "graph", "error", ideal="error", line=False),
                   debug_case("print", "graph", "works")]
    cases_jax = [debug_case("shape", "eager", "silent-wrong", ideal="error"), debug_case("print", "graph", "silent-wrong")]
    r = store_with(make_store, {"torch": cases_torch, "jax": cases_jax})
    cases = debug_report.cases(r)
    scores = debug_report.score_lines(cases)
    assert "torch eager: 1 of 1 bugs handled as a developer wants" in scores
    assert "jax eager ran on silently through: shape" in scores
    text = debug_report.what_this_means(cases, debug_report.overhead(r), n_bugs=2)
    assert "showed real values for: torch print." in text
    assert "Errors whose printout named the planted line: 100% eager, 0% compiled." in text
    assert "cases in all, on 1 machine(s)" in debug_report.what_was_measured(r, cases)


def test_bugs_that_ran_with_no_tool_only_are_named(make_store):
    base = [debug_case("shape", "eager", "error", ideal="error", line=True), debug_case("nan_loss", "eager", "error"),
            debug_case("print", "eager", "works")]
    tool = [debug_case("nan_loss", "eager", "error")]
    r = store_with(make_store, {"torch": base}, tools=[("torch", "detect_anomaly", tool, None)])
    text = debug_report.what_was_measured(r, debug_report.cases(r))
    assert "With a tool on, 1 of the 3 bugs ran (nan\\_loss); shape, print ran with no tool only" in text
    r = store_with(make_store, {"torch": base}, tools=[("torch", "detect_anomaly", base, None)])
    assert "With a tool on" not in debug_report.what_was_measured(r, debug_report.cases(r))


def test_a_framework_whose_debugging_job_failed_is_named_not_dropped(make_store):
    failed = {**debug_job("r1", "tensorflow", "none", []), "status": "failed", "cases": [], "records": [],
              "error": {"type": "RuntimeError", "message": "<b>kernel died</b>", "traceback": ""}}
    jobs = [debug_job("r1", "torch", "none", pb("works", "works", "works", "works")),
            debug_job("r1", "jax", "none", pb("works", "silent-wrong", "works", "silent-wrong")), failed]
    r = Report(make_store([("r1", jobs)]).load()[0])
    d1 = verdict_for(CLAIMS["D1"], r)
    # PyTorch leads the frameworks that ran, but TensorFlow's cases are missing: not "supported" on that machine.
    assert d1.verdict == "mixed"
    assert "Not compared (no cases: the job did not complete)" in d1.evidence and "tensorflow (failed" in d1.evidence
    assert "<b>" not in d1.evidence  # store text, escaped
    assert "tensorflow" in verdict_for(CLAIMS["D2"], r).evidence


def test_d2_compares_shares_of_the_cases_each_mode_ran():
    # 3 of 4 cases good eagerly, 2 of 2 compiled (half the compiled cases missing): not harder compiled.
    cases = pd.DataFrame({"machine_label": "m", "framework": "torch", "tool": "none", "bug": list("abcdef"),
                          "mode": ["eager"] * 4 + ["graph"] * 2, "good": [True, True, True, False, True, True]})
    s = debug_report.scores(cases)
    share = dict(zip(s["mode"], s["good"] / s["cases"]))
    assert share == {"eager": 0.75, "graph": 1.0}


def test_a_tool_cost_whose_processes_were_all_unsteady_is_inconclusive_not_a_crash(make_store):
    # As stored when every process's series was unsteady or measured on a busy machine: no slowdown, no interval.
    row = {"mode": "eager", "variant": "eager", "workload": "mlp", "batch_size": 8, "slowdown": None, "ci_low": None,
           "ci_high": None, "processes": 0, "unstable_processes": 2, "problems": ["measured on a busy machine: ..."]}
    r = Report(make_store([("r1", [debug_job("r1", "torch", "detect_anomaly", [], overhead=[row])])]).load()[0])
    oh = debug_report.overhead(r)
    assert len(oh) == 1 and oh.iloc[0]["cost"] == debug_report.COST_CLASSES["inconclusive"]


def test_the_debugging_pick_counts_bugs_handled_well_and_names_a_missing_framework(make_store):
    from fwbench.experiments.debugging.picks import picks

    report = store_with(make_store, {"torch": pb("works", "works", "works", "works"),
                                     "jax": pb("works", "silent-wrong", "works", "error")})
    (pick,) = picks(report)
    assert pick.job == "Debugging" and pick.pick == "PyTorch"
    assert pick.by_how_much.startswith("PyTorch: 2 of 2 eager, 2 of 2 compiled; JAX: 2 of 2 eager, ")
    assert "no interval applies" in pick.how_sure


def test_d1_and_d3_give_their_own_reasons(make_store):
    from fwbench.report.claims import verdicts
    from fwbench.report.findings import because

    report = store_with(make_store, {"torch": pb("works", "works", "works", "works"),
                                     "jax": pb("works", "silent-wrong", "works", "error")})
    v = {x.claim.id: x for x in verdicts(report)}
    d1, d3 = because(v["D1"]), because(v["D3"])
    assert d1 != d3
    assert "torch 4 of 4" in d1 and "jax 2 of 4" in d1
    assert "eager: 4 of 4" in d3 and "compiled: 2 of 4" in d3
