"""The store's check of a porting job's attempts: plain names, known outcomes, steps as text."""

import pytest

from fwbench.errors import StoreError
from fwbench.experiments.porting.payload import check_attempts

GOOD = {
    "layer": "dense",
    "source": "torch",
    "target": "jax",
    "route": "weights",
    "outcome": "matches",
    "steps": ["transpose: kernel"],
    "naive": {"outcome": "silent-wrong"},
    "lines": 1,
    "max_abs_err": 1e-7,
}


def names(path, where, value):
    if "<" in value:
        raise StoreError(f"{path}: {where} is not a plain name")


def test_a_good_attempt_passes():
    check_attempts([GOOD], "job.json", names)


@pytest.mark.parametrize(
    "bad, says",
    [
        ({"outcome": "great"}, "outcome"),
        ({"target": None}, "lacks"),
        ({"steps": "transpose"}, "steps"),
        ({"naive": {"outcome": "fine"}}, "naive"),
        ({"lines": "many"}, "lines"),
        ({"layer": "<script>"}, "plain name"),
    ],
)
def test_a_bad_attempt_is_refused_naming_the_field(bad, says):
    with pytest.raises(StoreError, match=says):
        check_attempts([{**GOOD, **bad}], "job.json", names)


def test_not_a_list_is_refused():
    with pytest.raises(StoreError, match="not a list"):
        check_attempts({"layer": "dense"}, "job.json", names)
