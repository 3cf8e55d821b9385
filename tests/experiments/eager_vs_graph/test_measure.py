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


def test_planned_contention_runs_other_programs_that_are_not_the_jobs_children_and_stops_them():
    import os
    import time

    from fwbench.experiments.eager_vs_graph.measure import Params, contention
    from fwbench.measure.threads import descendants

    with contention(1) as pids:
        assert len(pids) == 1 and os.path.exists(f"/proc/{pids[0]}")
        assert pids[0] not in descendants()  # its CPU is another program's, as a real neighbour's would be
    time.sleep(0.1)
    state = open(f"/proc/{pids[0]}/stat").read().split()[2] if os.path.exists(f"/proc/{pids[0]}") else "gone"
    assert state in ("gone", "Z")  # killed (a zombie until init reaps it)
    # Busy blocks are the point under planned contention: none is re-run for it.
    assert Params(contention=1).timer().busy_cpus >= 1e9 and Params().timer().busy_cpus < 1


def test_shape_changes_are_timed_in_the_first_processes_of_the_workloads_asked_for():
    from fwbench.experiments.eager_vs_graph.measure import Params

    every, mlp_only = Params(shape_probe_processes=1), Params(shape_probe_processes=1, shape_probe_workloads=("mlp",))
    assert every.probes_shapes("rnn", 0) and not every.probes_shapes("rnn", 1)
    assert mlp_only.probes_shapes("mlp", 0) and not mlp_only.probes_shapes("rnn", 0)
    with pytest.raises(ValueError, match="shape_probe_workloads"):
        Params(shape_probe_workloads="mlp")


@pytest.mark.parametrize("asked, probed", [(("mlp",), True), (("rnn",), False)])
def test_a_cell_times_its_shape_change_only_where_asked(asked, probed):
    from fwbench.experiments.eager_vs_graph.measure import Params, measure_cell

    params = Params(
        batch_size=8,
        infer_batch_sizes=[1],
        min_samples=4,
        max_time_s=0.05,
        warmup_max=20,
        shape_probe_processes=1,
        shape_probe_workloads=asked,
    )
    out = measure_cell("jax", "cpu", "mlp", "eager,jax.jit", params, process=0)
    metrics = {r["metric"] for r in out["records"]}
    assert ("shape_change_s" in metrics) is probed and ("first_call_s" in metrics)
