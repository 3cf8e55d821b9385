"""Verdict rules on synthetic records whose right answer is known by construction (never on measured values)."""

import pandas as pd

from conftest import evg_runs
from fwbench.experiments.eager_vs_graph.claims import E2_LITTLE_MAX
from fwbench.report.claims import VERDICTS, all_some_none, load_claims, verdicts
from fwbench.report.findings import because
from fwbench.report.results import Report

# The stable ids of the claims the report must settle, as claims.yml lists them (one place: a new experiment adds
# its claim there and nowhere else); they must all be in the book.
IDS = [c.id for c in load_claims()]


def by_id(report):
    return {v.claim.id: v for v in verdicts(report)}


def test_every_claim_is_listed_once_with_a_stable_id_and_every_rule_settles_one():
    import re

    from fwbench.report.claims import check_rules, rules

    assert len(IDS) == len(set(IDS)) and all(re.fullmatch(r"[A-Z][0-9]+", i) for i in IDS)
    check_rules()  # a rule whose id is not listed is an error, not a silent gap
    assert set(rules()) <= set(IDS)


def test_all_some_none():
    cells = lambda *v: pd.DataFrame({"verdict": list(v)})
    assert all_some_none(cells("faster", "faster"), "faster") == "supported"
    assert all_some_none(cells("slower", "no clear difference"), "faster") == "contradicted"
    assert all_some_none(cells("faster", "slower"), "faster") == "mixed"


FAST_GRAPHS = {("torch", "eager"): 0.010, ("torch", "torch.compile"): 0.005,
               ("tensorflow", "eager"): 0.013, ("tensorflow", "tf.function"): 0.010,
               ("tensorflow", "tf.function+xla"): 0.008, ("jax", "eager"): 0.030, ("jax", "jax.jit"): 0.004}


def report_of(make_store, times, workloads=("mlp", "cnn"), **kwargs):
    """Two workloads by default: a verdict needs three decided cells (it must survive leaving one out), and one
    workload gives each compiled mode only two (train and infer)."""
    docs = [doc for w in workloads for doc in evg_runs("r1", times, workload=w, **kwargs)]
    return Report(make_store([("r1", docs)]).load()[0])


def test_rules_when_every_graph_mode_is_faster(make_store):
    v = by_id(report_of(make_store, FAST_GRAPHS))
    assert v["E1"].verdict == "supported"
    assert v["E4"].verdict == "supported"
    assert v["E2"].verdict == "supported"  # torch eager 1.3x faster than tensorflow eager: "a little"
    assert v["E5"].verdict == "supported"  # jax.jit is the fastest compiled mode
    assert v["E6"].verdict == "supported"
    assert v["E1"].runs == ["r1"] and "speedup" in v["E1"].evidence
    assert len(v["E1"].cells) == 4 * 2 * 2  # four compiled variants x two phases x two workloads
    assert "16 cell(s) support the claim, 0 contradict it, 0 are inconclusive" in v["E1"].evidence
    assert "±5%" in v["E1"].rule and "Judged on CPU data only" in v["E6"].evidence
    assert v["E1"].cells["paired"].all()  # eager and compiled of one framework share their processes


def test_rules_when_compiling_never_helps(make_store):
    times = {k: (0.010 if k[1] == "eager" else 0.020) for k in FAST_GRAPHS}
    v = by_id(report_of(make_store, times))
    assert v["E1"].verdict == "contradicted"
    assert v["E4"].verdict == "contradicted"
    assert "break-even: does not pay off" in v["E4"].evidence  # compiled steps are slower: it never comes
    assert v["E2"].verdict == "contradicted"  # equal eager times: PyTorch is not faster


def test_a_lot_faster_is_not_a_little_faster(make_store):
    times = dict(FAST_GRAPHS)
    times[("tensorflow", "eager")] = 0.050  # torch eager 5x faster
    e2 = by_id(report_of(make_store, times))["E2"]
    assert e2.verdict == "contradicted"
    # The one-line reason says which way: far faster, not slower.
    assert f'more than the {E2_LITTLE_MAX:g}x that "a little" allows' in because(e2)


