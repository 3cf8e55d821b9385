"""The claims (claims.yml beside this file) and the engine that turns each experiment's rules (its `claims.py`) into verdicts."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from fwbench.errors import ExperimentError
from fwbench.experiments import part, registry
from fwbench.measure import stats
from fwbench.report.results import Report, profile_name

CLAIMS_FILE = Path(__file__).with_name("claims.yml")
VERDICTS = (
    "supported",
    "supported with exceptions",
    "contradicted",
    "contradicted with exceptions",
    "mixed",
    "inconclusive",
    "not testable here",
    "not yet measured",
)


@dataclass(frozen=True)
class Claim:
    id: str = field(metadata={"help": "stable, citable id (E1, D2, ...)"})
    group: str = field(metadata={"help": "section of the claims page"})
    claim: str = field(metadata={"help": "the claim, paraphrased"})
    experiment: str | None = field(default=None, metadata={"help": "experiment that settles it here"})
    needs: str = field(default="", metadata={"help": "what a verdict needs when no experiment here tests it"})
    hardware: bool = field(default=False, metadata={"help": "true when only special hardware can test it"})


#: Verdicts that rest on decided cells (the rest say that nothing could be decided).
DECIDED = ("supported", "supported with exceptions", "mixed", "contradicted with exceptions", "contradicted")


@dataclass
class Verdict:
    claim: Claim
    verdict: str
    rule: str
    evidence: str
    cells: pd.DataFrame = field(default_factory=pd.DataFrame)
    runs: list[str] = field(default_factory=list)
    #: What the rule itself gave, before the rerun check (`reproduced`) kept the strongest word that reproduces
    #: (the same, the weaker word of its direction, or inconclusive).
    rule_verdict: str = ""
    #: (simulated reruns that agree with `verdict`, reruns simulated), or with the rule's verdict where that did not
    #: reproduce (`verdict` is then inconclusive); None where none were (undecided verdicts, rules that do not
    #: redraw their comparisons).
    reruns: tuple[int, int] | None = None


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


# ---- the engine: one burden of proof for every rule that votes over cells -------------------------------
#
# A cell is one comparison (a 95% interval from per-process estimates, fwbench.measure.stats.compare, classed against
# the one equivalence margin) or one outcome. A rule maps each cell to a role: it *supports* the claim,
# *contradicts* it, or is *inconclusive* (e.g. its interval straddles a boundary the claim's words draw). Only
# decided cells vote, and only once enough of them decided (the quorum); the share that supports the claim then
# places the verdict on a five-step scale, so 26 of 27 and 2 of 4 never read alike. Helpers that only one
# experiment's rules use live in its own claims.py.

ROLES = ("supports", "contradicts", "inconclusive")
MARGIN_TEXT = f"±{stats.EQUIVALENCE_MARGIN:.0%}"
#: A verdict other than inconclusive needs at least this many decided cells, and at least this share of all
#: cells decided: one decided cell among inconclusive ones carries no verdict.
QUORUM_MIN, QUORUM_SHARE = 2, 0.5
#: Shares of decided cells supporting the claim at which the verdict word changes (see `scale`).
CLEAR, LEANING = 0.9, 2 / 3
#: A decided verdict is derived again on this many simulated reruns of its measurements (`reruns`) ...
RERUNS = 40
#: ... and stands only where at least this share of them give the same verdict: one that a rerun of the same
#: profile would likely not repeat reads inconclusive instead (a verdict that does not reproduce is worse than none).
#: Why 95%, not 90%: on four quiet quick stores of one VM, E1's "supported" repeated in 34-37 of 40 reruns and a
#: second run then read "supported with exceptions", which repeated in 40 of 40 in every store; at 95% all four read
#: the word that both runs of a pair reproduce.
REPRODUCE_MIN = 0.95


def quorum(cells: int) -> int:
    """Decided cells a verdict needs out of `cells` compared: QUORUM_MIN and QUORUM_SHARE of them."""
    return max(QUORUM_MIN, math.ceil(QUORUM_SHARE * cells))


#: Direction of each verdict word on the scale (mixed is neither way).
DIRECTION = {
    "supported": 1,
    "supported with exceptions": 1,
    "mixed": 0,
    "contradicted with exceptions": -1,
    "contradicted": -1,
}


def scale(supports: int, contradicts: int, cells: int) -> str:
    """The verdict word for a vote, robust to one cell: the share word (`share_word`) must keep its direction
    (supported, mixed, contradicted) and its quorum with any one decided cell left out; where it would not, the
    verdict hinges on a single cell and is inconclusive. Where it holds, the weakest of those words is given
    ("supported with exceptions" rather than "supported" if leaving one cell out would read so)."""
    words = {share_word(supports, contradicts, cells)}
    if supports:
        words.add(share_word(supports - 1, contradicts, cells))
    if contradicts:
        words.add(share_word(supports, contradicts - 1, cells))
    if "not yet measured" in words:
        return "not yet measured"
    if "inconclusive" in words or len({DIRECTION[w] for w in words}) > 1:
        return "inconclusive"
    order = ["supported with exceptions", "supported", "mixed", "contradicted with exceptions", "contradicted"]
    return min(words, key=order.index)


def share_word(supports: int, contradicts: int, cells: int) -> str:
    """The verdict word for a vote: inconclusive below the quorum, else by the share of decided cells that
    support the claim: at least CLEAR supported (any exception is named), at least LEANING supported with
    exceptions, at most 1 - CLEAR contradicted, at most 1 - LEANING contradicted with exceptions, mixed between."""
    decided = supports + contradicts
    if cells == 0:
        return "not yet measured"
    if decided < quorum(cells):
        return "inconclusive"
    share, against = supports / decided, contradicts / decided  # symmetric: no 1 - 0.9 rounding at the edges
    if share >= CLEAR:
        return "supported"
    if share >= LEANING:
        return "supported with exceptions"
    if against >= CLEAR:
        return "contradicted"
    if against >= LEANING:
        return "contradicted with exceptions"
    return "mixed"


SCALE_TEXT = (
    f"A verdict needs a quorum: at least {QUORUM_MIN} decided cells and at least {QUORUM_SHARE:.0%} "
    f"of the cells compared; below it the verdict is **inconclusive**, with the counts. Above it, the share "
    f"of decided cells that support the claim places it: at least {CLEAR:.0%} **supported**, at least "
    f"{LEANING:.0%} **supported with exceptions**, at most {1 - CLEAR:.0%} **contradicted**, at most "
    f"{1 - LEANING:.0%} **contradicted with exceptions**, **mixed** between; every cell on the minority "
    f"side is named as an exception. A verdict must not hinge on one cell: it must keep its direction and "
    f"its quorum with any one decided cell left out (else it is **inconclusive**), and it reads as the "
    f"weakest word that leaving one cell out gives. So a claim needs at least three decided cells. Last, a verdict "
    f"on timed comparisons must reproduce: it is derived again on {RERUNS} simulated reruns of the same "
    f"measurements (every comparison drawn where a rerun's would fall, given its interval), and where fewer than "
    f"{REPRODUCE_MIN:.0%} of them give the same verdict it reads as the weaker word of its direction where that "
    f"many give that word or a stronger one (*supported with exceptions* for *supported*), else **inconclusive**, "
    f"with the verdict the rule gave and how often it repeated; each rerun also loses processes from its comparisons "
    f"as often as the run lost series, out of as many as the run needed to keep its count (a rule whose comparisons are not redrawn yet says so under its verdict)."
)


def tally(cells: pd.DataFrame) -> tuple[str, dict]:
    """Verdict and role counts of cells carrying a `role` column; inconclusive cells never vote."""
    counts = {r: int((cells["role"] == r).sum()) if not cells.empty else 0 for r in ROLES}
    return scale(counts["supports"], counts["contradicts"], len(cells)), counts


def exceptions(cells: pd.DataFrame, verdict: str) -> pd.DataFrame:
    """The decided cells on the minority side of a verdict that leans one way."""
    if cells.empty or "role" not in cells:
        return cells
    if verdict.startswith("supported"):
        return cells[cells["role"] == "contradicts"]
    if verdict.startswith("contradicted"):
        return cells[cells["role"] == "supports"]
    return cells.iloc[0:0]


def count_line(counts: dict) -> str:
    cells = sum(counts[r] for r in ROLES)
    decided = counts["supports"] + counts["contradicts"]
    short = ""
    if cells and decided < quorum(cells):
        short = f" Only {decided} of {cells} cells decided, fewer than the quorum of {quorum(cells)}: inconclusive."
    elif cells and scale(counts["supports"], counts["contradicts"], cells) == "inconclusive":
        short = (
            " Inconclusive: with one decided cell left out the verdict would change direction or miss the "
            "quorum, so it would hinge on that cell."
        )
    return (
        f"{counts['supports']} cell(s) support the claim, {counts['contradicts']} contradict it, "
        f"{counts['inconclusive']} are inconclusive (equivalence margin {MARGIN_TEXT}; inconclusive cells do "
        f"not vote; quorum {quorum(cells)} decided)." + short
    )


def exceptions_line(cells: pd.DataFrame, verdict: str, label: Callable[[pd.Series], str]) -> str:
    """The exceptions to a verdict that leans one way, named (empty when there are none)."""
    ex = exceptions(cells, verdict)
    if ex.empty:
        return ""
    return (
        f"\n\nExceptions ({len(ex)}, cells that {'contradict' if verdict.startswith('supported') else 'support'} "
        f"the claim): " + "; ".join(label(c) for _, c in ex.iterrows()) + "."
    )


def sensitivity_line(what: str, chosen: float, neighbours, verdict_at: Callable[[float], str], unit: str = "") -> str:
    """Whether a hand-set threshold decides the verdict: the verdict at the chosen value and at its neighbours."""
    parts = [
        f"{v:g}{unit}: **{verdict_at(v)}**" + (" (the rule's)" if v == chosen else "")
        for v in sorted({chosen, *neighbours})
    ]
    return f"Sensitivity to the threshold ({what}): " + "; ".join(parts) + "."


def ci_words(low: float, high: float) -> str:
    """'95% CI 1.02-1.31' for a ratio's interval, or in words where there is none (one process, or bounds that
    are not finite): never an infinity sign or NaN in its place."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no interval: too few processes"
    return f"95% CI {low:.2f}-{high:.2f}"


