"""The table of how many processes each cell of a sequential design got, and why it stopped, for every experiment."""

from fwbench.report.results import Report
from fwbench.report.sequential import cells_table, how_many
from synthetic.eager_vs_graph import evg_job
from synthetic.serving import ort, sm


def test_each_eager_cell_says_how_many_processes_it_got_and_why_it_stopped(make_store):
    def cell(framework, times, processes):
        docs = [
            evg_job("r1", framework, times, process=p, between=0.05, within=0.05, steps=20, seed=3)
            for p in range(processes)
        ]
        for d in docs:
            d.update(cell_id=f"eager_vs_graph-{framework}-cell", design={"start": 3, "cap": 5})
        return docs

    # jax.jit 40x: decided at the first look; torch.compile 1.06x on the margin's edge: taken to the cap.
    docs = cell("jax", {"eager": 0.02, "jax.jit": 0.0005}, 3) + cell(
        "torch", {"eager": 0.0106, "torch.compile": 0.01}, 5
    )
    table = cells_table(Report(make_store([("r1", docs)]).load()[0]), "eager_vs_graph").set_index("framework")
    assert table.loc["JAX", "processes"] == "3 (from 3, at most 5)" and table.loc["JAX", "early"]
    assert table.loc["JAX", "stopped because"].startswith("every comparison decided")
    assert table.loc["PyTorch", "processes"] == "5 (from 3, at most 5)" and not table.loc["PyTorch", "early"]
    assert (
        "could not be decided by the cap" in table.loc["PyTorch", "stopped because"]
        or "cap reached" in table.loc["PyTorch", "stopped because"]
    )
    fixed = evg_job("r2", "jax", {"eager": 0.02, "jax.jit": 0.0005})  # a fixed design stores no "design"
    assert cells_table(Report([make_store([("r2", [fixed])]).load()[0][-1]]), "eager_vs_graph").empty


def test_each_serving_runtime_says_how_many_server_starts_it_got_and_why_it_stopped(make_store):
    # The SavedModel at half ONNX Runtime's throughput: X4's comparison is decided at the first look of three starts.
    docs = sm({"mlp": (500, 0.004)}) + ort({"mlp": (1000, 0.002)})
    for d in docs:
        d.update(cell_id=f"serving-{d['framework']}-{d['variant']}", design={"start": 3, "cap": 5})
    table = cells_table(Report(make_store([("r1", docs)]).load()[0]), "serving").set_index("variant")
    assert set(table.index) == {"tf-savedmodel", "onnxruntime"}
    assert (table["processes"] == "3 (from 3, at most 5)").all() and table["early"].all()
    assert table["stopped because"].str.startswith("every comparison decided (2)").all()
    text = how_many(table, "runtime", "server starts", "a comparison X4 reads")
    assert "**How many server starts each runtime got.**" in text and "2 of 2 runtime(s) stopped before the cap" in text


def test_a_cell_the_profiles_budget_stopped_says_so(make_store):
    from conftest import manifest

    docs = [
        evg_job("r1", "torch", {"eager": 0.0106, "torch.compile": 0.01}, process=p, between=0.05, within=0.05, seed=3)
        for p in range(3)
    ]
    for d in docs:
        d.update(cell_id="eager_vs_graph-torch-cell", design={"start": 3, "cap": 6})
    store = make_store([("r1", docs)])
    # The run's manifest as the runner writes it when the budget stops its rounds (validated when the store loads).
    stop = {"reason": "budget", "budget_min": 15, "after_min": 15.4, "open_cells": 1}
    store.write_manifest({**manifest("r1"), "sequential_stop": stop})
    (row,) = cells_table(Report(store.load()[0]), "eager_vs_graph").to_dict("records")
    assert row["processes"] == "3 (from 3, at most 6)" and row["early"]
    assert row["stopped because"].endswith("still open when the run had taken its profile's budget (15 min)")
