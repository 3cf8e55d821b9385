"""Steady-state detection on planted series: a level shift and a series that never settles are caught."""

import numpy as np

from fwbench.measure.steady import SETTLE_TOL, SteadyConfig, gross_shift, level_shift, settled


def test_a_steady_noisy_series_has_no_shift():
    rng = np.random.default_rng(0)
    for seed in range(20):
        x = 1e-3 * np.exp(np.random.default_rng(seed).normal(0, 0.1, 120))
        assert level_shift(x) is None
    assert rng is not None


def test_a_planted_level_shift_is_found_where_it_is():
    rng = np.random.default_rng(1)
    # The cold torch.compile process seen in the issue: fast steps, then every step ~100x slower.
    x = np.concatenate([1e-3 * np.exp(rng.normal(0, 0.05, 30)), 0.17 * np.exp(rng.normal(0, 0.05, 40))])
    shift = level_shift(x)
    assert shift is not None and shift.at == 30 and shift.factor > 50
    assert "level shift" in shift.describe()


def test_a_modest_shift_is_found_too():
    rng = np.random.default_rng(2)
    x = np.concatenate([1e-3 * np.exp(rng.normal(0, 0.03, 50)), 1.6e-3 * np.exp(rng.normal(0, 0.03, 50))])
    assert level_shift(x) is not None


def test_a_never_settling_series_is_caught():
    rng = np.random.default_rng(3)
    x = 1e-3 * np.linspace(3.0, 1.0, 80) * np.exp(rng.normal(0, 0.02, 80))  # still falling when timing starts
    assert level_shift(x) is not None
    blocks = [float(np.median(b)) for b in np.array_split(x, 16)]
    assert not settled(blocks)


def test_settled_needs_consecutive_agreeing_blocks():
    five = SteadyConfig()
    assert settled([5.0, 2.0, 1.0, 1.02, 0.99], five, [5] * 5)
    assert not settled([5.0, 2.0, 1.0, 1.5, 1.0], five, [5] * 5)
    # Creeping: every neighbour within the band, the three together are not.
    assert not settled([1.0, 1.0 + 0.6 * SETTLE_TOL, 1.0 + 1.2 * SETTLE_TOL], five, [5] * 3)
    assert not settled([1.0, 1.0], five, [5, 5])


def test_slow_steps_settle_over_enough_steps():
    # One step per block: three agreeing steps are not enough, six are.
    assert not settled([9.0, 1.0, 1.0, 1.0], SteadyConfig(), [1] * 4)
    assert settled([9.0] + [1.0] * 6, SteadyConfig(), [1] * 7)
    creeping = [1.05**k for k in range(10)]  # 5% per step: neighbours agree, six steps do not
    assert not settled(creeping, SteadyConfig(), [1] * 10)


#: A series the smoke run stored as steady (torch eager inference, batch 16, second process, under make test):
#: three steps of 0.21 ms, then the process was descheduled for whole 4 ms timer ticks on every step.
DESCHEDULED = [
    0.213,
    0.211,
    0.213,
    16.187,
    31.994,
    23.988,
    24.003,
    35.992,
    28.011,
    23.999,
    23.998,
    24.031,
    23.937,
    23.999,
    24.009,
    28.009,
]


def test_a_gross_shift_with_few_steps_before_it_is_found():
    x = np.array(DESCHEDULED) * 1e-3
    shift = level_shift(x, min_segment=5)
    # The fourth step (16 ms) is already below every later one: the most unlikely split is after it.
    assert shift is not None and shift.at == 4 and shift.factor > 50 and shift.p_value < 0.05
    # The same fast steps at the end, and a drop instead of a rise, are found alike.
    assert level_shift(x[::-1], min_segment=5).at == 12
    assert level_shift(1 / x, min_segment=5) is not None


def test_a_gross_shift_needs_separation_size_and_enough_steps():
    x = np.array(DESCHEDULED) * 1e-3
    two_fast = np.concatenate([x[:2], x[4:]])  # fewer fast steps than gross_min_segment
    assert level_shift(two_fast, min_segment=5) is None
    overlapping = x.copy()
    overlapping[10] = 0.2e-3  # one slow-side step as fast as the fast ones: the parts overlap
    assert level_shift(overlapping, min_segment=5) is None
    modest = np.array([1.0, 1.0, 1.0] + [3.0] * 13) * 1e-3  # separated, but 3x is below the gross factor
    assert level_shift(modest, min_segment=5) is None
    # Short steady series (the smoke's 10-16 steps), even with 30% noise, never show one.
    for seed in range(500):
        noisy = 1e-3 * np.exp(np.random.default_rng(seed).normal(0, 0.3, 16))
        assert gross_shift(noisy) is None, seed


def test_a_gross_shift_in_a_long_series_is_found_without_overflow():
    """C(n, k) for a few thousand steps is past a float's range: the chance is computed in logs (it raised)."""
    rng = np.random.default_rng(5)
    x = np.concatenate([2e-4 * np.exp(rng.normal(0, 0.05, 2500)), 2.4e-2 * np.exp(rng.normal(0, 0.05, 2500))])
    shift = gross_shift(x)
    assert shift is not None and shift.at == 2500 and shift.p_value == 0.0
    assert level_shift(x).at == 2500
    assert gross_shift(np.linspace(1, 10, 5000) * 1e-3) is not None  # a steady climb: separated everywhere
