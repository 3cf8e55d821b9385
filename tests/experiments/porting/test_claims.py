"""The M1 rule on synthetic attempts whose right answer is known by construction (never on measured outcomes)."""

from fwbench.report.claims import load_claims, verdict_for
from fwbench.report.results import Report
from synthetic.porting import job, kind_jobs

M1 = next(c for c in load_claims() if c.id == "M1")
EASY = lambda s, t: ["transpose: kernel"]  # noqa: E731
AS_IS = lambda s, t: []  # noqa: E731
HARD = lambda s, t: ["transpose: kernel", "epsilon: 1e-3 against 1e-5"]  # noqa: E731


def verdict(make_store, jobs):
    return verdict_for(M1, Report(make_store([("r1", jobs)]).load()[0]))


def test_the_claim_is_settled_by_this_experiment():
    assert M1.experiment == "porting"


def test_every_kind_straightforward_is_supported(make_store):
    v = verdict(make_store, kind_jobs({"dense": EASY, "embedding": AS_IS, "attention": EASY}))
    assert v.verdict == "supported"
    assert set(v.cells["role"]) == {"supports"}


def test_no_kind_straightforward_is_contradicted(make_store):
    v = verdict(make_store, kind_jobs({"layernorm": HARD, "batchnorm": HARD, "gru": HARD}))
    assert v.verdict == "contradicted" and "needs epsilon" in v.evidence


def test_a_failed_pair_makes_its_kind_contradict_even_with_layout_steps_only(make_store):
    jobs = kind_jobs(
        {"dense": EASY, "embedding": AS_IS, "conv2d": EASY},
        outcome_of=lambda layer, s, t: "fails" if (layer, s, t) == ("conv2d", "jax", "torch") else "matches",
    )
    v = verdict(make_store, jobs)
    roles = dict(zip(v.cells["layer"], v.cells["role"]))
    assert roles == {"dense": "supports", "embedding": "supports", "conv2d": "contradicts"}
    assert "1 pair(s) fail" in v.evidence


def test_a_kind_missing_a_pair_is_inconclusive_and_does_not_vote(make_store):
    jobs = kind_jobs({"dense": EASY, "embedding": AS_IS, "attention": EASY, "gru": HARD})
    jobs[2] = job(
        "jax", [], status="failed", layers=["dense", "embedding", "attention", "gru"]
    )  # the flax source's job failed: its two pairs are missing
    v = verdict(make_store, jobs)
    assert set(v.cells["role"]) == {"inconclusive"} and v.verdict == "inconclusive"


def test_a_silent_naive_copy_is_named_in_the_evidence(make_store):
    v = verdict(
        make_store,
        kind_jobs(
            {"dense": EASY, "embedding": AS_IS, "attention": EASY},
            naive_of=lambda layer, s, t: "silent-wrong" if layer == "dense" else "matches",
        ),
    )
    assert v.verdict == "supported" and "silently wrong on 6" in v.evidence


def test_between_two_thirds_and_ninety_percent_is_supported_with_exceptions(make_store):
    kinds = {k: EASY for k in ("dense", "conv2d", "attention", "embedding", "layernorm")}
    kinds["gru"] = HARD
    v = verdict(make_store, kind_jobs(kinds))
    assert v.verdict == "supported with exceptions" and "gru" in v.evidence.split("Exceptions")[1]


def test_nothing_stored_is_not_yet_measured(make_store):
    assert verdict(make_store, []).verdict == "not yet measured"
