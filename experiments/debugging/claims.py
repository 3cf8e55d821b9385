"""The debugging claims: each rule turns the store into a verdict, with its wording beside it."""

from __future__ import annotations

import pandas as pd

from fwbench.report.claims import all_some_none, rule
from fwbench.report.results import Report
from fwbench.report.sanitize import md

PYTHON_DEBUGGING = ["print", "breakpoint"]


def _python_debugging(report: Report) -> pd.DataFrame:
    from fwbench.experiments.debugging import tables as debug_report

    df = debug_report.cases(report)
    return df[(df["tool"] == "none") & df["bug"].isin(PYTHON_DEBUGGING)]


def _case_lines(df: pd.DataFrame) -> str:
    return "\n".join(
        f"- {c['machine_label']} {c['framework']} {c['mode']}, {c['bug']}: **{c['outcome']}**"
        + (f" ({md(c['seen'])})" if c["seen"] else "")
        for _, c in df.iterrows()
    )


def _missing_line(report: Report) -> tuple[str, set]:
    """Frameworks whose cases are absent (their job failed or was skipped), named; and their (machine, framework)."""
    from fwbench.experiments.debugging import tables as debug_report

    gone = debug_report.missing(report)
    if gone.empty:
        return "", set()
    return (
        "\n\nNot compared (no cases: the job did not complete): "
        + "; ".join(
            f"{md(r['machine_label'])} {md(r['framework'])} ({md(r['status'])}: {md(r['error'])})"
            for _, r in gone.iterrows()
        )
        + "."
    ), {(r["machine_label"], r["framework"]) for _, r in gone.iterrows()}


@rule(
    "D1",
    "Python's own debugging, per framework with no tool on: `print` of an intermediate and `breakpoint()` "
    "(pdb's entry point), each in eager and compiled mode, counted as *works* when every call showed the "
    "concrete value. Frameworks are compared by the share of the cases they ran that work (a framework "
    "with cases missing is named, never dropped silently). **Supported** if PyTorch works in every case "
    "and every other framework in a smaller share; **mixed** if PyTorch leads but not in every case, or "
    "a framework's cases are missing; **contradicted** if another framework does as well as PyTorch or "
    "better.",
)
def rule_d1(report: Report) -> tuple[str, str, pd.DataFrame]:
    df = _python_debugging(report)
    if df.empty or "torch" not in set(df["framework"]):
        return "not yet measured", "", df
    missing, gone = _missing_line(report)
    verdicts = []
    for machine, g in df.groupby("machine_label"):
        share = g.groupby("framework")["outcome"].apply(lambda s: float((s == "works").mean()))
        torch_, others = share.get("torch", 0.0), share.drop("torch", errors="ignore")
        if others.empty or (others >= torch_).any():
            verdicts.append("contradicted")
        elif torch_ == 1.0 and not any(m == machine for m, _ in gone):
            verdicts.append("supported")
        else:
            verdicts.append("mixed")
    verdict = verdicts[0] if len(set(verdicts)) == 1 else "mixed"
    df = df.copy()
    # D1 compares frameworks: its reason says each framework's share of print/breakpoint cases that work.
    df.attrs["because"] = (
        "; ".join(
            f"{machine}: "
            + ", ".join(f"{fw} {int((s == 'works').sum())} of {len(s)}" for fw, s in g.groupby("framework")["outcome"])
            for machine, g in df.groupby("machine_label")
        )
        + " print/breakpoint cases work"
        + (" (a framework's cases are missing)" if gone else "")
    )
    return verdict, _case_lines(df) + missing, df


