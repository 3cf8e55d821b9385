"""The claims (claims.yml beside this file) and the engine that turns each experiment's rules (its `claims.py`) into verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from fwbench.experiments import part, registry
from fwbench.measure import stats
from fwbench.report.results import Report

CLAIMS_FILE = Path(__file__).with_name("claims.yml")
VERDICTS = ("supported", "contradicted", "mixed", "inconclusive", "not testable here", "not yet measured")


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


# ---- eager vs graph (E1-E6): one burden of proof for every timing rule ---------------------------------
#
# Every cell is a comparison with a 95% interval from per-process estimates (fwbench.measure.stats.compare) and a
# class against the one equivalence margin. A rule maps classes to roles: the cell *supports* the claim,
# *contradicts* it, or is *inconclusive* (its interval straddles a boundary the claim's words draw). Only
# decided cells vote: supported if all of them support, contradicted if none does, mixed otherwise, and
# inconclusive if no cell was decided.

ROLES = ("supports", "contradicts", "inconclusive")
MARGIN_TEXT = f"±{stats.EQUIVALENCE_MARGIN:.0%}"


def tally(cells: pd.DataFrame) -> tuple[str, dict]:
    """Verdict and role counts of cells carrying a `role` column; inconclusive cells never vote."""
    counts = {r: int((cells["role"] == r).sum()) if not cells.empty else 0 for r in ROLES}
    decided = counts["supports"] + counts["contradicts"]
    if cells.empty:
        verdict = "not yet measured"
    elif decided == 0:
        verdict = "inconclusive"
    elif counts["contradicts"] == 0:
        verdict = "supported"
    elif counts["supports"] == 0:
        verdict = "contradicted"
    else:
        verdict = "mixed"
    return verdict, counts


def count_line(counts: dict) -> str:
    return (f"{counts['supports']} cell(s) support the claim, {counts['contradicts']} contradict it, "
            f"{counts['inconclusive']} are inconclusive (equivalence margin {MARGIN_TEXT}; inconclusive cells do not vote).")


def upper_bound(v: float) -> str:
    return f"{v:.2f}" if np.isfinite(v) else "∞"


def processes_text(c) -> str:
    return (f"{int(c['n_baseline'])} paired processes" if c["paired"]
            else f"{int(c['n_baseline'])} vs {int(c['n_candidate'])} processes")


def describe(cells: pd.DataFrame, label: Callable[[pd.Series], str]) -> str:
    lines = []
    for _, c in cells.iterrows():
        lines.append(f"- {label(c)}: speedup {c['speedup']:.2f}x "
                     f"(95% CI {c['speedup_ci_low']:.2f}-{upper_bound(c['speedup_ci_high'])}, {processes_text(c)}), "
                     f"{c['verdict']}: **{c['role']}**")
    return "\n".join(lines)


def judge(cells: pd.DataFrame, role: Callable[[pd.Series], str], label: Callable[[pd.Series], str],
           extra: str = "") -> tuple[str, str, pd.DataFrame]:
    if cells.empty:
        return "not yet measured", "", cells
    cells = cells.assign(role=[role(c) for _, c in cells.iterrows()])
    verdict, counts = tally(cells)
    evidence = count_line(counts) + extra + "\n\n" + describe(cells, label)
    return verdict, evidence, cells


def cpu_only(cells: pd.DataFrame) -> str:
    if not cells.empty and set(cells["device"]) == {"cpu"}:
        return " Judged on CPU data only: no accelerator run in the store measured these cells."
    return ""


# ---- debugging (D1-D4): outcomes of planted bugs, no tool switched on -------------------------------


VOTE = ("Only decided cells vote: **supported** if all of them support the claim, **contradicted** if none "
         "does, **mixed** otherwise, **inconclusive** if no cell was decided. Cells that failed a correctness "
         "check or whose timings never settled are left out and listed in the chapter.")


def rule(claim_id: str, text: str):
    """Mark a function of an experiment's `claims.py` as the rule that settles `claim_id`; `text` is the rule in
    words, printed on the claims page beside the verdict (so wording and code sit side by side)."""
    def mark(fn: Callable[[Report], tuple[str, str, pd.DataFrame]]):
        fn.claim_id, fn.rule_text = claim_id, text
        return fn
    return mark


@lru_cache(maxsize=None)
def rules() -> dict[str, Callable[[Report], tuple[str, str, pd.DataFrame]]]:
    """claim id -> its rule, collected from every registered experiment's `claims.py`."""
    found = {}
    for name in registry():
        module = part(name, "claims")
        for fn in vars(module).values() if module else ():
            if callable(fn) and hasattr(fn, "claim_id") and getattr(fn, "__module__", "") == module.__name__:
                if fn.claim_id in found:
                    raise TypeError(f"claim {fn.claim_id} has two rules ({found[fn.claim_id].__module__}, {module.__name__})")
                found[fn.claim_id] = fn
    return found


def verdict_for(claim: Claim, report: Report) -> Verdict:
    judge_rule = rules().get(claim.id)
    if judge_rule is not None:
        rule_text = judge_rule.rule_text
        verdict, evidence, cells = judge_rule(report)
        return Verdict(claim, verdict, rule_text, evidence, cells, report.runs_used(claim.experiment))
    if claim.hardware:
        return Verdict(claim, "not testable here", "", f"Needs {claim.needs}; no run in the store had it.")
    return Verdict(claim, "not yet measured", "", f"Needs {claim.needs}, which this report does not run yet.")


def verdicts(report: Report) -> list[Verdict]:
    return [verdict_for(c, report) for c in load_claims()]