def test_a_slower_pytorch_contradicts_without_the_far_faster_wording(make_store):
    times = dict(FAST_GRAPHS)
    times[("tensorflow", "eager")] = 0.005  # torch eager 2x slower
    e2 = by_id(report_of(make_store, times))["E2"]
    assert e2.verdict == "contradicted" and "a little" not in because(e2)
    assert "0.50x as fast as tensorflow eager" in because(e2)


def test_rules_mixed(make_store):
    times = dict(FAST_GRAPHS)
    times[("torch", "torch.compile")] = 0.020  # slower than torch eager
    times[("jax", "jax.jit")] = 0.050          # far slower than the others' compiled modes
    v = by_id(report_of(make_store, times))
    assert v["E1"].verdict == "mixed"  # 8 of 16: torch.compile and jax.jit slower than their eager modes
    assert "Exceptions" not in v["E1"].evidence  # a mixed verdict has no minority side to name
    assert v["E4"].verdict == "contradicted"
    assert v["E5"].verdict == "contradicted"


def test_most_but_not_all_supporting_names_the_exceptions(make_store):
    times = dict(FAST_GRAPHS)
    times[("torch", "torch.compile")] = 0.020  # slower than torch eager: 4 of 16 cells contradict E1
    v = by_id(report_of(make_store, times))
    assert v["E1"].verdict == "supported with exceptions"
    assert "Exceptions (4, cells that contradict the claim)" in v["E1"].evidence
    assert v["E1"].evidence.count("torch torch.compile vs eager") == 4 + 4  # named as exceptions, then listed


def test_equal_times_are_equivalent_not_faster(make_store):
    times = {k: 0.010 for k in FAST_GRAPHS}
    v = by_id(report_of(make_store, times, within=0.01))
    assert set(v["E1"].cells["verdict"]) == {"equivalent"}
    assert v["E1"].verdict == "contradicted"  # no gain from compiling, for certain


def test_noisy_processes_give_inconclusive_cells_that_never_vote(make_store):
    # A/A in every cell: identical times, 20% between-process spread, two processes per cell.
    times = {k: 0.010 for k in FAST_GRAPHS}
    v = by_id(report_of(make_store, times, processes=2, between=0.2, within=0.02))
    for cid in ("E2", "E3", "E5"):  # across frameworks: separate processes, nothing shared
        assert v[cid].verdict == "inconclusive", cid
        assert set(v[cid].cells["role"]) == {"inconclusive"}
        assert "do not vote" in v[cid].evidence


def test_a_cell_that_failed_a_check_never_votes(make_store):
    v = by_id(report_of(make_store, FAST_GRAPHS, failed_check="torch.compile"))
    assert v["E4"].verdict == "not yet measured"
    assert "torch.compile" not in set(v["E1"].cells["variant"])
    report = report_of(make_store, FAST_GRAPHS, failed_check="torch.compile")
    excluded = report.excluded()
    assert set(excluded["variant"]) == {"torch.compile"}
    assert excluded["reason"].str.contains("first_step_loss_vs_reference").all()


def test_an_unstable_series_is_left_out_and_listed(make_store):
    report = report_of(make_store, FAST_GRAPHS, unstable="jax.jit")
    assert "jax.jit" not in set(report.comparisons()["variant"])
    assert report.excluded()["reason"].str.startswith("unstable series").all()


def test_cells_with_different_parameters_never_pool(make_store):
    a = evg_runs("r1", {("torch", "eager"): 0.01, ("torch", "torch.compile"): 0.005})
    b = evg_runs("r2", {("torch", "eager"): 0.01, ("torch", "torch.compile"): 0.005},
                 params={"batch_size": 32, "infer_batch_sizes": [1, 32]}, seed=9)
    report = Report(make_store([("r1", a), ("r2", b)]).load()[0])
    cells = report.cell_table()
    train = cells[(cells.variant == "eager") & (cells.phase == "train")]
    assert len(train) == 2 and set(train["n_processes"]) == {4}  # two cells of four processes, not one of eight
    assert train["params_digest"].nunique() == 2
    # Budget-only parameters do not split a cell: the same measurement, measured more or less precisely.
    c = evg_runs("r3", {("torch", "eager"): 0.01}, params={"batch_size": 32, "infer_batch_sizes": [32], "max_time_s": 9.0})
    from fwbench.experiments import params_digest
    assert params_digest(c[0]) == params_digest(a[0])


