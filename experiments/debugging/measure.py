"""Debugging ergonomics of one (framework, tool) pair: every planted bug eagerly and compiled, the tool's cost, the tooling survey."""

from __future__ import annotations

import importlib.metadata
import math
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from fwbench.experiments.debugging import hooks
from fwbench.experiments.debugging.bugs import BUGS
from fwbench.experiments.debugging.harness import CaseServer, FreshCases
from fwbench.experiments.debugging.metrics import METRICS
from fwbench.frameworks import get_adapter
from fwbench.measure.job import Request
from fwbench.measure.metrics import record
from fwbench.measure.stats import cell_estimate, compare
from fwbench.measure.timing import InterleaveConfig, measure_interleaved
from fwbench.workloads import get_workload

#: What the tooling survey (claim D4) asks of each framework, run in the baseline ("none") job.
SURVEY = ("profiler_trace", "scalar_log")

#: One-hot outcome metrics: a scorecard cell is the metric that is 1.
OUTCOME_METRICS = {"error": "outcome_error", "silent-wrong": "outcome_silent_wrong", "works": "outcome_works"}


@dataclass(frozen=True)
class Params:
    """Parameters of the debugging experiment that a profile may set."""

    bugs: tuple[str, ...] = field(
        default=tuple(BUGS), metadata={"help": f"planted bugs to run, from: {', '.join(BUGS)}"}
    )
    tool_bugs: tuple[str, ...] = field(
        default=tuple(BUGS),
        metadata={"help": "of those, the bugs also run with a debugging tool on (the 'none' job runs all of `bugs`)"},
    )
    case_timeout_s: float = field(
        default=300.0,
        metadata={"bounds": "timeout", "help": "a case's process is killed (and recorded as hung) after this long"},
    )
    overhead_workload: str = field(
        default="mlp", metadata={"help": "workload whose training step times each tool's cost"}
    )
    overhead_batch_size: int = field(default=64, metadata={"bounds": "batch", "help": "batch of that training step"})
    warmup: int = field(
        default=5,
        metadata={
            "bounds": "steps",
            "help": "tool cost: untimed steps per tool state at least, after the first call (more until step times settle)",
        },
    )
    min_repeats: int = field(
        default=10, metadata={"bounds": "steps", "help": "tool cost: timed steps per tool state at least, per process"}
    )
    max_time_s: float = field(
        default=2.0,
        metadata={"bounds": "seconds", "help": "tool cost: timed budget per tool state and mode, per process"},
    )
    busy_cpus: float = field(
        default=InterleaveConfig.busy_cpus,
        metadata={
            "bounds": "cpus",
            "help": "tool cost: a window of rounds is busy (dropped and re-run, past a bound kept out) when other programs "
            "used more CPUs than this during it (fwbench.measure.timing)",
        },
    )
    cost_processes: int = field(
        default=3,
        metadata={
            "bounds": "processes",
            "help": "tool cost: processes per mode (forks of the case server, or fresh interpreters with case_processes: "
            "fresh); in each, tool-off and tool-on steps take turns block by block in a seeded random order, and "
            "the slowdown's 95% interval is over these processes",
        },
    )
    survey: bool = field(default=True, metadata={"help": "run the profiler / TensorBoard survey in the 'none' job"})
    case_processes: str = field(
        default="fork",
        metadata={
            "help": "fork: each case is a fork of one process that imported the framework (the import is paid once); "
            "fresh: a new interpreter per case (slower; `make bench-isolation` compares the two)"
        },
    )

    def __post_init__(self):
        unknown = [b for b in (*self.bugs, *self.tool_bugs) if b not in BUGS]
        if not self.bugs or unknown:
            raise ValueError(f"bugs must name planted bugs from: {', '.join(BUGS)}; unknown: {unknown}")
        if self.case_processes not in ("fork", "fresh"):
            raise ValueError(f"case_processes must be 'fork' or 'fresh', not {self.case_processes!r}")
        if self.case_timeout_s <= 0:
            raise ValueError("case_timeout_s must be positive")
        if not isinstance(self.cost_processes, int) or isinstance(self.cost_processes, bool) or self.cost_processes < 1:
            raise ValueError(f"cost_processes must be a positive integer, got {self.cost_processes!r}")
        get_workload(self.overhead_workload)

    def interleave(self) -> InterleaveConfig:
        """The tool-cost timing: off and on take turns, so both states share the budget of two."""
        return InterleaveConfig(
            min_samples=self.min_repeats,
            max_time_s=2 * self.max_time_s,
            warmup_min=max(1, self.warmup),
            warmup_max=max(60, self.warmup),
            busy_cpus=self.busy_cpus,
        )

    def cost_settings(self) -> dict:
        """What a tool-cost process needs of these parameters (sent to it as JSON)."""
        return {k: getattr(self, k) for k in COST_FIELDS}


