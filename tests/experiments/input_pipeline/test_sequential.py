"""Which loaders get another process: P1's comparisons (tf.data against each other loader) judged at each look."""

from fwbench.experiments.input_pipeline.sequential import judge, open_cells
from fwbench.measure.sequential import Design

TF, TORCH = "input_pipeline-tensorflow-cell", "input_pipeline-torch-cell"


def loader(ip_job, framework, cell_id, epoch_s, processes=3, noise=0.01, **kw):
    """`processes` jobs of one loader, one pipeline process each (as the profiles run them)."""
    docs = []
    for p in range(processes):
        doc = ip_job("r1", framework, epoch_s, processes=1, noise=noise, seed=100 * p + len(framework), **kw)
        doc.update(job_id=f"{cell_id}-p{p}", process=p, cell_id=cell_id)
        docs.append(doc)
    return docs


def designs(start=3, cap=6):
    return {TF: Design(start, cap), TORCH: Design(start, cap)}


def test_a_loader_twice_as_fast_is_decided_at_the_first_look(ip_job):
    cells = {
        TF: loader(ip_job, "tensorflow", TF, {("npy-shards", 2): 0.5}),
        TORCH: loader(ip_job, "torch", TORCH, {("npy-shards", 2): 1.0}),
    }
    state = judge(cells, designs())
    assert state[TF] == {"open": [], "futile": [], "decided": 1} == state[TORCH]
    assert open_cells(cells, designs()) == {}


def test_a_tie_of_noisy_processes_keeps_both_loaders_open_and_stops_at_the_cap(ip_job):
    cells = {
        TF: loader(ip_job, "tensorflow", TF, {("npy-shards", 2): 1.0}, noise=0.1),
        TORCH: loader(ip_job, "torch", TORCH, {("npy-shards", 2): 1.0}, noise=0.1),
    }
    reasons = open_cells(cells, designs())
    assert set(reasons) == {TF, TORCH} and "tf.data vs DataLoader, 2 workers, common format" in reasons[TF]
    at_cap = judge(cells, designs(3, 3))
    assert not at_cap[TF]["open"] and len(at_cap[TF]["futile"]) == 1


def test_processes_measured_on_a_busy_machine_do_not_count(ip_job):
    cells = {
        TF: loader(ip_job, "tensorflow", TF, {("npy-shards", 2): 1.0}, noise=0.1),
        TORCH: loader(ip_job, "torch", TORCH, {("npy-shards", 2): 1.0}, noise=0.1),
    }
    cells[TF][2] = ip_job("r1", "tensorflow", {("npy-shards", 2): 1.0}, processes=1, busy={("npy-shards", 2): (0,)})
    cells[TF][2].update(job_id=f"{TF}-p2", process=2, cell_id=TF)
    assert "at 2 processes" in open_cells(cells, designs())[TF]


def test_warm_and_cold_page_cache_blocks_are_judged_apart(ip_job):
    cells = {
        TF: loader(ip_job, "tensorflow", TF, {("npy-shards", 2): 0.5}),
        TORCH: loader(ip_job, "torch", TORCH, {("npy-shards", 2): 1.0}, page_cache="cold"),
    }
    assert all(s == {"open": [], "futile": [], "decided": 0} for s in judge(cells, designs()).values())
