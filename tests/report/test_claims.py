"""The claims engine: claims.yml, the rules each experiment registers, quorum and scale (on counts known by
construction). Each experiment's rules are tested in tests/experiments/<experiment>/test_claims.py."""

import pandas as pd

from fwbench.report.claims import VERDICTS, all_some_none, load_claims, verdicts
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


def test_an_empty_store_measures_nothing_and_claims_needing_hardware_say_so():
    from fwbench.report.claims import rules

    v = by_id(Report(runs=[]))
    assert {x.verdict for x in v.values()} <= set(VERDICTS)
    for claim in load_claims():
        if claim.id in rules():
            assert v[claim.id].verdict == "not yet measured", claim.id
        elif claim.hardware:
            assert v[claim.id].verdict == "not testable here", claim.id
        else:
            assert v[claim.id].verdict == "not yet measured", claim.id


# ---- quorum, scale, corrections (issue 35) ------------------------------------------------------------------

from fwbench.report.claims import DIRECTION, quorum, scale, tally  # noqa: E402


def _roles(supports=0, contradicts=0, inconclusive=0):
    return pd.DataFrame(
        {"role": ["supports"] * supports + ["contradicts"] * contradicts + ["inconclusive"] * inconclusive}
    )


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
    assert scale(26, 1, 27) == "supported"  # 96%, and 25 of 26 with one left out: the exception named
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


# ---- the rerun check (a verdict must reproduce) -----------------------------------------------------------------


def test_a_verdict_reads_as_the_strongest_word_that_reproduces():
    from fwbench.report.claims import reproduced

    # At least 95% (REPRODUCE_MIN) of the reruns give the rule's word: it stands.
    assert reproduced("supported", {"supported": 38, "supported with exceptions": 2}) == ("supported", (38, 40))
    # The word flips between reruns but the direction holds: the weaker word of that direction, which they all give
    # or better (the quick profile's E1: 20 of 22 cells one run, 18 of 20 the next; "supported" repeated in 37 of 40
    # reruns of the first, and the second read "supported with exceptions").
    assert reproduced("supported", {"supported": 37, "supported with exceptions": 3}) == (
        "supported with exceptions",
        (40, 40),
    )
    assert reproduced("contradicted", {"contradicted": 20, "contradicted with exceptions": 18, "mixed": 2}) == (
        "contradicted with exceptions",
        (38, 40),
    )
    # Neither the word nor its weaker one in 95%: inconclusive, with how often the rule's own word came back.
    assert reproduced("contradicted", {"contradicted": 20, "contradicted with exceptions": 17, "mixed": 3}) == (
        "inconclusive",
        (20, 40),
    )
    # Direction not held: inconclusive, with how often the rule's own word came back.
    assert reproduced("supported with exceptions", {"supported with exceptions": 20, "mixed": 20}) == (
        "inconclusive",
        (20, 40),
    )
    assert reproduced("mixed", {"mixed": 30, "inconclusive": 10}) == ("inconclusive", (30, 40))


def test_a_rerun_loses_comparisons_as_often_as_the_store_lost_series(make_store):
    import numpy as np

    from fwbench.report.claims import loss_rate, redrawn
    from synthetic.eager_vs_graph import evg_runs

    claim = {c.id: c for c in load_claims()}["E1"]
    times = {("torch", "eager"): 0.010, ("torch", "torch.compile"): 0.005}
    clean = Report(make_store([("r1", evg_runs("r1", times))]).load()[0])
    assert loss_rate(claim, clean) == 0.0
    # A second run into the same store, on cnn, whose first process stored torch.compile's two series (train,
    # infer) as unstable: 2 of the store's 32 timed series (2 runs x 4 processes x 2 variants x 2 phases), and a
    # comparison needs both of its series.
    shaky = evg_runs("r2", times, workload="cnn")
    shaky[0] = evg_runs("r2", times, workload="cnn", unstable="torch.compile")[0]
    lossy = Report(make_store([("r2", shaky)]).load()[0])
    assert abs(loss_rate(claim, lossy) - (1 - (1 - 2 / 32) ** 2)) < 1e-12
    rows = pd.DataFrame({"log_ratio": [0.7] * 400, "se": [0.01] * 400, "df": [3.0] * 400})
    rows = rows.assign(**{k: 0.0 for k in ("speedup", "speedup_ci_low", "speedup_ci_high", "p_faster", "p_slower")})
    kept = redrawn(rows.assign(verdict=""), np.random.default_rng(2), lost=0.25)
    gone = kept["verdict"] == "inconclusive"
    assert 0.15 < gone.mean() < 0.35 and (kept.loc[gone, "speedup_ci_high"] == np.inf).all()
    assert (kept.loc[~gone, "verdict"] == "faster").all() and (kept.loc[gone, "p_faster"] == 1.0).all()


def test_a_rerun_loses_processes_so_a_comparison_of_several_narrows_less_than_it_disappears():
    import numpy as np
    from scipy.stats import binom

    from fwbench.report.claims import redrawn, started_for

    n, lost, size = 4, 0.25, 4000
    rows = pd.DataFrame({"log_ratio": [0.7] * size, "se": [0.05] * size, "df": [3.0] * size})
    rows = rows.assign(**{k: 0.0 for k in ("speedup", "speedup_ci_low", "speedup_ci_high", "p_faster", "p_slower")})
    rows = rows.assign(verdict="", n_baseline=n, n_candidate=n, paired=True)
    drawn = redrawn(rows, np.random.default_rng(4), lost=lost)
    gone = drawn["speedup_ci_high"] == np.inf
    # The run kept 4 processes losing a quarter: it started about 5 (the runner replaced what it lost). A rerun
    # starts 5 too and keeps each with probability 3/4, at most 4: lost only when fewer than two survive (about 2%,
    # not the 25% of one process, nor the 5% of losing from the 4 kept).
    started = int(started_for(np.array([n]), lost)[0])
    assert started == 5
    want = binom.cdf(1, started, 1 - lost)
    assert abs(gone.mean() - want) < 4 * np.sqrt(want * (1 - want) / size)
    # A survivor with fewer processes has the wider interval: its mean squared standard error grows by the mean of
    # n / kept over survivors (kept of 2, 3, or 4 or more, capped at 4), against the measured one's without losses.
    kept = np.arange(2, started + 1)
    p = binom.pmf(kept, started, 1 - lost)
    widening = float((p * n / np.minimum(kept, n)).sum() / p.sum())
    quiet = redrawn(rows, np.random.default_rng(4), lost=0.0)
    assert abs(np.mean(drawn.loc[~gone, "se"] ** 2) / 0.05**2 / widening - 1) < 0.1
    assert abs(np.mean(quiet["se"] ** 2) / 0.05**2 - 1) < 0.1 and not (quiet["speedup_ci_high"] == np.inf).any()


def test_a_run_starts_what_it_needs_to_keep_its_count():
    import numpy as np

    from fwbench.report.claims import started_for

    assert started_for(np.array([0, 1, 3, 6]), 0.0).tolist() == [0, 1, 3, 6]
    assert started_for(np.array([3, 6]), 0.5).tolist() == [6, 12]
    assert started_for(np.array([4]), 0.38).tolist() == [6]  # 4 / 0.62 = 6.45
    assert started_for(np.array([2]), 1.0).tolist() == [2]  # nothing survives: no count to scale
