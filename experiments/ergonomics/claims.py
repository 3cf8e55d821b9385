"""The ergonomics claim (U1): its rule turns the programs' counts into a verdict, with its wording beside it."""

from __future__ import annotations

import pandas as pd

from fwbench.report.claims import rule, sensitivity_line
from fwbench.report.results import Report
from fwbench.report.sanitize import md

#: PyTorch's count must be below this share of a TensorFlow program's to count as shorter (and above its inverse
#: to count as longer): a margin so that a line or two of style, which any writer could add or save, decides nothing.
MARGIN = 0.10
#: The margins the claims page also shows the verdict at (does the hand-set 10% decide it?).
MARGIN_NEIGHBOURS = (0.05, 0.20)
#: The counts the rule compares.
SIZES = ("logical lines", "tokens")


def role_of(ratio: float, margin: float = MARGIN) -> str:
    """A cell's role from PyTorch's count over a TensorFlow program's: shorter by more than the margin supports the
    claim, longer by more than it contradicts it, and in between it is within the margin."""
    if ratio < 1 - margin:
        return "supports"
    if ratio > 1 / (1 - margin):
        return "contradicts"
    return "within the margin"


def _not_comparable(df: pd.DataFrame) -> list[str]:
    """Programs that failed, did not run to the end, or computed something else: a count of a program that does
    not do the task says nothing about the task."""
    from fwbench.experiments.ergonomics import tables

    bad = [
        f"{r['machine_label']} {r['program']} ({r['error'] or r['checks_failed'] or r['status']})"
        for _, r in df.iterrows()
        if r["status"] != "ok" or r["program_ok"] != 1 or r["checks_failed"]
    ]
    agree = tables.loss_agreement(df)
    for machine, g in agree.groupby("machine_label"):
        if not g["agree"].all():
            bad.append(f"{machine}: the programs' losses differ beyond the tolerance")
    return bad


def cells(report: Report) -> pd.DataFrame:
    """One cell per (TensorFlow program, count): PyTorch's count over it, from the newest run; the counts depend on
    the source alone, so machines that ran the same files give the same cells (kept once)."""
    from fwbench.experiments.ergonomics import tables

    ratios = tables.ratios(tables.programs(report))
    if ratios.empty:
        return ratios.assign(role=[], label=[])
    ratios = ratios.drop_duplicates(["against", "count", "pytorch", "other"])
    return ratios.assign(
        role=ratios["ratio"].map(role_of),
        label=[
            f"PyTorch vs {r['against']}, {r['count']}: {r['pytorch']} vs {r['other']}" for _, r in ratios.iterrows()
        ],
    )


@rule(
    "U1",
    "Counted from the source of the four programs that do the same task (the cnn workload's model, "
    "synthetic batches, a training loop with evaluation, checkpoint save and load), written by this project "
    "as each framework's tutorials teach, harness lines, docstrings and comments left out. Each TensorFlow "
    "program (Keras 3, and TensorFlow with GradientTape) is compared with the PyTorch one in logical lines "
    f"and in tokens: a cell supports the claim where PyTorch's count is more than {MARGIN:.0%} below the "
    f"other's (shorter), contradicts it where it is more than {MARGIN:.0%} above (longer), and is within the "
    f"margin otherwise (not shorter, so it does not support the claim either). Why {MARGIN:.0%}: a line or "
    f"two of style, which any writer could add or save, must decide nothing; the verdict at "
    f"{MARGIN_NEIGHBOURS[0]:.0%} and {MARGIN_NEIGHBOURS[1]:.0%} is shown beside it. **Supported** if all "
    "four cells "
    "support it, **contradicted** if none does, **mixed** otherwise; "
    "**inconclusive** while a program is missing, failed, did not check out against the reference, or "
    "reached other losses than the rest (it would not be the same task). The counts are exact properties of the written "
    "files, not samples, so they carry no interval; what varies is how a program is written, and the "
    'chapter shows all four whole so a reader can judge that. "More Pythonic" is not counted: the '
    "chapter lists the framework-specific concepts each program needs.",
)
def rule_u1(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.ergonomics import tables

    df = tables.programs(report)
    c = cells(report)
    if df.empty or c.empty:
        return "not yet measured", "", c
    lines = "\n".join(f"- {md(r['label'])} (ratio {r['ratio']:.2f}): **{r['role']}**" for _, r in c.iterrows())
    bad = _not_comparable(df)
    for machine, g in df.groupby("machine_label"):
        absent = [
            tables.PROGRAM_NAMES[v] for v in ("pytorch", *tables.TENSORFLOW_PROGRAMS) if v not in set(g["variant"])
        ]
        if absent:
            bad.append(f"{machine}: not measured: {', '.join(absent)}")
    if bad:
        c = c.assign(role="inconclusive")
        c.attrs["because"] = "not every program ran to the same losses: " + "; ".join(bad)
        return "inconclusive", f"Not every program did the task: {md('; '.join(bad))}.\n\n" + lines, c
    verdict = _verdict(c)
    lines += "\n\n" + sensitivity_line(
        "PyTorch shorter by more than",
        MARGIN * 100,
        [m * 100 for m in MARGIN_NEIGHBOURS],
        lambda m: _verdict(c.assign(role=c["ratio"].map(lambda r: role_of(r, m / 100)))),
        unit="%",
    )
    c.attrs["because"] = "; ".join(
        f"PyTorch vs {a}: {g.iloc[0]['pytorch']} vs {g.iloc[0]['other']} lines, "
        f"{g.iloc[-1]['pytorch']} vs {g.iloc[-1]['other']} tokens"
        for a, g in c.groupby("against", sort=False)
    )
    return verdict, lines, c


def _verdict(c: pd.DataFrame) -> str:
    supports = int((c["role"] == "supports").sum())
    return "supported" if supports == len(c) else "contradicted" if supports == 0 else "mixed"
