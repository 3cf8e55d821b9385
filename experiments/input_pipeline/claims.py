"""The input-pipeline claim: its rule turns the store into a verdict, with its wording beside it."""

from __future__ import annotations

import pandas as pd

from fwbench.report.claims import (
    MARGIN_TEXT,
    SCALE_TEXT,
    Revote,
    ci_words,
    count_line,
    cpu_only,
    exceptions_line,
    rule,
    tally,
)
from fwbench.report.results import Report
from fwbench.report.sanitize import md

#: A comparison's class -> its role for "tf.data delivers higher throughput": only faster supports; slower and
#: equivalent (no higher throughput) contradict; inconclusive never votes.
ROLES = {"faster": "supports", "slower": "contradicts", "equivalent": "contradicts"}


def _role(c) -> str:
    """A cell where a side had no usable process is inconclusive whatever its numbers."""
    return ROLES.get(c["verdict"], "inconclusive") if not c["note"] else "inconclusive"


def _label(c) -> str:
    return (
        f"{c['machine_label']} {c['page_cache']} page cache, {int(c['workers'])} workers, {c['kind']} format: "
        f"tf.data ({c['baseline_format']}) vs {c['other']} ({c['other_format']})"
    )


def _line(c) -> str:
    if c["note"]:
        return f"- {md(_label(c))}: {md(c['note'])}: **{c['role']}**"
    return (
        f"- {md(_label(c))}: tf.data {c['speedup']:.2f}x the other's samples/s "
        f"({ci_words(c['speedup_ci_low'], c['speedup_ci_high'])}, {int(c['n_baseline'])} vs "
        f"{int(c['n_candidate'])} processes), {c['verdict']}: **{c['role']}**"
    )


@rule(
    "P1",
    "tf.data against each other loader (the PyTorch DataLoader, grain) doing the same work (read, decode, "
    "random crop and flip, normalise, shuffle, batch) on the same synthetic images, in every cell: machine, "
    "page cache, worker count (map threads for tf.data, worker processes for the others, set alike, prefetch "
    "alike, autotuning off, no caching), and format kind: the common .npy shards every loader reads (the "
    "loaders alone) and each loader's own format (TFRecord, files, ArrayRecord: what each user would run). "
    "Speedup = the other's steady epoch time / tf.data's, with a 95% Welch t interval over both loaders' "
    "fresh processes; a loader whose data failed the label or pixel checks is not timed, nor is a process "
    "measured on a busy machine (other programs took the CPUs even when it was run again). A cell *supports* "
    f"the claim when the whole interval lies above 1 + the margin ({MARGIN_TEXT}), *contradicts* it when it "
    "lies below 1 - margin or wholly inside the margin (no higher throughput), and is *inconclusive* "
    "otherwise, including a cell where a side failed or ran in one process. Only decided cells vote. "
    + SCALE_TEXT
    + " What each loader timed is in the input-pipelines chapter's *what is timed* table.",
)
def rule_p1(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.input_pipeline import tables

    cells = tables.comparisons(report)
    if cells.empty:
        return "not yet measured", "", cells
    cells = cells.assign(device="cpu", role=[_role(c) for _, c in cells.iterrows()])
    verdict, counts = tally(cells)
    cells.attrs["revote"] = Revote.per_row(cells, _role, also=("note",))
    evidence = (
        count_line(counts)
        + cpu_only(cells)
        + exceptions_line(cells, verdict, lambda c: md(_label(c)))
        + "\n\n"
        + "\n".join(_line(c) for _, c in cells.iterrows())
    )
    return verdict, evidence, cells
