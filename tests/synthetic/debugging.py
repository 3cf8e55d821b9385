"""Stored debugging jobs: bug-injection cases with the outcomes a test chooses."""

from __future__ import annotations

from fwbench import SCHEMA_VERSION
from fwbench.report.results import Report


def debug_case(
    bug: str,
    mode: str,
    outcome: str,
    *,
    ideal: str = "works",
    line: bool = False,
    tool: str = "none",
    seen: dict | None = None,
) -> dict:
    """One stored bug-injection case (as fwbench.experiments.debugging.harness.run_case writes it)."""
    err = outcome == "error"
    return {
        "bug": bug,
        "mode": mode,
        "tool": tool,
        "outcome": outcome,
        "ideal": ideal,
        "compiled_with": "x.compile",
        "planted": "bugs.py:1",
        "time_to_surface_s": 0.01,
        "details": seen or {},
        "stdout": "",
        "stderr": "",
        "warnings": [],
        "log": [],
        "exception_type": "ValueError" if err else None,
        "message": "<b>bad</b> (4, 3)" if err else None,
        "traceback": "<i>tb</i>" if err else None,
        "message_chars": 9 if err else None,
        "traceback_frames": 2 if err else None,
        "user_frame_depth": 0 if err and line else None,
        "user_line_shown": line if err else None,
        "names_shapes": err,
        "names_dtypes": False,
        "suggests_fix": False,
    }


def debug_job(
    run_id: str,
    framework: str,
    tool: str,
    cases: list[dict],
    *,
    survey: list[dict] | None = None,
    overhead: list[dict] | None = None,
) -> dict:
    """A stored debugging job holding `cases` (records derived as the experiment derives them)."""
    from fwbench.experiments.debugging.measure import case_records, catalogue

    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "job",
        "run_id": run_id,
        "job_id": f"debugging-{framework}-cpu-bugs-{tool}-p0",
        "job_key": f"key-{framework}-{tool}-{run_id}",
        "experiment": "debugging",
        "framework": framework,
        "device": "cpu",
        "workload": "bugs",
        "variant": tool,
        "mode": "eager,graph",
        "status": "ok",
        "params": {},
        "process": 0,
        "records": [r for c in cases for r in case_records(c)],
        "cases": cases,
        "samples": [],
        "checks": [],
        "survey": survey or [],
        "overhead": overhead or [],
        "bug_catalogue": catalogue(),
        "framework_version": "1.0",
        "error": None,
    }


def store_with(make_store, per_framework: dict, survey=None, tools=None) -> Report:
    """A report of one run: a no-tool job per framework holding its cases (and survey), plus `tools` jobs
    (framework, tool, cases, overhead)."""
    jobs = [debug_job("r1", fw, "none", cases, survey=(survey or {}).get(fw)) for fw, cases in per_framework.items()]
    for fw, tool, cases, overhead in tools or []:
        jobs.append(debug_job("r1", fw, tool, cases, overhead=overhead))
    return Report(make_store([("r1", jobs)]).load()[0])


def pb(eager_print, graph_print, eager_bp, graph_bp) -> list[dict]:
    """The print and breakpoint cases, eager and compiled, with these outcomes."""
    return [
        debug_case("print", "eager", eager_print),
        debug_case("print", "graph", graph_print),
        debug_case("breakpoint", "eager", eager_bp),
        debug_case("breakpoint", "graph", graph_bp),
    ]