#: The parameters a tool-cost process reads.
COST_FIELDS = ("overhead_workload", "overhead_batch_size", "warmup", "min_repeats", "max_time_s", "busy_cpus")


def _record(workload: str, mode: str, phase: str, batch: int, metric: str, value: float) -> dict:
    return record(METRICS, phase, batch, metric, value, workload=workload, mode=mode)


def case_records(case: dict) -> list[dict]:
    """A case's numbers in the tidy schema (the text, tracebacks included, stays in the job's `cases`)."""
    bug = BUGS.get(case["bug"])
    first = bug.calls()[0][0] if bug else None
    batch = first.shape[0] if hasattr(first, "shape") else 0
    values = {OUTCOME_METRICS[o]: float(case["outcome"] == o) for o in OUTCOME_METRICS}
    values["time_to_surface_s"] = case["time_to_surface_s"]
    if case["outcome"] == "error":
        for key in ("user_line_shown", "names_shapes", "names_dtypes", "suggests_fix"):
            values[key] = float(bool(case.get(key)))
        for key in ("user_frame_depth", "message_chars", "traceback_frames"):
            if case.get(key) is not None:
                values[key] = case[key]
    details = case.get("details") or {}
    if "compiles" in details:
        values["compiles"] = details["compiles"]
        values["recompile_warning"] = float(bool(details.get("warned")))
    return [_record(case["bug"], case["mode"], "debug", batch, k, v) for k, v in values.items()]


def tool_cost(adapter, tool: str, mode: str, params: Params, seed: int) -> dict:
    """One process's measurement of a tool's cost in `mode`: a normal training step with the tool off and on,
    taking turns block by block in a seeded random order (the tool switched on around its own blocks only), each
    warmed until its step times settle. Runs in a process of its own (see CaseServer.cost)."""
    spec = get_workload(params.overhead_workload)
    target = hooks.get(adapter.name).target(adapter)
    x_np, y_np = spec.batch(params.overhead_batch_size)
    x, y = adapter.to_device(x_np, "cpu"), adapter.to_device(y_np, "cpu")
    variant = {"eager": next(v for v, m in adapter.variants.items() if m == "eager"), "graph": target.compiled_with}[
        mode
    ]
    steps = {"off": adapter.train_step(adapter.build(spec, "cpu"), variant)}
    with target.tool(tool):
        steps["on"] = adapter.train_step(adapter.build(spec, "cpu"), variant)
    fns = {state: (lambda step=step: step(x, y)) for state, step in steps.items()}
    # The tool-off step runs once before the turns begin. Seen with torch 2.13: torch.compile fails on this
    # training step (a data-dependent guard) when its first compile in the process happens under
    # detect_anomaly, and succeeds once a compile without it has run; the order of first calls must not decide
    # whether the cost can be measured.
    adapter.sync(fns["off"]())
    series = measure_interleaved(
        fns,
        adapter.sync,
        params.interleave(),
        random.Random(f"{tool}|{mode}|{seed}"),
        contexts={"on": lambda: target.tool(tool)},
    )
    return {
        "mode": mode,
        "variant": variant,
        "seed": seed,
        **{
            state: {"values": s.samples_s, "stable": s.stable, "problem": s.problem, "discarded": s.discarded}
            for state, s in series.items()
        },
    }


