"""The store's check of an ergonomics job's `program` entry."""

import pytest

from fwbench.errors import StoreError
from fwbench.experiments.ergonomics.payload import check_program
from fwbench.store.store import check_name

GOOD = {
    "file": "experiments/ergonomics/programs/pytorch.py",
    "api_names": ["torch.nn.Conv2d"],
    "concepts": ["train/eval mode"],
    "train_loss": [2.5],
    "test_loss": [2.4],
    "error": None,
}


def test_a_good_entry_passes():
    check_program(GOOD, "job.json", check_name)


@pytest.mark.parametrize(
    "bad",
    [
        "not an object",
        {**GOOD, "file": 3},
        {**GOOD, "api_names": ["<script>"]},
        {**GOOD, "concepts": "x"},
        {**GOOD, "train_loss": ["2.5"]},
        {**GOOD, "test_loss": [True]},
        {**GOOD, "error": "boom"},
    ],
)
def test_a_bad_entry_is_refused(bad):
    with pytest.raises(StoreError):
        check_program(bad, "job.json", check_name)
