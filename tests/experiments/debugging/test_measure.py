"""The debugging experiment's own logic: parameters, records from a case, what a missing package is."""

import math

import pytest

from fwbench.experiments import metrics
from fwbench.experiments.debugging.measure import Params, case_records, dependency_closure, missing_package
from synthetic.debugging import debug_case
from tiers import full_only

METRICS = metrics()


def test_params_validate_bug_names():
    with pytest.raises(ValueError, match="unknown"):
        Params(bugs=("shape", "nope"))
    with pytest.raises(ValueError):
        Params(case_timeout_s=0)
    assert "shape" in Params().bugs


def test_case_records_are_one_hot_and_documented():
    recs = case_records(debug_case("shape", "graph", "error", ideal="error", line=True))
    values = {r["metric"]: r["value"] for r in recs}
    assert values["outcome_error"] == 1.0 and values["outcome_works"] == 0.0 and values["outcome_silent_wrong"] == 0.0
    assert values["user_line_shown"] == 1.0 and values["user_frame_depth"] == 0
    assert all(r["workload"] == "shape" and r["mode"] == "graph" for r in recs)
    assert all(r["metric"] in METRICS for r in recs)
    works = {r["metric"] for r in case_records(debug_case("print", "eager", "works"))}
    assert "user_line_shown" not in works  # only errors have a printout to judge


def test_retrace_records_carry_compile_counts():
    recs = case_records(debug_case("retrace", "graph", "works", seen={"compiles": 6, "warned": False}))
    values = {r["metric"]: r["value"] for r in recs}
    assert values["compiles"] == 6 and values["recompile_warning"] == 0.0


@pytest.mark.parametrize(
    "error, package",
    [
        ("ModuleNotFoundError: No module named 'tensorboard'", "tensorboard"),
        ("ModuleNotFoundError: No module named 'tensorboardX.writer'", "tensorboardX"),
        (
            "TBNotInstalledError: TensorBoard is not installed, missing implementation for tf.summary.scalar",
            "tensorboard",
        ),
        ("RuntimeError: something else", None),
        (None, None),
    ],
)
def test_missing_package(error, package):
    assert missing_package(error) == package


def test_dependency_closure_follows_requirements():
    closure = dependency_closure("pandas")
    assert {"pandas", "numpy", "python-dateutil"} <= closure
    assert dependency_closure("no-such-distribution-xyz") == {"no-such-distribution-xyz"}


@pytest.mark.parametrize("processes", ["fork", full_only("fresh")])
def test_a_tools_cost_takes_turns_with_the_tool_off_in_several_processes(processes, tmp_path):
    from fwbench.experiments.debugging.harness import CaseServer, FreshCases
    from fwbench.experiments.debugging.measure import tool_overhead

    params = Params(min_repeats=3, max_time_s=0.05, warmup=1, cost_processes=2, overhead_batch_size=8)
    with (CaseServer if processes == "fork" else FreshCases)("jax", threads=1, workdir=str(tmp_path)) as server:
        records, rows, series = tool_overhead(server, "debug_nans", ["eager", "graph"], params)
    assert [r["mode"] for r in rows] == ["eager", "graph"]
    for row in rows:
        assert row["processes"] + row["unstable_processes"] == 2
        if row["processes"] == 2:  # an interval over the two processes
            assert 0 < row["ci_low"] <= row["slowdown"] <= row["ci_high"] < math.inf
    # Every process timed both states, each past its minimum of steps.
    assert sorted((s["phase"], s["process"]) for s in series) == sorted(
        (f"train-tool-{state}-{mode}", p) for state in ("off", "on") for mode in ("eager", "graph") for p in (0, 1)
    )
    assert all(len(s["values"]) >= 3 for s in series)
    # The process counts are stored for every mode; a slowdown only where some process was steady.
    for row in rows:
        mine = {r["metric"]: r["value"] for r in records if r["mode"] == row["mode"]}
        assert (mine["tool_cost_processes"], mine["tool_cost_unstable_processes"]) == (
            row["processes"],
            row["unstable_processes"],
        )
        assert ("tool_slowdown" in mine) == (row["processes"] > 0)
        assert ("tool_slowdown_ci_low" in mine) == (row["processes"] > 1)
    assert list(tmp_path.iterdir()) == []
