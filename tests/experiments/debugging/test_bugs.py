"""The bug catalogue: every bug has a planted line, inputs and a judgement; the intended results are what they say."""

import inspect

import numpy as np
import pytest

from fwbench.experiments.debugging.bugs import BUGS, CHECKS, IDEALS, planted_line


def test_catalogue_covers_the_ten_bugs_of_the_issue():
    assert len(BUGS) >= 10
    for name in [
        "shape",
        "dtype",
        "nan_loss",
        "broadcast",
        "index",
        "control_flow",
        "print",
        "framework_print",
        "breakpoint",
        "retrace",
        "side_effect",
    ]:
        assert name in BUGS


@pytest.mark.parametrize("name", list(BUGS))
def test_each_bug_is_complete(name):
    bug = BUGS[name]
    assert bug.check in CHECKS and bug.ideal in IDEALS
    path, line = bug.planted
    assert (
        "# planted" in inspect.getsourcelines(bug.fn)[0][0] or "# planted" in open(path).read().splitlines()[line - 1]
    )
    calls = bug.calls()
    assert calls and all(isinstance(c, tuple) for c in calls)
    if bug.check in ("value", "retrace", "print", "breakpoint", "side_effect"):
        assert bug.intended is not None
        for args in calls:
            assert np.all(np.isfinite(bug.intended(*args)))
    if bug.check in ("print", "side_effect"):
        values = [float(bug.inspect_value(*args)) for args in calls]
        assert len(set(values)) == len(values)  # distinct, so one print cannot stand for several


def test_planted_line_is_found_in_a_helper():
    path, line = planted_line(BUGS["nan_loss"].fn)
    assert "sqrt" in open(path).read().splitlines()[line - 1]


def test_planted_line_missing_is_an_error():
    with pytest.raises(ValueError, match="planted"):
        planted_line(lambda: 0)


def test_the_planted_bugs_are_bugs_in_numpy_too():
    x, w = BUGS["broadcast"].calls()[0][:2]
    y = BUGS["broadcast"].calls()[0][2]
    assert ((x @ w) - y).shape == (4, 4)  # the silent broadcast
    with pytest.raises(ValueError):
        np.matmul(*BUGS["shape"].calls()[0])
    table, ids = BUGS["index"].calls()[0]
    assert ids.max() >= len(table)
