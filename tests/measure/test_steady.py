"""Steady-state detection on planted series: a level shift and a series that never settles are caught."""

import numpy as np

from fwbench.measure.steady import SETTLE_TOL, SteadyConfig, level_shift, settled


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
