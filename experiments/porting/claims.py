"""The porting claim: its rule turns the store into a verdict, with its wording beside it."""

from __future__ import annotations

import pandas as pd

from fwbench.report.claims import SCALE_TEXT, exceptions_line, rule, tally
from fwbench.report.results import Report
from fwbench.report.sanitize import md

PAIRS = 6


def _role(row: pd.Series) -> str:
    if row["pairs"] < PAIRS:
        return "inconclusive"  # a pair not measured (its job failed or the profile left it out) decides nothing
    return "supports" if row["straightforward"] else "contradicts"


def _label(row: pd.Series) -> str:
    return f"{row['machine_label']} {row['layer']}"


@rule(
    "M1",
    "Per layer kind (dense + GELU, conv2d, batch norm with running statistics, layer norm, multi-head "
    "attention, GRU, embedding), trained weights are moved by hand between torch.nn, Keras and flax in all "
    "6 directed pairs. A layer kind *ports straightforwardly* (supports the claim) when every pair's ported "
    "layer matches the source's outputs within the stated float32 tolerance and every transformation it "
    "needed is a transpose, reshape or slice of arrays (the data's NCHW/NHWC transpose included); a "
    "convention the arrays do not carry (an epsilon, a momentum, the GELU approximation, padding, a gate "
    "order, a bias layout, a swapped sub-layer) or a pair that fails makes it contradict; a kind with a pair "
    "not measured is inconclusive. The share of layer kinds that support places the verdict on the shared "
    "scale, so *most layers* needs at least two thirds. " + SCALE_TEXT,
)
def rule_m1(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.porting import tables

    att = tables.attempts(report)
    if att.empty or (att["route"] == "weights").sum() == 0:
        return "not yet measured", "", pd.DataFrame()
    cells = tables.per_kind(att)
    cells = cells.assign(role=[_role(r) for _, r in cells.iterrows()], label=[_label(r) for _, r in cells.iterrows()])
    verdict, counts = tally(cells)
    lines = "\n".join(
        f"- {md(r['label'])}: {r['straightforward_pairs']} of {r['pairs']} pairs straightforward"
        + (f"; needs {md(r['beyond_layout'])}" if r["beyond_layout"] else "")
        + (f"; {r['pairs'] - r['ported']} pair(s) fail" if r["ported"] < r["pairs"] else "")
        + (f"; the naive copy ran and was silently wrong on {r['naive_silent']}" if r["naive_silent"] else "")
        + f": **{r['role']}**"
        for _, r in cells.iterrows()
    )
    evidence = (
        f"{counts['supports']} layer kind(s) port straightforwardly on every pair, {counts['contradicts']} "
        f"need more, {counts['inconclusive']} lack a pair (inconclusive kinds do not vote)."
    )
    evidence += exceptions_line(cells, verdict, lambda c: c["label"]) + "\n\n" + lines
    cells.attrs["because"] = (
        f"{counts['supports']} of {len(cells)} layer kinds port with no more than a reshape or transpose"
    )
    return verdict, evidence, cells