#: A verdict with at least this many ratio cells is drawn as a forest plot on the claims page, instead of a list.
FOREST_MIN_CELLS = 6


def as_forest(verdict: Verdict) -> pd.DataFrame | None:
    """The cells of a verdict that the claims page draws as a forest plot (a ratio and interval per cell, labelled
    as the rule names them), or None where a list reads better (few cells, or cells that are not ratios)."""
    cells = verdict.cells
    needed = {"label", "speedup", "speedup_ci_low", "speedup_ci_high", "role"}
    if not isinstance(cells, pd.DataFrame) or len(cells) < FOREST_MIN_CELLS or not needed <= set(cells.columns):
        return None
    return cells


def evidence_without_cell_list(verdict: Verdict) -> str:
    """The evidence text less the one-line-per-cell list a rule wrote (kept in the cells' attrs["cell_list"]), for
    a page that draws the cells instead."""
    cells = verdict.cells
    listed = cells.attrs.get("cell_list") if isinstance(cells, pd.DataFrame) else None
    if not listed:
        return verdict.evidence
    return verdict.evidence.replace("\n\n" + listed, "", 1)


def cpu_only(cells: pd.DataFrame) -> str:
    if not cells.empty and set(cells["device"]) == {"cpu"}:
        return " Judged on CPU data only: no accelerator run in the store measured these cells."
    return ""


