"""The store's check of a job's `pipelines`."""

import pytest

from fwbench.errors import StoreError
from fwbench.experiments.input_pipeline.payload import check_pipelines


def names(path, where, value):
    assert isinstance(value, str)


GOOD = {"format": "npy-shards", "outcome": "ok", "workers": 2, "process": 0, "epoch_s": [0.5, 0.4]}


def test_good_attempts_pass():
    check_pipelines(
        [GOOD, {**GOOD, "outcome": "fails", "epoch_s": [], "error": {"type": "E", "message": "m"}}], "job.json", names
    )


@pytest.mark.parametrize(
    "bad",
    [
        {**GOOD, "outcome": "great"},
        {**GOOD, "workers": -1},
        {**GOOD, "process": True},
        {**GOOD, "epoch_s": [0.0]},
        {**GOOD, "epoch_s": "fast"},
        {**GOOD, "outcome": "fails"},
        "not a dict",
    ],
)
def test_bad_attempts_are_refused_naming_the_file(bad):
    with pytest.raises(StoreError, match="job.json"):
        check_pipelines([bad], "job.json", names)
    with pytest.raises(StoreError, match="not a list"):
        check_pipelines({}, "job.json", names)