def test_aa_controls_measure_the_harness_false_positive_rate(make_store):
    report = report_of(make_store, FAST_GRAPHS, twin=True, processes=4)
    aa = report.aa_controls()
    assert set(aa["kind"]) == {"in-process twin", "between processes"}
    assert (aa[aa.kind == "in-process twin"]["paired"]).all()
    rates = report.false_positive_rates()
    assert set(rates["kind"]) == {"in-process twin", "between processes"}
    assert (rates["false_positive_rate"] <= 0.2).all() and (rates["controls"] > 0).all()


def test_empty_store_and_untestable_claims(tmp_path):
    v = by_id(Report(runs=[]))
    assert v["E1"].verdict == "not yet measured"
    assert v["H1"].verdict == "not testable here" and v["H2"].verdict == "not testable here"
    assert v["D1"].verdict == "not yet measured"
    assert {x.verdict for x in v.values()} <= set(VERDICTS)


# ---- quorum, scale, corrections (issue 35) ------------------------------------------------------------------

from fwbench.report.claims import DIRECTION, quorum, scale, tally  # noqa: E402


def _roles(supports=0, contradicts=0, inconclusive=0):
    return pd.DataFrame({"role": ["supports"] * supports + ["contradicts"] * contradicts
                                 + ["inconclusive"] * inconclusive})


def test_one_decided_cell_among_inconclusive_ones_decides_nothing():
    assert tally(_roles(supports=1, inconclusive=3))[0] == "inconclusive"
    assert tally(_roles(contradicts=1, inconclusive=5))[0] == "inconclusive"
    assert tally(_roles(supports=3, inconclusive=1))[0] == "supported"
    assert tally(_roles(supports=3, inconclusive=4))[0] == "inconclusive"  # three, but fewer than half
    # It must survive leaving any one decided cell out: two decided cells never carry a verdict.
    assert tally(_roles(supports=2, inconclusive=2))[0] == "inconclusive"
    assert tally(_roles(supports=1))[0] == "inconclusive"
    assert quorum(1) == 2 and quorum(4) == 2 and quorum(27) == 14


def test_the_scale_separates_nearly_all_from_half():
    assert scale(26, 1, 27) == "supported"          # 96%, and 25 of 26 with one left out: the exception named
    assert scale(4, 4, 8) == "mixed"
    assert scale(12, 4, 16) == "supported with exceptions"
    assert scale(1, 19, 20) == "contradicted"
    assert scale(2, 6, 8) == "contradicted with exceptions"
    assert scale(0, 0, 0) == "not yet measured"
    assert {scale(s, c, s + c + 1) for s in range(12) for c in range(12)} <= set(VERDICTS)


def test_one_marginal_cell_moving_between_decided_and_inconclusive_keeps_the_verdict():
    # The run-to-run flips seen: 18 of 18 decided vs 20 of 21, both on 21 cells.
    assert scale(18, 0, 21) == scale(20, 1, 21) == "supported"
    for supports in range(10, 30):  # one contradicting cell appearing or going inconclusive, many cells
        assert scale(supports, 1, supports + 2) == scale(supports, 0, supports + 2) == "supported"
    # Few cells: E5 came out 2/1/1 in one run and 2/2/0 in the next, E3 0/2/2 and 1/2/1. Each hinges on one cell
    # (leaving it out changes the direction or misses the quorum), so each reads inconclusive, in both runs.
    assert scale(2, 1, 4) == scale(2, 2, 4) == "inconclusive"
    assert scale(0, 2, 4) == scale(1, 2, 4) == "inconclusive"
    # A verdict that does survive one cell left out is unchanged by it.
    assert scale(3, 1, 4) == scale(3, 1, 5) == "supported with exceptions"
    # Seeded: a random cell of a random vote moved between decided and inconclusive never flips the direction.
    import random

    rng = random.Random(5)
    for _ in range(2000):
        s, c, i = rng.randrange(0, 15), rng.randrange(0, 15), rng.randrange(0, 5)
        cells = s + c + i
        a = scale(s, c, cells)
        moved = scale(s - 1, c, cells) if s and rng.random() < 0.5 else scale(s, max(c - 1, 0), cells)
        directions = {DIRECTION.get(w) for w in (a, moved) if w not in ("inconclusive", "not yet measured")}
        assert len(directions) <= 1, (s, c, i, a, moved)