# ---- rules: each experiment's claims.py, collected from the registry -------------------------------------


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
                    raise ExperimentError(
                        f"claim {fn.claim_id} has two rules ({found[fn.claim_id].__module__}, {module.__name__})"
                    )
                found[fn.claim_id] = fn
    return found


def check_rules() -> None:
    """Every rule settles a claim of claims.yml: a rule for an id the file lacks would be ignored silently (its
    claim, under whatever id, would read "not yet measured"). ExperimentError naming the first such rule."""
    known = {c.id for c in load_claims()}
    for claim_id, fn in rules().items():
        if claim_id not in known:
            where = fn.__module__.replace("fwbench.experiments.", "experiments/").replace(".", "/") + ".py"
            raise ExperimentError(
                f"{where}: a rule for claim {claim_id!r}, which fwbench/report/claims.yml does not "
                f"list (add the claim there, or fix the id)"
            )


def verdict_for(claim: Claim, report: Report) -> Verdict:
    judge_rule = rules().get(claim.id)
    if judge_rule is not None:
        rule_text = judge_rule.rule_text
        verdict, evidence, cells = judge_rule(report)
        if verdict == "not yet measured":
            verdict, evidence = _all_kept_out(claim, report, verdict, evidence)
        evidence += _with_unstable(claim, report, judge_rule, verdict)
        rule_verdict, counts, same = verdict, reruns(claim, verdict, cells, loss_rate(claim, report)), None
        if counts is not None:
            verdict, evidence, same = _reproduced(verdict, evidence, counts)
        elif verdict in DECIDED and isinstance(cells, pd.DataFrame) and cells.attrs.get("revote") == NOT_REDRAWN:
            evidence += "\n\nReproducibility: not checked (this rule's timed comparisons are not redrawn yet)."
        evidence += _quick_only(claim, report, verdict)
        return Verdict(
            claim, verdict, rule_text, evidence, cells, report.runs_used(claim.experiment), rule_verdict, same
        )
    if claim.hardware:
        return Verdict(claim, "not testable here", "", f"Needs {claim.needs}; no run in the store had it.")
    return Verdict(claim, "not yet measured", "", f"Needs {claim.needs}, which this report does not run yet.")


