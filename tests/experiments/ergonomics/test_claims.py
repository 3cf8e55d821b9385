"""The U1 rule on synthetic jobs whose right answer is known by construction."""

import pytest

from fwbench.experiments.ergonomics.claims import MARGIN, role_of
from fwbench.report.claims import VERDICTS, load_claims, verdict_for
from fwbench.report.findings import because

U1 = {c.id: c for c in load_claims()}["U1"]


def verdict(ergo_report, sizes, **changes):
    """sizes: variant -> (logical lines, tokens); `changes`: variant -> keyword arguments of ergonomics_job."""
    return verdict_for(U1, ergo_report(sizes, changes))


ALL = {"pytorch": (50, 500), "keras": (70, 700), "gradienttape": (80, 800), "flax": (90, 900)}


def test_roles_at_the_margin():
    assert role_of(1 - MARGIN - 0.01) == "supports" and role_of(1 / (1 - MARGIN) + 0.01) == "contradicts"
    assert role_of(1.0) == role_of(1 - MARGIN + 0.01) == "within the margin"


def test_shorter_than_both_tensorflow_programs_in_lines_and_tokens_is_supported(ergo_report):
    v = verdict(ergo_report, ALL)
    assert v.verdict == "supported" and v.verdict in VERDICTS
    assert len(v.cells) == 4 and set(v.cells["role"]) == {"supports"}
    assert "50 vs 70 lines" in because(v)


def test_longer_than_both_is_contradicted_and_so_is_equal_length(ergo_report):
    assert verdict(ergo_report, {**ALL, "pytorch": (100, 1000)}).verdict == "contradicted"
    assert verdict(ergo_report, {**ALL, "keras": (50, 500), "gradienttape": (52, 510)}).verdict == "contradicted"


def test_shorter_than_one_tensorflow_program_only_is_mixed(ergo_report):
    v = verdict(ergo_report, {**ALL, "keras": (30, 400)})
    assert v.verdict == "mixed"
    assert sorted(v.cells["role"]) == ["contradicts", "contradicts", "supports", "supports"]


def test_within_the_margin_in_one_count_is_mixed(ergo_report):
    assert verdict(ergo_report, {**ALL, "keras": (52, 700)}).verdict == "mixed"


@pytest.mark.parametrize(
    "changes",
    [
        {"keras": {"checks_pass": False}},
        {"gradienttape": {"status": "failed"}},
        {"flax": {"train": (2.5, 2.6)}},  # reached another loss: not the same task
    ],
)
def test_a_program_that_failed_or_computed_something_else_makes_it_inconclusive(ergo_report, changes):
    v = verdict(ergo_report, ALL, **changes)
    assert v.verdict == "inconclusive", v.evidence


def test_a_missing_tensorflow_program_is_named_and_inconclusive(ergo_report):
    v = verdict(ergo_report, {k: ALL[k] for k in ("pytorch", "keras")})
    assert v.verdict == "inconclusive" and "TensorFlow GradientTape" in v.evidence


def test_no_programs_is_not_yet_measured(ergo_report):
    assert verdict(ergo_report, {"flax": (10, 100)}).verdict == "not yet measured"


def test_the_verdict_is_shown_at_the_neighbouring_margins_too(ergo_report):
    # Keras 8% longer than PyTorch in lines: within a 10% margin (mixed), beyond a 5% one (supported).
    v = verdict(ergo_report, {**ALL, "keras": (54, 700)})
    assert v.verdict == "mixed" and "Why 10%" in v.rule
    assert (
        "Sensitivity to the threshold (PyTorch shorter by more than): 5%: **supported**; 10%: **mixed** (the rule's)"
        in v.evidence
    )
