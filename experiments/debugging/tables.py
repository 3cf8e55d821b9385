"""Tables of the debugging experiment, read from the store: the cases, the tools' costs, the tooling survey."""

from __future__ import annotations

import pandas as pd

from fwbench.measure import stats
from fwbench.report.results import Report, fmt_s
from fwbench.report.sanitize import md

EXPERIMENT = "debugging"

#: Bug order of the book: the catalogue's, whatever order jobs were stored in.
CASE_COLUMNS = [
    "machine_label",
    "framework",
    "framework_version",
    "tool",
    "bug",
    "mode",
    "outcome",
    "ideal",
    "good",
    "exception_type",
    "message",
    "traceback",
    "user_line_shown",
    "user_frame_depth",
    "message_chars",
    "traceback_frames",
    "names_shapes",
    "names_dtypes",
    "suggests_fix",
    "time_to_surface_s",
    "compiled_with",
    "returned",
    "compiles",
    "warned",
    "printed",
    "seen",
    "run_id",
]


def text(value) -> str:
    """A stored text field as a string: missing values (None, NaN after pandas) become ''."""
    return value if isinstance(value, str) else ""


def is_good(outcome: str, ideal: str, user_line_shown) -> bool:
    """What a developer wants from a bug: code that does what it says (for a bug that should stop the program,
    e.g. an int into a float matmul, a right answer is fine too), or else an error that points at the line."""
    if ideal == "error":
        return outcome == "works" or (outcome == "error" and bool(user_line_shown))
    return outcome == "works"


def _seen(details: dict) -> str:
    if "hook_calls" in details:
        return f"hook ran {details['hook_calls']}x of {details['calls']} calls, h seen as {', '.join(details.get('locals_seen', []))}"
    if "entries" in details:
        return (
            f"{details['entries']} entries for {details['calls']} calls "
            f"({details['concrete_entries']} concrete; {', '.join(details.get('entry_types', []))})"
        )
    if "values_shown" in details:
        return f"{details['values_shown']} of {details['calls']} values printed"
    return ""


def cases(report: Report) -> pd.DataFrame:
    """One row per (machine, framework, tool, bug, mode) from the newest debugging jobs."""
    rows = []
    for run, job in report.experiment_jobs(EXPERIMENT):
        if job["status"] != "ok":
            continue
        for case in job.get("cases", []):
            details = case.get("details") or {}
            rows.append(
                {
                    "machine_label": run.manifest["machine_label"],
                    "framework": job["framework"],
                    "framework_version": job.get("framework_version", ""),
                    "tool": job["variant"],
                    "bug": case["bug"],
                    "mode": case["mode"],
                    "outcome": case["outcome"],
                    "ideal": case.get("ideal", ""),
                    "good": is_good(case["outcome"], case.get("ideal", ""), case.get("user_line_shown")),
                    **{
                        k: case.get(k)
                        for k in (
                            "exception_type",
                            "message",
                            "traceback",
                            "user_line_shown",
                            "user_frame_depth",
                            "message_chars",
                            "traceback_frames",
                            "names_shapes",
                            "names_dtypes",
                            "suggests_fix",
                            "time_to_surface_s",
                            "compiled_with",
                        )
                    },
                    "returned": details.get("returned"),
                    "compiles": details.get("compiles"),
                    "warned": details.get("warned"),
                    "printed": details.get("printed"),
                    "seen": _seen(details),
                    "run_id": run.run_id,
                }
            )
    df = pd.DataFrame(rows, columns=CASE_COLUMNS)
    order = {b: i for i, b in enumerate(bug_order(report))}
    return (
        df.sort_values(["machine_label", "framework", "tool", "mode"], kind="stable")
        .sort_values("bug", key=lambda s: s.map(order).fillna(len(order)), kind="stable")
        .reset_index(drop=True)
    )


def missing(report: Report) -> pd.DataFrame:
    """Per machine, the frameworks whose debugging job with no tool on did not complete (failed or skipped): their
    cases are absent, and a rule that compares frameworks must say so rather than drop them silently."""
    rows = [
        {
            "machine_label": run.manifest["machine_label"],
            "framework": job["framework"],
            "status": job["status"],
            "error": text((job.get("error") or {}).get("message", ""))[:160],
        }
        for run, job in report.experiment_jobs(EXPERIMENT)
        if job["variant"] == "none" and job["status"] != "ok"
    ]
    return pd.DataFrame(rows, columns=["machine_label", "framework", "status", "error"])


def bug_order(report: Report) -> list[str]:
    """The catalogue's bugs in order, as stored with the jobs (the store, not today's code, is the source)."""
    for _, job in report.experiment_jobs(EXPERIMENT):
        if job.get("bug_catalogue"):
            return [b["bug"] for b in job["bug_catalogue"]]
    return []


def catalogue(report: Report) -> pd.DataFrame:
    for _, job in report.experiment_jobs(EXPERIMENT):
        if job.get("bug_catalogue"):
            return pd.DataFrame(job["bug_catalogue"])
    return pd.DataFrame(columns=["bug", "title", "ideal", "check", "planted"])