@dataclass(frozen=True, eq=False)
class Revote:
    """How a rule derives its verdict again from its comparisons as a rerun might measure them (`reruns`): the
    rows it compared (with the columns of fwbench.report.results.comparison_columns) and the function from those
    rows, redrawn, to a verdict. A rule hands it over in its cells' attrs["revote"]; pandas deep-copies attrs
    whenever a frame is derived, and this is shared, not copied."""

    rows: pd.DataFrame
    verdict_of: Callable[[pd.DataFrame], str]

    def __deepcopy__(self, memo):
        return self

    @classmethod
    def per_row(cls, rows: pd.DataFrame, role: Callable, also: tuple[str, ...] = ()) -> "Revote":
        """Each row a cell whose role is `role(row)` (a dict of the row's comparison columns and of `also`)."""
        return cls(_compared(rows, also), lambda d: _tally_roles([role(r) for r in d.to_dict("records")]))

    @classmethod
    def per_group(cls, rows: pd.DataFrame, keys: list[str], role: Callable[[pd.DataFrame], str]) -> "Revote":
        """Each group of rows sharing `keys` a cell whose role is `role(group)` (the group's comparison columns)."""
        groups = list(rows.groupby(keys).indices.values()) if not rows.empty else []
        return cls(_compared(rows), lambda d: _tally_roles([role(d.iloc[i]) for i in groups]))


