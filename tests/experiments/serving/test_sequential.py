"""Which serving runtimes get another server start: X4's comparisons judged at each look against X4's own bounds."""

from fwbench.experiments.serving.sequential import judge, open_cells
from fwbench.matrix.profile import parse_profile
from fwbench.measure.sequential import Design
from fwbench.run.sequential import Extensions
from synthetic.serving import ort, sm, with_busy

SM, ORT = "serving-tensorflow-sm", "serving-torch-ort"


def cells(sm_perf, ort_perf, sm_spread=(0.98, 1.0, 1.02), ort_spread=(0.98, 1.0, 1.02)):
    return {SM: sm({"mlp": sm_perf}, spread=sm_spread), ORT: ort({"mlp": ort_perf}, spread=ort_spread)}


def designs(start=3, cap=6):
    return {SM: Design(start, cap), ORT: Design(start, cap)}


def test_a_clear_gap_is_decided_at_the_first_look_and_no_runtime_gets_another_start():
    # The SavedModel at half the throughput and twice the p99 of ONNX Runtime: both ratios far beyond X4's bounds.
    state = judge(cells((500, 0.004), (1000, 0.002)), designs())
    assert state[SM] == {"open": [], "futile": [], "decided": 2} and state[ORT]["decided"] == 2
    assert open_cells(cells((500, 0.004), (1000, 0.002)), designs()) == {}


def test_a_throughput_ratio_on_x4s_share_keeps_both_runtimes_open_until_the_cap():
    # 0.9 of the rival's throughput is X4's share itself: no number of starts puts the interval on one side of it.
    # The p99s are equal, well inside X4's factor of 1.25: that comparison is decided.
    both = cells((900, 0.002), (1000, 0.002))
    reasons = open_cells(both, designs())
    assert set(reasons) == {SM, ORT}
    assert "throughput ratio 0.90 against 0.9 at 3 starts" in reasons[SM] and "p99" not in reasons[SM]
    at_cap = judge(both, designs(3, 3))
    assert not at_cap[SM]["open"] and len(at_cap[SM]["futile"]) == 1 and at_cap[SM]["decided"] == 1


def test_a_start_measured_on_a_busy_machine_does_not_count():
    busy = cells((900, 0.002), (1000, 0.002))
    with_busy(busy[SM], processes={2})
    reasons = open_cells(busy, designs())
    assert "at 2 starts" in reasons[SM]  # its third start's levels were left out, as the chapter leaves them out


def test_runtimes_of_different_blocks_are_not_compared():
    both = cells((500, 0.004), (1000, 0.002))
    for doc in both[ORT]:
        doc["params"] = {**doc["params"], "concurrency": [1, 64]}
    state = judge(both, designs())
    assert all(s == {"open": [], "futile": [], "decided": 0} for s in state.values())


def test_a_serving_block_with_max_processes_grows_the_open_runtimes_by_one_start_each():
    profile = parse_profile(
        {
            "name": "t",
            "experiments": {
                "serving": {
                    "frameworks": ["torch", "tensorflow"],
                    "variants": ["tf-savedmodel", "torch:onnxruntime"],
                    "processes": 3,
                    "max_processes": 5,
                    "params": {"workloads": ["mlp"]},
                }
            },
        }
    )
    jobs = list(profile.jobs)
    assert len(jobs) == 6 and all(j.max_processes == 5 for j in jobs)
    by_cell = {}
    for job in jobs:
        by_cell.setdefault(job.cell_id, []).append(job)
    stored = {}
    for cell_id, planned in by_cell.items():
        made = sm({"mlp": (900, 0.002)}) if planned[0].framework == "tensorflow" else ort({"mlp": (1000, 0.002)})
        for job, doc in zip(sorted(planned, key=lambda j: j.process), made):
            doc.update(job_id=job.job_id, job_key=f"key-{job.job_id}", cell_id=cell_id)
            stored[job.job_id] = ("r1", doc)
    ext = Extensions(tuple(jobs), lambda job: f"key-{job.job_id}", stored)
    batch = ext.round()
    assert sorted(j.cell_id for j in batch) == sorted(by_cell) and {j.process for j in batch} == {3}
    assert all("against 0.9" in ext.added[j.job_id]["open"] for j in batch)
