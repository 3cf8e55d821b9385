"""The data-parallel claim (S1): its rule turns the store and the documentation table into a verdict, wording beside it."""

from __future__ import annotations

import pandas as pd

from fwbench.report.claims import count_line, exceptions_line, rule, tally
from fwbench.report.results import Report

#: Statuses that say a framework covers a setup as shown on this host.
SHOWN = {"ran here": True, "failed here": False}


def role(tf: str, torch: str) -> str:
    """One setup's vote on "TensorFlow covers more; PyTorch's native support is narrower", from what ran here.

    Only setups this host ran (or tried) decide: TensorFlow shown and PyTorch not *supports*, PyTorch shown and
    TensorFlow not *contradicts*, both shown *contradicts* (TensorFlow covers no more there). A setup neither
    framework showed here, or one that needs hardware this host lacks, is *inconclusive* and never votes."""
    tf_tried, torch_tried = tf in SHOWN, torch in SHOWN
    if not (tf_tried or torch_tried):
        return "inconclusive"  # documentation alone, or several hosts: one host cannot show it
    tf_ok = SHOWN.get(tf, False)
    torch_ok = SHOWN.get(torch, False)
    if tf_ok and not torch_ok:
        return "supports"
    if torch_ok:
        return "contradicts"
    return "inconclusive"  # tried here and worked for neither: no evidence either way


def cells(cov: pd.DataFrame) -> pd.DataFrame:
    """One cell per setup: TensorFlow's and PyTorch's status there, and its role."""
    wide = cov.pivot_table(index="setup", columns="framework", values="status", aggfunc="first")
    rows = []
    for setup in cov["setup"].drop_duplicates():
        tf, torch = wide.loc[setup].get("tensorflow", "absent"), wide.loc[setup].get("torch", "absent")
        rows.append({"setup": setup, "tensorflow": tf, "torch": torch, "role": role(tf, torch)})
    return pd.DataFrame(rows)


def _label(c) -> str:
    return f"{c['setup']} (TensorFlow: {c['tensorflow']}; PyTorch: {c['torch']})"


@rule(
    "S1",
    "One cell per distributed setup of the coverage table (data parallel; data parallel through the "
    "framework's fit API; FSDP-style sharding; parameter server; pipeline; tensor parallel; multi-node "
    "launch). A setup votes only where this host ran it: TensorFlow worked there and PyTorch did not "
    "**supports** the claim; PyTorch worked (whether or not TensorFlow did) **contradicts** it. Data "
    "parallel counts as worked only with its collectives checked correct (known-answer all-reduce, "
    "parameters equal to one process); a launch that failed on a busy machine (other programs took the CPUs even "
    "when it was run again) counts neither way, since a neighbour can make a group miss its timeout. Setups known "
    "only from the documentation, or that need more than "
    "one host, are **inconclusive** here and never vote; the documentation counts are given beside the "
    "verdict, not counted in it. The shared quorum and scale decide, so one CPU host alone cannot settle "
    "the claim: it shows data parallelism and the fit API, nothing more.",
)
def rule_s1(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.data_parallel import tables

    if tables.launches(report).empty:
        return "not yet measured", "", pd.DataFrame()
    cov = tables.coverage(report)
    voted = cells(cov)
    verdict, counts = tally(voted)
    docs = tables.documented_counts(cov)
    total = cov["setup"].nunique()
    lines = "\n".join(f"- {_label(c)}: **{c['role']}**" for _, c in voted.iterrows())
    evidence = (
        count_line(counts)
        + exceptions_line(voted, verdict, _label)
        + f"\n\nFrom the documentation (not a measurement, and not counted): TensorFlow documents "
        f"{docs['tensorflow']} of the {total} setups natively, PyTorch {docs['torch']}, JAX {docs['jax']}."
        + "\n\n"
        + lines
    )
    voted = voted.assign(device="cpu")
    voted.attrs["because"] = (
        f"{counts['supports'] + counts['contradicts']} of {len(voted)} setups can be shown on "
        f"one host; documentation: TensorFlow {docs['tensorflow']}, PyTorch {docs['torch']}, "
        f"JAX {docs['jax']} of {total}"
    )
    return verdict, evidence, voted