def tool_overhead(server, tool: str, modes: list[str], params: Params) -> tuple[list[dict], list[dict], list[dict]]:
    """A tool's cost per mode over `params.cost_processes` processes: records, a summary row per mode, and every
    process's series. The slowdown (tool on / off) is paired over processes (`stats.compare`): a t interval on the
    per-process log ratios of median step times, so it carries the spread between processes; a process whose
    series did not reach a steady state is left out of it, and counted."""
    runs = [
        server.cost(tool, mode, params.cost_settings(), seed, params.case_timeout_s)
        for seed in range(params.cost_processes)
        for mode in modes
    ]
    records, rows, series = [], [], []
    batch = params.overhead_batch_size
    for mode in modes:
        mine = [r for r in runs if r["mode"] == mode]
        steady = [r for r in mine if r["off"]["stable"] and r["on"]["stable"]]
        off = {r["seed"]: r["off"]["values"] for r in steady}
        on = {r["seed"]: r["on"]["values"] for r in steady}
        c = compare(on, off) if steady else None  # ratio = on time / off time
        slowdown = c.ratio if c else None
        lo, hi = (c.ci_low, c.ci_high) if c and math.isfinite(c.ci_high) else (None, None)  # none from one process
        for metric, value in (
            ("tool_slowdown", slowdown),
            ("tool_slowdown_ci_low", lo),
            ("tool_slowdown_ci_high", hi),
            ("step_time_tool_off_s", cell_estimate(off)[0] if off else None),
            ("step_time_tool_on_s", cell_estimate(on)[0] if on else None),
            # Always stored: a cost whose every process was unsteady is a result too.
            ("tool_cost_processes", len(steady)),
            ("tool_cost_unstable_processes", len(mine) - len(steady)),
        ):
            if value is not None:  # what was not measured is absent, never a NaN
                records.append(_record(params.overhead_workload, mode, "train", batch, metric, value))
        rows.append(
            {
                "mode": mode,
                "variant": mine[0]["variant"],
                "workload": params.overhead_workload,
                "batch_size": batch,
                "slowdown": slowdown,
                "ci_low": lo,
                "ci_high": hi,
                "processes": len(steady),
                "unstable_processes": len(mine) - len(steady),
                "problems": sorted({r[s]["problem"] for r in mine for s in ("off", "on") if r[s]["problem"]}),
            }
        )
        series += [
            {
                "phase": f"train-tool-{state}-{mode}",
                "batch_size": batch,
                "process": r["seed"],
                "values": r[state]["values"],
                "stable": r[state]["stable"],
                "problem": r[state]["problem"],
            }
            for r in mine
            for state in ("off", "on")
        ]
    return records, rows, series


