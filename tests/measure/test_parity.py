"""Parity of exported outputs against the source, and the portability classes, on small arrays we control."""

import numpy as np
import pytest

from fwbench.measure.parity import CLASSES, Tolerance, classify, compare


def test_identical_outputs_match_with_zero_error():
    a = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32)
    got = compare(a, a.copy())
    assert got["passed"] and got["max_abs_err"] == 0.0 and got["max_rel_err"] == 0.0


def test_errors_within_atol_plus_rtol_times_source_pass():
    want = np.array([100.0, 0.0])
    tol = Tolerance(atol=1e-5, rtol=1e-4)
    assert compare(want + [0.009, 0.0], want, tol)["passed"]  # 0.009 <= 1e-5 + 1e-4 * 100
    assert not compare(want + [0.011, 0.0], want, tol)["passed"]  # 0.011 > 0.01001
    assert not compare(want + [0.0, 2e-5], want, tol)["passed"]  # near zero only atol counts


def test_max_errors_are_the_largest_elementwise():
    want = np.array([1.0, 10.0, 1e-9])
    got = want + np.array([0.5, 1.0, 1e-9])
    r = compare(got, want, Tolerance(atol=1e-5, rtol=1e-4))
    assert r["max_abs_err"] == pytest.approx(1.0)
    # relative: 0.5 / 1, 1 / 10, and the near-zero element divided by the floor atol/rtol = 0.1
    assert r["max_rel_err"] == pytest.approx(0.5)


def test_shape_mismatch_and_non_finite_outputs_fail():
    want = np.zeros((2, 3))
    assert compare(np.zeros((3, 2)), want) == {
        "max_abs_err": None,
        "max_rel_err": None,
        "passed": False,
        "detail": "shape (3, 2) != (2, 3)",
    }
    bad = np.zeros((2, 3))
    bad[0, 0] = np.nan
    assert not compare(bad, want)["passed"]


def test_negative_tolerance_is_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        Tolerance(atol=-1.0)


@pytest.mark.parametrize(
    "exported, loaded, ran, passed, expected",
    [
        (False, False, False, None, "fails"),
        (True, False, False, None, "fails"),
        (True, True, False, None, "fails"),
        (True, True, True, False, "differs"),
        (True, True, True, True, "matches"),
    ],
)
def test_classify(exported, loaded, ran, passed, expected):
    assert classify(exported, loaded, ran, passed) == expected
    assert expected in CLASSES