def _compared(rows: pd.DataFrame, also: tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows narrowed to what a rerun redraws and a role may read (the rest is never looked at again)."""
    return rows[[c for c in rows.columns if c in COMPARED or c in also]]


def _tally_roles(roles: list[str]) -> str:
    return tally(pd.DataFrame({"role": pd.Series(roles, dtype=object)}))[0]


#: What a rule puts in its cells' attrs["revote"] when its verdict rests on timed comparisons it does not hand
#: over as a `Revote`: the verdict then says that its reproducibility was not checked.
NOT_REDRAWN = "not redrawn"

#: The columns a rerun redraws (fwbench.measure.stats.rerun), and those a role may read.
REDRAWN = ("log_ratio", "se", "speedup", "speedup_ci_low", "speedup_ci_high", "verdict", "p_faster", "p_slower")
COMPARED = (*REDRAWN, "df", "n_baseline", "n_candidate", "paired")


def redrawn(rows: pd.DataFrame, rng: np.random.Generator, lost: float = 0.0) -> pd.DataFrame:
    """`rows` as one rerun of the same measurements might give them: every comparison redrawn, each of its
    processes lost with probability `lost` (a series kept out as unstable or busy takes its process out of the
    comparison). The rerun follows the same protocol as this run, which kept its n processes out of about
    n / (1 - lost) started (the runner replaces a process that lost a series, the sequential rule adds processes
    while a comparison is open): so it starts that many, each kept with probability 1 - lost, and keeps at most n
    (never a narrower interval than measured). A comparison with fewer processes has the wider interval they give
    (standard error by sqrt(n / kept), degrees of freedom in proportion); with fewer than two it has no interval.
    Rows without process counts lose the whole comparison with probability `lost`."""
    se, df = rows["se"].to_numpy(dtype=float), rows["df"].to_numpy(dtype=float)
    gone = np.zeros(len(rows), dtype=bool)
    rerun_se, rerun_df = se, df
    if lost > 0 and {"n_baseline", "n_candidate"} <= set(rows.columns):
        counts = rows[["n_baseline", "n_candidate"]].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy()
        n = np.clip(counts.min(axis=1), 0, None).astype(int)
        started = started_for(n, lost)
        kept = np.minimum(rng.binomial(started, 1.0 - lost), n)
        gone = (kept < 2) & (n >= 2)  # a comparison that had no interval has none to lose
        fewer = (kept >= 2) & (kept < n)
        with np.errstate(invalid="ignore", divide="ignore"):
            rerun_se = np.where(fewer, se * np.sqrt(n / np.maximum(kept, 1)), se)
            rerun_df = np.where(fewer, np.maximum(1.0, df * (kept - 1) / np.maximum(n - 1, 1)), df)
    elif lost > 0:
        gone = rng.random(len(rows)) < lost
    drawn = stats.rerun(rows["log_ratio"], se, df, rng, rerun_se=rerun_se, rerun_df=rerun_df)
    if gone.any():  # no estimate, no interval: as a comparison with fewer than two processes reads
        drawn["log_ratio"] = np.where(gone, np.nan, drawn["log_ratio"])
        drawn["se"] = np.where(gone, np.inf, drawn["se"])
        drawn["speedup"] = np.where(gone, np.nan, drawn["speedup"])
        drawn["verdict"] = np.where(gone, "inconclusive", drawn["verdict"])
        drawn["speedup_ci_low"] = np.where(gone, 0.0, drawn["speedup_ci_low"])
        drawn["speedup_ci_high"] = np.where(gone, np.inf, drawn["speedup_ci_high"])
        drawn["p_faster"] = np.where(gone, 1.0, drawn["p_faster"])
        drawn["p_slower"] = np.where(gone, 1.0, drawn["p_slower"])
    return rows.assign(**{k: drawn[k] for k in REDRAWN})


def started_for(kept: np.ndarray, lost: float) -> np.ndarray:
    """Processes a run starts to keep `kept` of them for a comparison when it loses each with probability `lost`:
    kept / (1 - lost), rounded (never below `kept`). Losing none, exactly `kept`; losing all, no count keeps any."""
    kept = np.asarray(kept, dtype=int)
    return kept if lost >= 1 else np.rint(kept / (1.0 - lost)).astype(int)


def loss_rate(claim: Claim, report: Report) -> float:
    """The share of a comparison's processes a rerun would lose, from what this store lost: a process counts for
    a comparison with both of its series, and each is kept out (unstable, or measured on a busy machine) as often
    as the experiment's were."""
    experiment = registry().get(claim.experiment) if claim.experiment else None
    if experiment is None or not experiment.timing_samples:
        return 0.0
    bad, total = report.unstable_share(claim.experiment)
    return 1.0 - (1.0 - bad / total) ** 2 if total else 0.0


def reruns(claim: Claim, verdict: str, cells, lost: float = 0.0) -> dict[str, int] | None:
    """{verdict: how many of RERUNS simulated reruns gave it} for a decided verdict whose rule handed over how to
    vote again (`Revote`); None otherwise. Each rerun redraws every comparison and loses each of its processes with
    probability `lost` (`loss_rate`, `redrawn`). Seeded by the claim's id: the same store gives the same book."""
    revote = cells.attrs.get("revote") if isinstance(cells, pd.DataFrame) else None
    if verdict not in DECIDED or not isinstance(revote, Revote) or revote.rows.empty:
        return None
    if not {"log_ratio", "se", "df"} <= set(revote.rows.columns):
        return None
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(claim.id.encode()).digest()[:8], "little"))
    counts: dict[str, int] = {}
    for _ in range(RERUNS):
        word = revote.verdict_of(redrawn(revote.rows, rng, lost))
        counts[word] = counts.get(word, 0) + 1
    return counts


