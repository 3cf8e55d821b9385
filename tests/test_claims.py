"""Verdict rules on synthetic records whose right answer is known by construction (never on measured values)."""

from pathlib import Path

import pandas as pd
import pytest

from conftest import job
from fwbench.claims import VERDICTS, all_some_none, load_claims, verdicts
from fwbench.report import Report

# The stable ids of the claims the report must settle; they must all be in the book.
IDS = ["E1", "E2", "E3", "E4", "E5", "E6", "D1", "D2", "D3", "D4", "X1", "X2", "X3", "X4", "X5", "X6", "X7",
       "P1", "S1", "U1", "M1", "H1", "H2"]


def by_id(report):
    return {v.claim.id: v for v in verdicts(report)}


def test_every_claim_is_listed_once():
    assert [c.id for c in load_claims()] == IDS


def test_all_some_none():
    cells = lambda *v: pd.DataFrame({"verdict": list(v)})
    assert all_some_none(cells("faster", "faster"), "faster") == "supported"
    assert all_some_none(cells("slower", "no clear difference"), "faster") == "contradicted"
    assert all_some_none(cells("faster", "slower"), "faster") == "mixed"


def jobs_for(run, times, same_noise=False):
    """times: {(framework, variant): step seconds}; mode follows the variant name.

    same_noise gives every job the very same noise pattern, so equal times are exactly equal.
    """
    return [job(run, fw, v, "eager" if v == "eager" else "graph", t, seed=0 if same_noise else i)
            for i, ((fw, v), t) in enumerate(times.items())]


FAST_GRAPHS = {("torch", "eager"): 0.010, ("torch", "torch.compile"): 0.005,
               ("tensorflow", "eager"): 0.020, ("tensorflow", "tf.function"): 0.010,
               ("tensorflow", "tf.function+xla"): 0.008, ("jax", "eager"): 0.030, ("jax", "jax.jit"): 0.004}


def test_rules_when_every_graph_mode_is_faster(make_store):
    v = by_id(Report(make_store([("r1", jobs_for("r1", FAST_GRAPHS))]).load()[0]))
    assert v["E1"].verdict == "supported"
    assert v["E4"].verdict == "supported"
    assert v["E2"].verdict == "supported"  # torch eager 0.010 vs tensorflow eager 0.020
    assert v["E5"].verdict == "supported"  # jax.jit is the fastest compiled mode
    assert v["E1"].runs == ["r1"] and "speedup" in v["E1"].evidence
    assert len(v["E1"].cells) == 4 * 2  # four compiled variants x two phases


def test_rules_when_compiling_never_helps(make_store):
    times = {k: (0.010 if k[1] == "eager" else 0.020) for k in FAST_GRAPHS}
    v = by_id(Report(make_store([("r1", jobs_for("r1", times))]).load()[0]))
    assert v["E1"].verdict == "contradicted"
    assert v["E4"].verdict == "contradicted"
    assert "never" in v["E4"].evidence  # break-even never comes
    assert v["E2"].verdict == "contradicted"  # equal eager times: PyTorch is not faster


def test_rules_mixed(make_store):
    times = dict(FAST_GRAPHS)
    times[("torch", "torch.compile")] = 0.020  # slower than torch eager
    times[("jax", "jax.jit")] = 0.050          # far slower than the others' compiled modes
    v = by_id(Report(make_store([("r1", jobs_for("r1", times))]).load()[0]))
    assert v["E1"].verdict == "mixed"
    assert v["E4"].verdict == "contradicted"
    assert v["E5"].verdict == "contradicted"


def test_noise_gives_no_verdict_of_difference(make_store):
    times = {k: 0.010 for k in FAST_GRAPHS}
    v = by_id(Report(make_store([("r1", jobs_for("r1", times, same_noise=True))]).load()[0]))
    assert v["E1"].verdict == "contradicted"
    assert set(v["E1"].cells["verdict"]) == {"no clear difference"}


def test_empty_store_and_untestable_claims(tmp_path):
    v = by_id(Report(runs=[]))
    assert v["E1"].verdict == "not yet measured"
    assert v["H1"].verdict == "not testable here" and v["H2"].verdict == "not testable here"
    assert v["D1"].verdict == "not yet measured"
    assert {x.verdict for x in v.values()} <= set(VERDICTS)
