"""Statistics on synthetic samples whose answers are known by construction."""

import math

import numpy as np
import pytest

from fwbench import stats


def test_summary_of_known_data():
    s = stats.summarize([1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert s.median == 5 and s.q25 == 3 and s.q75 == 7 and s.iqr == 4
    assert s.min == 1 and s.max == 9 and s.n == 9
    assert s.ci_low <= s.median <= s.ci_high
    assert s.cv == pytest.approx(np.std(np.arange(1, 10), ddof=1) / 5)


def test_bootstrap_is_deterministic_and_narrows_with_more_samples():
    rng = np.random.default_rng(1)
    small, large = rng.normal(1.0, 0.1, 20), rng.normal(1.0, 0.1, 2000)
    assert stats.bootstrap_ci(small) == stats.bootstrap_ci(small)
    lo_s, hi_s = stats.bootstrap_ci(small)
    lo_l, hi_l = stats.bootstrap_ci(large)
    assert hi_l - lo_l < hi_s - lo_s
    assert lo_l < 1.0 < hi_l


def test_ratio_ci_finds_a_twofold_speedup_and_no_speedup():
    rng = np.random.default_rng(2)
    slow, fast = rng.normal(2.0, 0.05, 200), rng.normal(1.0, 0.025, 200)
    ratio, lo, hi = stats.ratio_ci(slow, fast)
    assert lo < ratio < hi and lo > 1.8 and hi < 2.2
    same_a, same_b = rng.normal(1.0, 0.05, 200), rng.normal(1.0, 0.05, 200)
    _, lo, hi = stats.ratio_ci(same_a, same_b)
    assert lo < 1.0 < hi


def test_break_even():
    # eager: 1 s first + 1 s/step; graph: 11 s first + 0.5 s/step -> graph total is lower from step 21 on
    n = stats.break_even_steps(1.0, 1.0, 11.0, 0.5)
    assert n == 21
    assert 1.0 + (n - 1) * 1.0 >= 11.0 + (n - 1) * 0.5
    assert stats.break_even_steps(1.0, 1.0, 5.0, 1.0) == math.inf
    assert stats.break_even_steps(2.0, 1.0, 1.0, 1.0) == 1.0  # cheaper first call, equal steps
    assert stats.break_even_steps(2.0, 1.0, 1.0, 2.0) == math.inf  # ahead at first, behind for good
    assert stats.break_even_steps(1.0, 1.0, 1.0, 2.0) == math.inf


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [[1.0, 2.0]]])
def test_rejects_bad_samples(bad):
    with pytest.raises(ValueError):
        stats.summarize(bad)