#: The weaker word of the same direction that a verdict falls back to when it does not reproduce but its
#: direction does, and which rerun verdicts count as "at least" each word.
WEAKER = {"supported": "supported with exceptions", "contradicted": "contradicted with exceptions"}
AT_LEAST = {
    "supported": ("supported",),
    "supported with exceptions": ("supported", "supported with exceptions"),
    "mixed": ("mixed",),
    "contradicted with exceptions": ("contradicted", "contradicted with exceptions"),
    "contradicted": ("contradicted",),
}


def reproduced(verdict: str, counts: dict[str, int]) -> tuple[str, tuple[int, int]]:
    """The strongest verdict that reproduces: the rule's, where at least REPRODUCE_MIN of the reruns give it, else
    the weaker word of its direction where that many give it or stronger, else inconclusive; with (reruns that
    agree with the verdict returned, or with the rule's where none reproduces, reruns)."""
    n = sum(counts.values())
    for word in (verdict, WEAKER.get(verdict)):
        if word is None:
            continue
        agree = sum(counts.get(w, 0) for w in AT_LEAST[word])
        if agree >= REPRODUCE_MIN * n:
            return word, (agree, n)
    return "inconclusive", (counts.get(verdict, 0), n)


def reproduces(same: tuple[int, int]) -> bool:
    return same[0] >= REPRODUCE_MIN * same[1]


def _reproduced(verdict: str, evidence: str, counts: dict[str, int]) -> tuple[str, str, tuple[int, int]]:
    """The verdict and evidence once the rerun check has spoken (`reproduced`), with its agreement count."""
    word, (agree, n) = reproduced(verdict, counts)
    if word == verdict:
        return (
            word,
            evidence
            + (
                f"\n\nReproducibility: {agree} of {n} simulated reruns give the same verdict (a verdict needs "
                f"{REPRODUCE_MIN:.0%}; {RERUNS_TEXT})."
            ),
            (agree, n),
        )
    exact = counts.get(verdict, 0)
    if word != "inconclusive":
        return (
            word,
            (
                f"**{word[0].upper() + word[1:]}, not {verdict}:** on these numbers the rule gives **{verdict}**, but only "
                f"{exact} of {n} simulated reruns repeat that word, while {agree} give {word} or stronger: the verdict is "
                f"the strongest word that reproduces ({RERUNS_TEXT}).\n\n" + evidence
            ),
            (agree, n),
        )
    return (
        "inconclusive",
        (
            f"**Inconclusive: the verdict does not reproduce.** On these numbers the rule gives **{verdict}**, but only "
            f"{exact} of {n} simulated reruns give it too, fewer than the {REPRODUCE_MIN:.0%} a verdict needs "
            f"({RERUNS_TEXT}). Cells near the margin decide it; more processes per cell, or `{FULL_COMMAND}`, may "
            f"settle it.\n\n" + evidence
        ),
        (exact, n),
    )