def overhead(report: Report) -> pd.DataFrame:
    """Cost of each debugging tool on a normal training step: slowdown with its CI, per framework and mode."""
    rows = []
    for run, job in report.experiment_jobs(EXPERIMENT):
        for row in job.get("overhead", []) if job["status"] == "ok" else []:
            rows.append(
                {
                    "machine_label": run.manifest["machine_label"],
                    "framework": job["framework"],
                    "tool": job["variant"],
                    **row,
                }
            )
    df = pd.DataFrame(
        rows,
        columns=[
            "machine_label",
            "framework",
            "tool",
            "mode",
            "variant",
            "workload",
            "batch_size",
            "slowdown",
            "ci_low",
            "ci_high",
            "processes",
            "unstable_processes",
        ],
    )
    # The same margin as every timing comparison, on an interval over processes. Results stored before tool off
    # and on took turns in several processes (no `processes`) held one process's step noise only: none counts.
    one = df["processes"].isna()
    # A cost whose processes were all unsteady has no slowdown or interval (stored as None): NaN, so inconclusive.
    for column in ("slowdown", "ci_low", "ci_high"):
        df[column] = pd.to_numeric(df[column], errors="coerce").astype(float)
    df.loc[one, ["ci_low", "ci_high"]] = float("nan")
    return df.assign(cost=[COST_CLASSES[stats.classify(lo, hi)] for lo, hi in zip(df["ci_low"], df["ci_high"])])


#: The margin's classes of a tool's slowdown (tool on / tool off), in the debugging chapter's words.
COST_CLASSES = {
    "faster": f"costs more than {stats.EQUIVALENCE_MARGIN:.0%}",
    "slower": "faster with the tool",
    "equivalent": f"within ±{stats.EQUIVALENCE_MARGIN:.0%}",
    "inconclusive": "inconclusive",
}


def survey(report: Report) -> pd.DataFrame:
    """The tooling survey: can each framework, as installed, write a profiler trace and TensorBoard scalars."""
    rows = []
    for run, job in report.experiment_jobs(EXPERIMENT):
        for item in job.get("survey", []) if job["status"] == "ok" else []:
            rows.append(
                {
                    "machine_label": run.manifest["machine_label"],
                    "framework": job["framework"],
                    "framework_version": job.get("framework_version", ""),
                    **item,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "machine_label",
            "framework",
            "framework_version",
            "item",
            "works",
            "files",
            "bytes",
            "extra_packages",
            "needed_is_dependency",
            "error",
        ],
    )


def no_tool_note(cases: pd.DataFrame) -> str:
    """What the tool sections say when every stored case ran with no tool on (the quick profile's choice); else ""."""
    if cases.empty or (cases["tool"] != "none").any():
        return ""
    return (
        "No stored run switched a debugging tool on: the tool passes (what each tool catches and what it costs) "
        "are in the full profile, `PROFILE=full make report`."
    )


def tool_effects(df: pd.DataFrame) -> pd.DataFrame:
    """Cases whose outcome a debugging tool changed, against the same framework, bug and mode with no tool."""
    if df.empty:
        return df
    keys = ["machine_label", "framework", "bug", "mode"]
    base = df[df["tool"] == "none"].set_index(keys)
    rows = []
    for _, c in df[df["tool"] != "none"].iterrows():
        key = tuple(c[k] for k in keys)
        if key not in base.index:
            continue
        b = base.loc[key]
        if b["outcome"] != c["outcome"] or bool(b["user_line_shown"]) != bool(c["user_line_shown"]):
            rows.append(
                {
                    **{k: c[k] for k in keys},
                    "tool": c["tool"],
                    "without tool": b["outcome"],
                    "with tool": c["outcome"],
                    "exception": c["exception_type"] or "",
                    "line shown": bool(c["user_line_shown"]),
                }
            )
    return pd.DataFrame(rows, columns=keys + ["tool", "without tool", "with tool", "exception", "line shown"])


def scores(df: pd.DataFrame, bugs: list[str] | None = None) -> pd.DataFrame:
    """Per machine, framework and mode (no tool): how many bugs gave the developer what they want (see is_good)."""
    d = df[df["tool"] == "none"]
    if bugs is not None:
        d = d[d["bug"].isin(bugs)]
    if d.empty:
        return pd.DataFrame(columns=["machine_label", "framework", "mode", "good", "cases"])
    return (
        d.groupby(["machine_label", "framework", "mode"])
        .agg(good=("good", "sum"), cases=("good", "size"))
        .reset_index()
    )


def _mode(mode: str) -> str:
    return "compiled" if mode == "graph" else "eager"