def test_any_of_k_rules_are_holm_corrected_and_show_the_deciding_row():
    from fwbench.experiments.eager_vs_graph.claims import e3_role, e5_role

    # Two TensorFlow modes each "faster" at 95% alone (p 0.02 < 0.025), but not once corrected for two chances.
    g = pd.DataFrame({"verdict": ["faster", "faster"], "p_faster": [0.02, 0.02], "p_slower": [1.0, 1.0]})
    assert e3_role(g) == "inconclusive"
    assert e3_role(g.assign(p_faster=[0.001, 0.4])) == "supports"
    assert e3_role(g.assign(verdict=["slower", "equivalent"], p_faster=[1.0, 0.9])) == "contradicts"
    # jax.jit: slower than one of three rivals only uncorrected -> no verdict; clearly slower than one -> contradicts.
    h = pd.DataFrame({"verdict": ["slower", "equivalent", "faster"], "p_slower": [0.015, 0.5, 1.0],
                      "p_faster": [1.0, 0.5, 0.0]})
    assert e5_role(h) == "inconclusive"
    assert e5_role(h.assign(p_slower=[0.001, 0.5, 1.0])) == "contradicts"
    assert e5_role(h.assign(verdict=["equivalent", "equivalent", "faster"], p_slower=[0.3, 0.5, 1.0])) == "supports"


def test_e3_shows_the_mode_that_decided_the_cell(make_store):
    times = dict(FAST_GRAPHS)
    times[("tensorflow", "tf.function")] = 0.0040  # faster than torch.compile (0.005) ...
    times[("tensorflow", "tf.function+xla")] = 0.0039  # ... and xla lowest of all, but only just: both decide
    report = report_of(make_store, times)
    v = by_id(report)["E3"]
    pairs = pd.concat([report.cross_framework(("tensorflow", m), [("torch", "torch.compile")])
                       for m in ("tf.function", "tf.function+xla")], ignore_index=True)
    assert not v.cells.empty and (v.cells["role"] == "supports").any()
    for _, row in v.cells.iterrows():
        mine = pairs[(pairs["workload"] == row["workload"]) & (pairs["phase"] == row["phase"])]
        assert len(mine) == 2
        # The row shown is the comparison with the smallest p-value of its cell: the one that decided it.
        assert row["baseline"] == mine.loc[mine["p_faster"].idxmin(), "baseline"]


def test_e2_shows_its_threshold_sensitivity(make_store):
    v = by_id(report_of(make_store, FAST_GRAPHS))["E2"]
    assert "Sensitivity to the threshold" in v.evidence and "1.25x" in v.evidence and "2x" in v.evidence
    assert "Why 1.5x" in v.rule


def test_a_verdict_is_shown_with_its_unstable_series_kept_in(make_store):
    report = report_of(make_store, FAST_GRAPHS, unstable="jax.jit")
    v = by_id(report)
    assert "With the series stored as unstable kept in" in v["E1"].evidence
    bad, total = report.unstable_share()
    assert 0 < bad < total
    assert "jax.jit" in set(report.with_unstable().comparisons()["variant"])


def test_e3_without_the_size_sweep_says_its_second_half_is_not_tested(make_store):
    from fwbench.report.findings import because

    v = by_id(report_of(make_store, FAST_GRAPHS))
    assert v["E3"].verdict not in ("not yet measured",)
    assert "not tested by this profile" in v["E3"].evidence
    assert because(v["E3"]).startswith('The "especially for large models" half is not tested by this profile')
