"""The eager-vs-graph measurement's own calibrations, run for real on this machine's CPU."""

import math

import pytest

from fwbench.experiments.eager_vs_graph.measure import device_peak_gflops, peak_gflops
from fwbench.frameworks import get_adapter


@pytest.mark.parametrize("framework", ["torch", "tensorflow", "jax"])
def test_every_framework_measures_a_device_matmul_rate(framework):
    # The path a GPU takes (the framework's matmul on the device, its sync ending each batch), here on the CPU.
    rate = device_peak_gflops(get_adapter(framework), "cpu", n=128, seconds=0.05)
    assert math.isfinite(rate) and rate > 0


def test_the_host_peak_is_a_finite_rate():
    assert math.isfinite(peak_gflops(64, seconds=0.02)) and peak_gflops(64, seconds=0.02) > 0