@rule(
    "D2",
    "Per framework, with no tool on, the bugs that gave the developer what they want: for a bug that "
    "should stop the program, an error whose printout names the planted file and line (or the right "
    "answer, where a framework does something sensible instead, e.g. promotes an int to float); for the "
    "others, code that does what it says. Each mode is scored by the share of the cases it ran that went "
    "well, so a mode with cases missing is not counted as worse. **Supported** if every framework handles "
    "a smaller share well compiled than eagerly, **contradicted** if none does, **mixed** otherwise; a "
    "framework whose cases are missing is named.",
)
def rule_d2(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.debugging import tables as debug_report

    scores = debug_report.scores(debug_report.cases(report))
    if scores.empty or set(scores["mode"]) != {"eager", "graph"}:
        return "not yet measured", "", scores
    scores = scores.assign(share=scores["good"] / scores["cases"])
    wide = scores.pivot_table(index=["machine_label", "framework"], columns="mode", values=["share", "good", "cases"])
    wide.columns = [f"{v}_{m}" for v, m in wide.columns]
    wide = wide.reset_index().dropna(subset=["share_eager", "share_graph"])
    wide["eager"], wide["graph"] = wide["share_eager"], wide["share_graph"]
    wide["verdict"] = ["harder" if g < e else "not harder" for e, g in zip(wide["eager"], wide["graph"])]
    evidence = "\n".join(
        f"- {r['machine_label']} {r['framework']}: {int(r['good_eager'])} of {int(r['cases_eager'])} "
        f"bugs ({r['eager']:.0%}) handled well eagerly, {int(r['good_graph'])} of "
        f"{int(r['cases_graph'])} ({r['graph']:.0%}) compiled: **{r['verdict']}**"
        for _, r in wide.iterrows()
    )
    missing, _ = _missing_line(report)
    return all_some_none(wide, "harder"), evidence + missing, wide


@rule(
    "D3",
    "The same print and breakpoint cases as D1, for every framework. **Supported** if they work "
    "everywhere, eager and compiled; **mixed** if they work eagerly everywhere but not in every compiled "
    "mode; **contradicted** if they fail even eagerly somewhere.",
)
def rule_d3(report: Report) -> tuple[str, str, pd.DataFrame]:
    df = _python_debugging(report)
    if df.empty:
        return "not yet measured", "", df
    eager_ok = (df[df["mode"] == "eager"]["outcome"] == "works").all()
    graph_ok = (df[df["mode"] == "graph"]["outcome"] == "works").all()
    verdict = "supported" if eager_ok and graph_ok else ("mixed" if eager_ok else "contradicted")
    df = df.copy()
    # D3 asks whether Python's debugging works everywhere: its reason counts by mode, over every framework.
    by_mode = {m: g["outcome"] for m, g in df.groupby("mode")}
    df.attrs["because"] = (
        ", ".join(
            f"{'compiled' if m == 'graph' else m}: {int((o == 'works').sum())} of {len(o)}" for m, o in by_mode.items()
        )
        + " print/breakpoint cases work, over every framework"
    )
    return verdict, _case_lines(df), df


@rule(
    "D4",
    "The installation half of the claim (how rich TensorBoard is, is not a measurement): each framework, "
    "as pip installs it, is asked to write a profiler trace and TensorBoard scalars. **Supported** if "
    "TensorFlow needs no extra package and PyTorch needs some; **contradicted** if TensorFlow needs as "
    "many extra packages as PyTorch or more; **mixed** otherwise.",
)
def rule_d4(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.debugging import tables as debug_report

    sv = debug_report.survey(report)
    if sv.empty or not {"torch", "tensorflow"} <= set(sv["framework"]):
        return "not yet measured", "", sv
    needs = (
        sv.groupby(["machine_label", "framework"])["extra_packages"]
        .apply(lambda s: sorted({p for items in s for p in items}))
        .reset_index()
    )
    verdicts = []
    for machine, g in needs.groupby("machine_label"):
        n = {r["framework"]: len(r["extra_packages"]) for _, r in g.iterrows()}
        if n.get("tensorflow", 0) >= n.get("torch", 0):
            verdicts.append("contradicted")
        elif n.get("tensorflow", 0) == 0:
            verdicts.append("supported")
        else:
            verdicts.append("mixed")
    verdict = verdicts[0] if len(set(verdicts)) == 1 else "mixed"
    evidence = "\n".join(
        f"- {r['machine_label']} {r['framework']} {r['framework_version']}, {r['item']}: "
        + ("works" if r["works"] else f"does not work ({r['error']})")
        + (f"; needs {', '.join(r['extra_packages'])}" if r["extra_packages"] else "; nothing extra needed")
        for _, r in sv.iterrows()
    )
    return verdict, evidence, sv