RERUNS_TEXT = (
    "each rerun derives the verdict again with every comparison drawn where a rerun of the same measurement would "
    "put it, its estimate within about sqrt(2) standard errors of this one and its interval as uncertain as this "
    "one, and loses each of a comparison's processes as often as this store lost series (kept out as unstable or "
    "busy), starting as many as this run needed to keep its count (the runner replaces lost processes) and keeping "
    "at most that count: fewer processes, a wider interval; fewer than two, none"
)


def _all_kept_out(claim: Claim, report: Report, verdict: str, evidence: str) -> tuple[str, str]:
    """A rule left with nothing to compare because every series its experiment measured was kept out (measured on a
    busy machine, unsteady, or failing a check): an inconclusive measurement, said with its cause, not a claim
    "not yet measured"."""
    experiment = registry().get(claim.experiment) if claim.experiment else None
    if experiment is None or not experiment.timing_samples:
        return verdict, evidence
    out = report.excluded(claim.experiment)
    if out.empty or report.samples(claim.experiment):  # something was left to compare: not this case
        return verdict, evidence
    busy = int(out["reason"].astype(str).str.startswith("busy machine").sum())
    return "inconclusive", (
        f"Measured, but every series this rule compares was kept out: {len(out)} series, {busy} "
        f"of them measured on a busy machine (other programs held the CPUs), the rest unsteady "
        f"or failing a check; the chapter lists each. Measure again on a quiet machine."
        + (f"\n\n{evidence}" if evidence else "")
    )


#: The profile that is a first look (profiles/quick.yml), and the command that measures what it leaves out.
FIRST_LOOK_PROFILE, FULL_COMMAND = "quick", "PROFILE=full make report"


def _quick_only(claim: Claim, report: Report, verdict: str) -> str:
    """Where every run behind a verdict came from the quick profile, the evidence says so: an inconclusive verdict
    there may be the first look's size (fewer workloads, levels and processes), and the command that measures more."""
    runs = set(report.runs_used(claim.experiment)) if claim.experiment else set()
    names = {profile_name(r.manifest) for r in report.runs if r.run_id in runs}
    if not runs or names != {FIRST_LOOK_PROFILE}:
        return ""
    if verdict == "inconclusive":
        return (
            f"\n\nInconclusive in the {FIRST_LOOK_PROFILE} profile, a first look (fewer workloads, load levels "
            f"and processes than the full profile): `{FULL_COMMAND}` measures what it leaves out and may decide it."
        )
    return (
        f"\n\nFrom the {FIRST_LOOK_PROFILE} profile only (a first look); `{FULL_COMMAND}` measures the workloads and "
        "levels it leaves out."
    )


def _with_unstable(claim: Claim, report: Report, judge_rule, verdict: str) -> str:
    """Replacement processes and the stability rule select on the same series they judge: where series were left
    out as unstable, the verdict with them kept in, so a reader sees whether the rule decided it."""
    experiment = registry().get(claim.experiment) if claim.experiment else None
    if experiment is None or not experiment.timing_samples or report.include_unstable:
        return ""
    bad, total = report.unstable_share(claim.experiment)
    if not bad:
        return ""
    other = judge_rule(report.with_unstable())[0]
    same = "the same" if other == verdict else f"**{other}**"
    return (
        f"\n\nWith the series stored as unstable kept in ({bad} of {total} timed series were left out as "
        f"unstable or measured on a busy machine; busy ones stay out), the verdict would be {same}."
    )


def verdicts(report: Report) -> list[Verdict]:
    return [verdict_for(c, report) for c in load_claims()]
