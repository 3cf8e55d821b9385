"""Group-sequential looks: the boundary holds its level over every look, on seeded synthetic processes."""

import numpy as np
import pytest

from fwbench.measure import sequential, stats


@pytest.mark.parametrize("k, published", [(1, 1.960), (2, 1.977), (3, 2.004), (4, 2.024), (5, 2.040)])
def test_equally_spaced_looks_give_the_published_obrien_fleming_constants(k, published):
    # Jennison & Turnbull, Group Sequential Methods (2000), table 2.3: C_B(K, alpha = 0.05).
    assert sequential.boundary_constant(tuple(range(1, k + 1))) == pytest.approx(published, abs=0.01)


def test_levels_are_strict_at_first_and_near_the_fixed_design_at_the_cap():
    d = sequential.Design(3, 8)
    levels = [d.look_level(n) for n in d.looks]
    assert levels == sorted(levels, reverse=True) and levels[0] > 0.999 and 0.95 < levels[-1] < 0.965
    assert d.look_level(2) == levels[0] and d.look_level(20) == levels[-1]
    with pytest.raises(ValueError, match="start"):
        sequential.Design(1, 4)


def _process(rng, ratio: float, spread: float, steps: int = 5) -> list:
    return list(ratio * np.exp(rng.normal(0, spread)) * np.exp(0.01 * rng.standard_normal(steps)))


def _run(rng, ratio: float, spread: float, design, sequential_rule: bool = True):
    """Unpaired processes added one per side per look until decided or the cap; (verdict, processes used)."""
    a = {f"a{i}": _process(rng, 1.0, spread) for i in range(design.start)}
    b = {f"b{i}": _process(rng, ratio, spread) for i in range(design.start)}
    while True:
        c = sequential.compare_at(b, a, design) if sequential_rule else stats.compare(b, a)
        n = len(a)
        if sequential.decided(c) or n >= design.cap:
            return c.verdict, n
        a[f"a{n}"], b[f"b{n}"] = _process(rng, 1.0, spread), _process(rng, ratio, spread)


def test_stopping_when_decided_keeps_the_false_difference_rate_which_naive_looks_inflate():
    design = sequential.Design(3, 8)
    rng = np.random.default_rng(2026)
    runs = 800
    seq = [_run(rng, 1.0, 0.06, design)[0] for _ in range(runs)]
    naive = [_run(rng, 1.0, 0.06, design, sequential_rule=False)[0] for _ in range(runs)]
    false_seq = np.mean([v in ("faster", "slower") for v in seq])
    false_naive = np.mean([v in ("faster", "slower") for v in naive])
    assert stats.binomial_upper(int(false_seq * runs), runs) < 0.05
    assert false_naive > false_seq  # every look at 95% is another chance to call a difference


def test_a_large_effect_stops_at_the_first_look_and_a_tie_of_quiet_processes_before_the_cap():
    design = sequential.Design(3, 8)
    rng = np.random.default_rng(7)
    verdict, used = _run(rng, 40.0, 0.05, design)  # jax.jit's 40x on rnn
    assert verdict == "faster" and used == 3
    ties = [_run(rng, 1.0, 0.005, design) for _ in range(50)]
    assert all(v == "equivalent" for v, _ in ties) and np.mean([n for _, n in ties]) < design.cap


def test_futility_stops_noisy_ties_early_without_calling_a_difference():
    design = sequential.Design(3, 8)
    rng = np.random.default_rng(99)

    def run(ratio, spread):
        a = {f"a{i}": _process(rng, 1.0, spread) for i in range(3)}
        b = {f"b{i}": _process(rng, ratio, spread) for i in range(3)}
        while True:
            c = sequential.compare_at(b, a, design)
            if sequential.decided(c) or sequential.futile(c, design):
                return c.verdict, len(a)
            a[f"a{len(a)}"], b[f"b{len(b)}"] = _process(rng, 1.0, spread), _process(rng, ratio, spread)

    ties = [run(1.0, 0.08) for _ in range(300)]  # too noisy for 8 processes to show equivalence
    wrong = sum(v in ("faster", "slower") for v, _ in ties)
    assert np.mean([n for _, n in ties]) < 5.5 and stats.binomial_upper(wrong, len(ties)) < 0.05
    big = [run(1.5, 0.08) for _ in range(100)]  # a real 1.5x difference is still found
    assert np.mean([v == "faster" for v, _ in big]) > 0.9
    # Three processes estimate their own spread too poorly to give up on; the cap is always the end.
    c = sequential.compare_at({"a": [1.0], "b": [1.1], "c": [0.9]}, {"x": [1.0], "y": [1.2], "z": [0.8]}, design)
    assert not sequential.futile(c, design)
    assert sequential.futile(
        sequential.compare_at(
            {f"a{i}": [1 + i / 10] for i in range(8)}, {f"b{i}": [1 + i / 9] for i in range(8)}, design
        ),
        design,
    )


def test_a_rules_own_bound_stops_when_the_interval_leaves_it_and_keeps_the_error_rate_at_the_bound():
    # X4 reads a throughput ratio against 0.9: a true ratio on the bound itself may be called either side only as
    # often as the level allows; a true 0.6 or 1.2 is called on its side, before the cap on average.
    design = sequential.Design(3, 5)
    rng = np.random.default_rng(41)

    def run(ratio, spread, bound=0.9):
        a = {f"a{i}": _process(rng, 1.0, spread) for i in range(3)}
        b = {f"b{i}": _process(rng, ratio, spread) for i in range(3)}
        while True:
            c = sequential.compare_at(b, a, design)
            if sequential.decided_beside(c, bound):
                return ("at or above" if c.ci_low >= bound else "below"), len(a)
            if sequential.futile_beside(c, design, bound):
                return "undecided", len(a)
            a[f"a{len(a)}"], b[f"b{len(b)}"] = _process(rng, 1.0, spread), _process(rng, ratio, spread)

    on_bound = [run(0.9, 0.1) for _ in range(400)]
    called = sum(v != "undecided" for v, _ in on_bound)
    assert stats.binomial_upper(called, len(on_bound)) < 0.1 and max(n for _, n in on_bound) <= design.cap
    for ratio, side in ((0.6, "below"), (1.2, "at or above")):
        runs = [run(ratio, 0.05) for _ in range(50)]
        assert all(v == side for v, _ in runs), ratio
        assert np.mean([n for _, n in runs]) < 4, ratio