# ---- the tooling survey (claim D4) ---------------------------------------------------------------


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_closure(distribution: str) -> set[str]:
    """`distribution` and everything it requires (without extras), as canonical names."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    stack = [distribution]
    while stack:
        name = _canonical(stack.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                stack.append(req.name)
    return seen


def missing_package(error: str | None) -> str | None:
    """The package an error says is missing (ModuleNotFoundError, TensorFlow's TBNotInstalledError), if any."""
    if not error:
        return None
    found = re.search(r"No module named '([^'.]+)", error)
    if found:
        return found.group(1)
    if "TBNotInstalledError" in error or "TensorBoard is not installed" in error:
        return "tensorboard"
    return None


def survey(adapter, what: str, logdir: str) -> dict:
    """Ask the framework for a profiler trace or a TensorBoard scalar log; report files, sizes and extra packages."""
    if what not in SURVEY:
        raise ValueError(f"unknown survey item {what!r}; known: {', '.join(SURVEY)}")
    result = {"item": what, "works": False, "files": [], "bytes": 0, "extra_packages": [], "error": None}
    try:
        if what == "profiler_trace":
            spec = get_workload("mlp")
            model = adapter.build(spec, "cpu")
            x_np, y_np = spec.batch(16)
            x, y = adapter.to_device(x_np, "cpu"), adapter.to_device(y_np, "cpu")
            step = adapter.train_step(model, "eager")
            hooks.get(adapter.name).profiler_trace(logdir, lambda: step(x, y))
        else:
            hooks.get(adapter.name).scalar_log(logdir, [1.0 / (i + 1) for i in range(10)])
    except Exception as exc:  # a tool that is missing or breaks is the finding
        result["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    files = [p for p in Path(logdir).rglob("*") if p.is_file()]
    result["files"] = sorted(str(p.relative_to(logdir)) for p in files)
    result["bytes"] = sum(p.stat().st_size for p in files)
    result["works"] = result["error"] is None and bool(files)
    # Only what the tool could not do without counts as needed: modules a tool merely
    # imports when they happen to be installed (torch's profiler and optree) do not.
    needed = missing_package(result["error"])
    if needed:
        result["extra_packages"] = [needed]
        result["needed_is_dependency"] = _canonical(needed) in dependency_closure(adapter.distribution)
    return result


def survey_records(item: dict) -> list[dict]:
    return [
        _record(item["item"], "eager", "tooling", 0, metric, value)
        for metric, value in (
            ("tool_works", float(item["works"])),
            ("artifact_bytes", item["bytes"]),
            ("artifact_files", len(item["files"])),
            ("extra_packages", len(item["extra_packages"])),
        )
    ]


def run(job: Request) -> dict:
    """The experiment's job: the bug catalogue under one tool (fwbench.measure.job's contract)."""
    framework_threads = get_adapter(job.framework).configure(job.threads)
    result = run_catalogue(
        job.framework, job.variant, job.params, threads=job.threads, progress=lambda what: job.progress(f"case: {what}")
    )
    result["settings"] = {"framework_threads": framework_threads}
    return result


def run_catalogue(framework: str, tool: str, params: Params, threads="auto", progress=None) -> dict:
    """Every planted bug in each mode `tool` applies to, each in its own process; then the tool's cost or the survey."""
    tools = hooks.tools(framework)
    if tool not in tools:
        raise ValueError(f"{framework} has no debugging tool {tool!r}; known: {', '.join(tools)}")
    modes = tools[tool].split(",")
    adapter = get_adapter(framework)
    cases, records = [], []
    bugs = params.bugs if tool == "none" else [b for b in params.bugs if b in params.tool_bugs]
    cases_in = CaseServer if params.case_processes == "fork" else FreshCases
    with cases_in(framework, threads) as server:  # fork: one framework import, a fresh fork per case
        for bug in bugs:
            for mode in modes:
                if progress:
                    progress(f"{bug} ({mode})")
                case = server.run(bug, mode, tool, timeout_s=params.case_timeout_s)
                cases.append(case)
                records += case_records(case)
        overhead, samples, surveyed = [], [], []
        if tool != "none":
            recs, overhead, samples = tool_overhead(server, tool, modes, params)
            records += recs
        elif params.survey:
            for what in SURVEY:  # each item in a process of its own, where no case and no other item ran
                item = server.survey(what, params.case_timeout_s)
                surveyed.append(item)
                records += survey_records(item)
    return {
        "mode": tools[tool],
        "framework_version": adapter.version(),
        "records": records,
        "cases": cases,
        "overhead": overhead,
        "samples": samples,
        "survey": surveyed,
        "checks": [],
        "bug_catalogue": catalogue(),
    }


def catalogue() -> list[dict]:
    """The bugs as the book describes them, with the planted line, stored with each job."""
    rows = []
    for bug in BUGS.values():
        path, line = bug.planted
        rows.append(
            {
                "bug": bug.name,
                "title": bug.title,
                "ideal": bug.ideal,
                "check": bug.check,
                "planted": f"{os.path.basename(path)}:{line}",
            }
        )
    return rows
