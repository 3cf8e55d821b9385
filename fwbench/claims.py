"""The claims (fwbench/claims.yml) and the rules that turn stored measurements into a verdict on each."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from fwbench.report import Report, fmt_s

CLAIMS_FILE = Path(__file__).with_name("claims.yml")
VERDICTS = ("supported", "contradicted", "mixed", "not testable here", "not yet measured")


@dataclass(frozen=True)
class Claim:
    id: str = field(metadata={"help": "stable, citable id (E1, D2, ...)"})
    group: str = field(metadata={"help": "section of the claims page"})
    claim: str = field(metadata={"help": "the claim, paraphrased"})
    experiment: str | None = field(default=None, metadata={"help": "experiment that settles it here"})
    needs: str = field(default="", metadata={"help": "what a verdict needs when no experiment here tests it"})
    hardware: bool = field(default=False, metadata={"help": "true when only special hardware can test it"})


@dataclass
class Verdict:
    claim: Claim
    verdict: str
    rule: str
    evidence: str
    cells: pd.DataFrame = field(default_factory=pd.DataFrame)
    runs: list[str] = field(default_factory=list)


def load_claims(path: Path = CLAIMS_FILE) -> list[Claim]:
    data = yaml.safe_load(Path(path).read_text())
    return [Claim(**entry) for entry in data["claims"]]


def all_some_none(cells: pd.DataFrame, good: str) -> str:
    """supported if every cell is `good`, contradicted if none is, mixed otherwise."""
    hits = (cells["verdict"] == good).sum()
    if hits == len(cells):
        return "supported"
    if hits == 0:
        return "contradicted"
    return "mixed"


def _describe(cells: pd.DataFrame, label: Callable[[pd.Series], str]) -> str:
    lines = []
    for _, c in cells.iterrows():
        lines.append(f"- {label(c)}: speedup {c['speedup']:.2f}x "
                     f"(95% CI {c['speedup_ci_low']:.2f}-{c['speedup_ci_high']:.2f}), **{c['verdict']}**")
    return "\n".join(lines)


def _where(c) -> str:
    return f"{c['machine_label']} {c['device']} {c['workload']} {c['phase']} (batch {c['batch_size']})"


def _judge(cells: pd.DataFrame, good: str, label: Callable[[pd.Series], str]) -> tuple[str, str, pd.DataFrame]:
    if cells.empty:
        return "not yet measured", "", cells
    return all_some_none(cells, good), _describe(cells, label), cells


def rule_e1(report: Report) -> tuple[str, str, pd.DataFrame]:
    return _judge(report.comparisons(), "faster",
                  lambda c: f"{c['framework']} {c['variant']} vs eager, {_where(c)}")


def rule_e2(report: Report) -> tuple[str, str, pd.DataFrame]:
    return _judge(report.cross_framework(("torch", "eager"), [("tensorflow", "eager")]), "faster",
                  lambda c: f"torch eager over tensorflow eager, {_where(c)}")


def rule_e4(report: Report) -> tuple[str, str, pd.DataFrame]:
    cells = report.comparisons()
    if not cells.empty:
        cells = cells[cells["variant"] == "torch.compile"]
    return _judge(cells, "faster", lambda c: (
        f"torch.compile vs eager, {_where(c)}; first call {fmt_s(c['first_call_graph_s'])} vs "
        f"{fmt_s(c['first_call_eager_s'])} eager, pays off after "
        + (f"{c['break_even_steps']:.0f} steps" if c['break_even_steps'] != float('inf') else "never")))


def rule_e5(report: Report) -> tuple[str, str, pd.DataFrame]:
    others = [("torch", "torch.compile"), ("tensorflow", "tf.function"), ("tensorflow", "tf.function+xla")]
    pairs = report.cross_framework(("jax", "jax.jit"), others)
    if pairs.empty:
        return "not yet measured", "", pairs
    # Against the best other compiled mode in each cell: the claim is about reaching the top, not beating one.
    keys = ["machine_label", "device", "workload", "phase", "batch_size"]
    best = pairs.loc[pairs.groupby(keys)["other_median_s"].idxmin()].copy()
    best["verdict"] = best["verdict"].map(lambda v: "competitive" if v != "slower" else "slower")
    return _judge(best, "competitive",
                  lambda c: f"jax.jit over the fastest other compiled mode ({c['other']}), {_where(c)}")


def rule_e3(report: Report) -> tuple[str, str, pd.DataFrame]:
    pairs = report.cross_framework(("tensorflow", "tf.function"), [("torch", "torch.compile")])
    xla = report.cross_framework(("tensorflow", "tf.function+xla"), [("torch", "torch.compile")])
    pairs = pd.concat([pairs, xla], ignore_index=True)
    if pairs.empty:
        return "not yet measured", "", pairs
    keys = ["machine_label", "device", "workload", "phase", "batch_size"]
    # TensorFlow's better graph mode in each cell, against torch.compile.
    best = pairs.loc[pairs.groupby(keys)["baseline_median_s"].idxmin()].copy()
    verdict = all_some_none(best, "faster")
    from fwbench.workloads import WORKLOADS
    best["n_params"] = best["workload"].map(lambda w: getattr(WORKLOADS.get(w), "n_params", np.nan))
    sweep = best[best["workload"].map(lambda w: getattr(WORKLOADS.get(w), "family", w) == "mlp")]
    trend = ""
    if sweep["n_params"].nunique() >= 3:
        for (machine, phase), g in sweep.groupby(["machine_label", "phase"]):
            small, large = g.loc[g["n_params"].idxmin()], g.loc[g["n_params"].idxmax()]
            trend += (f"\n- MLP sweep, {machine} {phase}: TensorFlow's graph speedup over torch.compile is "
                      f"{small['speedup']:.2f}x at {small['workload']} and {large['speedup']:.2f}x at {large['workload']}.")
    evidence = _describe(best, lambda c: f"{c['baseline']} over torch.compile, {_where(c)}") + trend
    return verdict, evidence, best


def rule_e6(report: Report) -> tuple[str, str, pd.DataFrame]:
    return _judge(report.cross_framework(("tensorflow", "tf.function+xla"), [("tensorflow", "tf.function")]),
                  "faster", lambda c: f"tf.function+xla over tf.function, {_where(c)}")


# ---- debugging (D1-D4): outcomes of planted bugs, no tool switched on -------------------------------

PYTHON_DEBUGGING = ["print", "breakpoint"]


def _python_debugging(report: Report) -> pd.DataFrame:
    from fwbench import debug_report

    df = debug_report.cases(report)
    return df[(df["tool"] == "none") & df["bug"].isin(PYTHON_DEBUGGING)]


def _case_lines(df: pd.DataFrame) -> str:
    return "\n".join(f"- {c['machine_label']} {c['framework']} {c['mode']}, {c['bug']}: **{c['outcome']}**"
                      + (f" ({c['seen']})" if c["seen"] else "") for _, c in df.iterrows())


def rule_d1(report: Report) -> tuple[str, str, pd.DataFrame]:
    df = _python_debugging(report)
    if df.empty or "torch" not in set(df["framework"]):
        return "not yet measured", "", df
    verdicts = []
    for machine, g in df.groupby("machine_label"):
        works = g.groupby("framework")["outcome"].apply(lambda s: int((s == "works").sum()))
        total = g.groupby("framework").size()
        torch_, others = works.get("torch", 0), works.drop("torch", errors="ignore")
        if others.empty or (others >= torch_).any():
            verdicts.append("contradicted")
        elif torch_ == total.get("torch", 0):
            verdicts.append("supported")
        else:
            verdicts.append("mixed")
    verdict = verdicts[0] if len(set(verdicts)) == 1 else "mixed"
    return verdict, _case_lines(df), df


def rule_d2(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench import debug_report

    scores = debug_report.scores(debug_report.cases(report))
    if scores.empty or set(scores["mode"]) != {"eager", "graph"}:
        return "not yet measured", "", scores
    wide = scores.pivot_table(index=["machine_label", "framework"], columns="mode", values="good").reset_index()
    wide["verdict"] = ["harder" if g < e else "not harder" for e, g in zip(wide["eager"], wide["graph"])]
    evidence = "\n".join(f"- {r['machine_label']} {r['framework']}: {int(r['eager'])} bugs handled well eagerly, "
                         f"{int(r['graph'])} compiled: **{r['verdict']}**" for _, r in wide.iterrows())
    return all_some_none(wide, "harder"), evidence, wide


def rule_d3(report: Report) -> tuple[str, str, pd.DataFrame]:
    df = _python_debugging(report)
    if df.empty:
        return "not yet measured", "", df
    eager_ok = (df[df["mode"] == "eager"]["outcome"] == "works").all()
    graph_ok = (df[df["mode"] == "graph"]["outcome"] == "works").all()
    verdict = "supported" if eager_ok and graph_ok else ("mixed" if eager_ok else "contradicted")
    return verdict, _case_lines(df), df


def rule_d4(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench import debug_report

    sv = debug_report.survey(report)
    if sv.empty or not {"torch", "tensorflow"} <= set(sv["framework"]):
        return "not yet measured", "", sv
    needs = sv.groupby(["machine_label", "framework"])["extra_packages"].apply(
        lambda s: sorted({p for items in s for p in items})).reset_index()
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
        for _, r in sv.iterrows())
    return verdict, evidence, sv


RULES: dict[str, tuple[str, Callable[[Report], tuple[str, str, pd.DataFrame]]]] = {
    "E1": ("Each compiled variant is compared with its own framework's eager mode in every cell (machine, device, "
           "workload, phase, batch). A cell counts as *faster* when the 95% bootstrap CI of the speedup "
           "(eager median / graph median) lies wholly above 1. **Supported** if every cell is faster, "
           "**contradicted** if none is, **mixed** otherwise.", rule_e1),
    "E2": ("torch eager against tensorflow eager in every shared cell; speedup = TensorFlow median / PyTorch "
           "median. **Supported** if PyTorch is faster (CI above 1) in every cell, **contradicted** if in none, "
           "**mixed** otherwise.", rule_e2),
    "E3": ("In every cell, TensorFlow's faster graph mode (tf.function or tf.function+xla) against torch.compile; "
           "speedup = torch.compile median / TensorFlow median. **Supported** if TensorFlow is faster (CI above 1) "
           "in every cell, **contradicted** if in none, **mixed** otherwise. The MLP size sweep shows whether the gap "
           "grows with model size (the \"especially for large models\" half).", rule_e3),
    "E4": ("torch.compile against torch eager in every cell, steady state. **Supported** if torch.compile is "
           "faster (CI above 1) in every cell, **contradicted** if in none, **mixed** otherwise. The compile "
           "cost and the step count at which it pays off are shown beside the verdict.", rule_e4),
    "E5": ("Speed half of the claim only (flexibility is not a timing): in every cell, jax.jit against the "
           "fastest other compiled mode (torch.compile, tf.function, tf.function+xla). A cell counts as "
           "*competitive* unless jax.jit is slower with the CI wholly below 1. **Supported** if competitive "
           "everywhere, **contradicted** if nowhere, **mixed** otherwise.", rule_e5),
    "E6": ("The XLA half of the claim: tf.function with jit_compile=True against plain tf.function in every cell. "
           "**Supported** if XLA is faster (CI above 1) in every cell, **contradicted** if in none, **mixed** "
           "otherwise. The TFLite half needs the export experiment and is not judged here.", rule_e6),
    "D1": ("Python's own debugging, per framework with no tool on: `print` of an intermediate and `breakpoint()` "
           "(pdb's entry point), each in eager and compiled mode, counted as *works* when every call showed the "
           "concrete value. **Supported** if PyTorch works in all four cases and every other framework in fewer; "
           "**mixed** if PyTorch leads but not in all four; **contradicted** if another framework does as well "
           "as PyTorch or better.", rule_d1),
    "D2": ("Per framework, with no tool on, the bugs that gave the developer what they want: for a bug that "
           "should stop the program, an error whose printout names the planted file and line (or the right "
           "answer, where a framework does something sensible instead, e.g. promotes an int to float); for the "
           "others, code that does what it says. **Supported** if every framework handles fewer bugs well compiled than "
           "eagerly, **contradicted** if none does, **mixed** otherwise.", rule_d2),
    "D3": ("The same print and breakpoint cases as D1, for every framework. **Supported** if they work "
           "everywhere, eager and compiled; **mixed** if they work eagerly everywhere but not in every compiled "
           "mode; **contradicted** if they fail even eagerly somewhere.", rule_d3),
    "D4": ("The installation half of the claim (how rich TensorBoard is, is not a measurement): each framework, "
           "as pip installs it, is asked to write a profiler trace and TensorBoard scalars. **Supported** if "
           "TensorFlow needs no extra package and PyTorch needs some; **contradicted** if TensorFlow needs as "
           "many extra packages as PyTorch or more; **mixed** otherwise.", rule_d4),
}


def verdict_for(claim: Claim, report: Report) -> Verdict:
    if claim.id in RULES:
        rule_text, rule = RULES[claim.id]
        verdict, evidence, cells = rule(report)
        return Verdict(claim, verdict, rule_text, evidence, cells, report.runs_used(claim.experiment))
    if claim.hardware:
        return Verdict(claim, "not testable here", "", f"Needs {claim.needs}; no run in the store had it.")
    return Verdict(claim, "not yet measured", "", f"Needs {claim.needs}, which this report does not run yet.")


def verdicts(report: Report) -> list[Verdict]:
    return [verdict_for(c, report) for c in load_claims()]
