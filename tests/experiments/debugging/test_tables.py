"""Debugging tables, on synthetic cases we control (never on what a framework did); D1-D4 are in test_claims.py."""

import pandas as pd

from fwbench.experiments.debugging import tables as debug_report
from fwbench.report import tidy
from fwbench.report.claims import load_claims
from fwbench.report.results import Report
from synthetic.debugging import debug_case, debug_job, pb, store_with

CLAIMS = {c.id: c for c in load_claims()}


def test_is_good():
    assert debug_report.is_good("error", "error", True)
    assert not debug_report.is_good("error", "error", False)
    assert not debug_report.is_good("silent-wrong", "error", None)
    assert debug_report.is_good("works", "works", None)
    assert debug_report.is_good("works", "error", None)  # e.g. an int promoted to float: the right answer


def test_tool_effects_and_overhead(make_store):
    base = [debug_case("nan_loss", "eager", "silent-wrong", ideal="error")]
    with_tool = [debug_case("nan_loss", "eager", "error", ideal="error", line=True, tool="debug_nans")]
    overhead = [
        {
            "mode": "eager",
            "variant": "eager",
            "workload": "mlp",
            "batch_size": 64,
            "slowdown": 1.5,
            "ci_low": 1.4,
            "ci_high": 1.6,
            "processes": 3,
        },
        # stored before the cost was timed in several processes: its interval held one process's noise
        {
            "mode": "graph",
            "variant": "jax.jit",
            "workload": "mlp",
            "batch_size": 64,
            "slowdown": 1.5,
            "ci_low": 1.4,
            "ci_high": 1.6,
        },
    ]
    r = store_with(make_store, {"jax": base}, tools=[("jax", "debug_nans", with_tool, overhead)])
    eff = debug_report.tool_effects(debug_report.cases(r))
    assert eff[["tool", "without tool", "with tool", "line shown"]].values.tolist() == [
        ["debug_nans", "silent-wrong", "error", True]
    ]
    oh = debug_report.overhead(r)
    assert oh["slowdown"].tolist() == [1.5, 1.5] and set(oh["tool"]) == {"debug_nans"}
    assert oh["cost"].tolist() == [debug_report.COST_CLASSES["faster"], "inconclusive"]
    assert oh["ci_low"].isna().tolist() == [False, True]


def test_tool_sections_say_why_they_are_empty_when_no_tool_ran(make_store):
    base = [debug_case("nan_loss", "eager", "silent-wrong", ideal="error")]
    only_base = debug_report.cases(store_with(make_store, {"jax": base}))
    assert "full profile" in debug_report.no_tool_note(only_base)
    with_tool = [debug_case("nan_loss", "eager", "error", ideal="error", line=True, tool="debug_nans")]
    both = debug_report.cases(store_with(make_store, {"jax": base}, tools=[("jax", "debug_nans", with_tool, [])]))
    assert debug_report.no_tool_note(both) == ""
    assert debug_report.no_tool_note(only_base.iloc[0:0]) == ""


def test_tidy_rows_name_the_bug_tool_and_mode(make_store):
    r = store_with(make_store, {"torch": [debug_case("shape", "graph", "error", ideal="error", line=True)]})
    df = tidy.frame(r.runs)
    rows = df[df["metric"] == "outcome_error"]
    assert rows[["experiment", "workload", "variant", "mode", "value"]].values.tolist() == [
        ["debugging", "shape", "none", "graph", 1.0]
    ]
    assert set(df["metric"]) >= {"outcome_works", "outcome_silent_wrong", "user_line_shown", "time_to_surface_s"}


def test_cases_table_follows_the_catalogue_order(make_store):
    r = store_with(
        make_store,
        {"torch": [debug_case("side_effect", "eager", "works"), debug_case("shape", "eager", "error", ideal="error")]},
    )
    assert debug_report.cases(r)["bug"].tolist() == ["shape", "side_effect"]
    assert isinstance(debug_report.catalogue(r), pd.DataFrame)


def test_the_chapters_sentences_count_what_the_cases_say(make_store):
    cases_torch = [
        debug_case("shape", "eager", "error", ideal="error", line=True),
        debug_case("shape", "graph", "error", ideal="error", line=False),
        debug_case("print", "graph", "works"),
    ]
    cases_jax = [
        debug_case("shape", "eager", "silent-wrong", ideal="error"),
        debug_case("print", "graph", "silent-wrong"),
    ]
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
    base = [
        debug_case("shape", "eager", "error", ideal="error", line=True),
        debug_case("nan_loss", "eager", "error"),
        debug_case("print", "eager", "works"),
    ]
    tool = [debug_case("nan_loss", "eager", "error")]
    r = store_with(make_store, {"torch": base}, tools=[("torch", "detect_anomaly", tool, None)])
    text = debug_report.what_was_measured(r, debug_report.cases(r))
    assert "With a tool on, 1 of the 3 bugs ran (nan\\_loss); shape, print ran with no tool only" in text
    r = store_with(make_store, {"torch": base}, tools=[("torch", "detect_anomaly", base, None)])
    assert "With a tool on" not in debug_report.what_was_measured(r, debug_report.cases(r))


def test_d2_compares_shares_of_the_cases_each_mode_ran():
    # 3 of 4 cases good eagerly, 2 of 2 compiled (half the compiled cases missing): not harder compiled.
    cases = pd.DataFrame(
        {
            "machine_label": "m",
            "framework": "torch",
            "tool": "none",
            "bug": list("abcdef"),
            "mode": ["eager"] * 4 + ["graph"] * 2,
            "good": [True, True, True, False, True, True],
        }
    )
    s = debug_report.scores(cases)
    share = dict(zip(s["mode"], s["good"] / s["cases"]))
    assert share == {"eager": 0.75, "graph": 1.0}


def test_a_tool_cost_whose_processes_were_all_unsteady_is_inconclusive_not_a_crash(make_store):
    # As stored when every process's series was unsteady or measured on a busy machine: no slowdown, no interval.
    row = {
        "mode": "eager",
        "variant": "eager",
        "workload": "mlp",
        "batch_size": 8,
        "slowdown": None,
        "ci_low": None,
        "ci_high": None,
        "processes": 0,
        "unstable_processes": 2,
        "problems": ["measured on a busy machine: ..."],
    }
    r = Report(make_store([("r1", [debug_job("r1", "torch", "detect_anomaly", [], overhead=[row])])]).load()[0])
    oh = debug_report.overhead(r)
    assert len(oh) == 1 and oh.iloc[0]["cost"] == debug_report.COST_CLASSES["inconclusive"]


def test_the_debugging_pick_counts_bugs_handled_well_and_names_a_missing_framework(make_store):
    from fwbench.experiments.debugging.picks import picks

    report = store_with(
        make_store,
        {"torch": pb("works", "works", "works", "works"), "jax": pb("works", "silent-wrong", "works", "error")},
    )
    (pick,) = picks(report)
    assert pick.job == "Debugging" and pick.pick == "PyTorch"
    assert pick.by_how_much.startswith("PyTorch: 2 of 2 eager, 2 of 2 compiled; JAX: 2 of 2 eager, ")
    assert "no interval applies" in pick.how_sure