def what_was_measured(report: Report, cases: pd.DataFrame) -> str:
    """The planted bugs, frameworks, compilers and tools behind the stored cases, as Markdown."""
    base = cases[cases["tool"] == "none"]
    lines = [
        f"- **{md(r['bug'])}**: {md(r['title'])} (planted at experiments/debugging/{md(r['planted'])}; a developer "
        "wants " + ("an error" if r["ideal"] == "error" else "it to work") + ")"
        for _, r in catalogue(report).iterrows()
    ]
    versions = cases.groupby("framework")["framework_version"].first()
    compiled = base[base["mode"] == "graph"].groupby("framework")["compiled_with"].first()
    tools = cases.groupby("framework")["tool"].unique()
    return (
        "Each bug is one small function in `experiments/debugging/bugs.py`, written once against a tiny "
        "array API that each framework lends (its own `matmul`, `sum`, embedding lookup, gradient), so all "
        "frameworks run the same planted line:\n\n" + "\n".join(lines) + "\n\n"
        "Frameworks: "
        + ", ".join(f"{md(f)} {md(v)} (compiled with {compiled.get(f, '?')})" for f, v in versions.items())
        + ". Debugging tools switched on, one job each: "
        + "; ".join(f"{md(f)}: {', '.join(t for t in ts if t != 'none')}" for f, ts in tools.items())
        + ". "
        f"{len(cases)} cases in all, on {cases['machine_label'].nunique()} machine(s)." + _skipped_by_rule(cases)
    )


def _skipped_by_rule(cases: pd.DataFrame) -> str:
    """The bugs that ran with no tool only (a profile's `tool_bugs`), said once, so no reader takes an empty
    tool column for "the tool changed nothing"."""
    with_tool = cases[cases["tool"] != "none"]
    if with_tool.empty:
        return ""
    bugs = list(dict.fromkeys(cases[cases["tool"] == "none"]["bug"]))
    ran = set(with_tool["bug"])
    skipped = [b for b in bugs if b not in ran]
    if not skipped:
        return ""
    return (
        f" With a tool on, {len(bugs) - len(skipped)} of the {len(bugs)} bugs ran "
        f"({', '.join(md(b) for b in bugs if b in ran)}); {', '.join(md(b) for b in skipped)} ran with no tool "
        "only, so nothing here says what a tool does for them. That is the profile's `tool_bugs` rule: the quick "
        "profile runs a tool only on the bugs where a tool changed the outcome in a full run, to save time."
    )


def score_lines(cases: pd.DataFrame) -> str:
    """How many bugs each framework and mode handled as a developer wants, and what ran on silently (Markdown)."""
    base = cases[cases["tool"] == "none"]
    lines = [
        f"- {md(r['machine_label'])}, {md(r['framework'])} {_mode(r['mode'])}: {int(r['good'])} of {int(r['cases'])} "
        "bugs handled as a developer wants"
        for _, r in scores(cases).iterrows()
    ]
    silent = base[base["outcome"] == "silent-wrong"].groupby(["framework", "mode"])["bug"].apply(", ".join)
    lines += [f"- {md(f)} {_mode(m)} ran on silently through: {md(b)}" for (f, m), b in silent.items()]
    return "\n".join(lines)


def what_this_means(cases: pd.DataFrame, oh: pd.DataFrame, n_bugs: int) -> str:
    """The findings in sentences, every number computed here from the cases and tool costs (Markdown)."""
    base = cases[cases["tool"] == "none"]
    out = []
    for machine, g in scores(cases).groupby("machine_label"):
        wide = g.pivot_table(index="framework", columns="mode", values="good")
        for f, r in wide.iterrows():
            out.append(
                f"- {md(machine)}, {md(f)}: {int(r.get('eager', 0))} of {n_bugs} bugs handled well eagerly, "
                f"{int(r.get('graph', 0))} compiled."
            )
    pb = base[base["bug"].isin(["print", "breakpoint"]) & (base["mode"] == "graph")]
    if not pb.empty:
        ok = pb[pb["outcome"] == "works"]
        out.append(
            "- `print` / `breakpoint()` inside the compiled function showed real values for: "
            + (", ".join(f"{md(r['framework'])} {md(r['bug'])}" for _, r in ok.iterrows()) or "none")
            + "."
        )
    errs = base[(base["outcome"] == "error")]
    if not errs.empty:
        shown = errs.groupby("mode")["user_line_shown"].mean()
        out.append(
            "- Errors whose printout named the planted line: "
            + ", ".join(f"{shown[m]:.0%} {_mode(m)}" for m in shown.index)
            + "."
        )
        slow = errs.loc[errs["time_to_surface_s"].idxmax()]
        out.append(
            f"- The slowest error to surface: {md(slow['framework'])} {md(slow['bug'])} ({_mode(slow['mode'])}), "
            f"{fmt_s(slow['time_to_surface_s'])}."
        )
    timed = oh.dropna(subset=["slowdown"]) if not oh.empty else oh
    if not timed.empty:
        worst = timed.loc[timed["slowdown"].idxmax()]
        ci = (
            f" (95% CI {worst['ci_low']:.2f}-{worst['ci_high']:.2f} over {int(worst['processes'])} processes)"
            if pd.notna(worst["ci_high"])
            else " (no interval)"
        )
        out.append(
            f"- The costliest tool: {md(worst['framework'])} {md(worst['tool'])} ({md(worst['mode'])}), "
            f"{worst['slowdown']:.2f}x the normal step time{ci}."
        )
    out.append(
        "\nThese are single planted bugs in small functions; real bugs in large programs differ in degree, "
        "not in kind. See {doc}`claims` (D1-D4) for the verdicts these outcomes feed."
    )
    return "\n".join(out)
