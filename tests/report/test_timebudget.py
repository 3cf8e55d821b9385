"""A job's wall time splits into start-up, preparing and measured work from papermill's stamps (synthetic notebook)."""

import json

import nbformat

from conftest import manifest
from fwbench.report.timebudget import job_split, notebook_split, run_budget
from fwbench.store.store import Store
from synthetic.eager_vs_graph import evg_job


def _cell(source: str, start: str, duration: float):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["papermill"] = {"start_time": start, "duration": duration, "status": "completed"}
    return cell


def notebook(measure_s: float = 6.0) -> dict:
    nb = nbformat.v4.new_notebook(
        cells=[
            _cell("framework = 'jax'", "2026-01-01T00:00:01.500000+00:00", 0.1),
            _cell("result = execute(measure, job)", "2026-01-01T00:00:01.600000+00:00", measure_s),
            _cell("write_json_atomic(output_path, result)", "2026-01-01T00:00:07.600000+00:00", 0.4),
        ]
    )
    nb.metadata["papermill"] = {"start_time": "2026-01-01T00:00:00+00:00", "duration": 8.0}
    return json.loads(nbformat.writes(nb))


def test_notebook_split_reads_papermills_stamps():
    split = notebook_split(notebook())
    assert split == {"papermill_s": 8.0, "kernel_start_s": 1.5, "measuring_cell_s": 6.0, "other_cells_s": 0.5}
    assert notebook_split({"cells": []}) == {}


def test_job_and_run_budgets_add_up(tmp_path):
    store = Store(tmp_path / "s")
    store.write_manifest(manifest("r1"))
    doc = evg_job("r1", "jax", {"eager": 0.01, "jax.jit": 0.002})
    doc["duration_s"] = 9.0  # one second of the runner's own work around papermill's 8
    store.write_job(doc)
    (store.run_dir("r1") / "notebooks").mkdir()
    (store.run_dir("r1") / "notebooks" / f"{doc['job_id']}.ipynb").write_text(json.dumps(notebook()))
    run = store.load()[0][0]
    split = job_split(run, run.jobs[0])
    timed = sum(sum(s["values"]) for s in doc["samples"])
    first = sum(r["value"] for r in doc["records"] if r["metric"] == "first_call_s")
    assert abs(split["startup_s"] - 2.5) < 1e-9 and abs(split["measured_s"] - (timed + first)) < 1e-9
    assert abs(split["startup_s"] + split["unmeasured_s"] + split["measured_s"] - 9.0) < 1e-9
    budget = run_budget(run).set_index("experiment")
    assert budget.loc["all", "jobs"] == 1 and abs(budget.loc["all", "total_s"] - 9.0) < 1e-9
    assert 0 < budget.loc["eager_vs_graph", "measured_share"] < 1
    assert budget["imports_s"].isna().all()  # this job did not time its parts


def test_a_job_that_times_its_parts_says_how_long_imports_and_warm_up_took(tmp_path):
    store = Store(tmp_path / "s")
    store.write_manifest(manifest("r1"))
    doc = evg_job("r1", "jax", {"eager": 0.01, "jax.jit": 0.002})
    doc["duration_s"] = 9.0
    doc["process_info"] = {
        "wall_s": {"import and configure": 2.5, "train warm-up": 1.0, "infer warm-up": 0.25, "train timed rounds": 0.5}
    }
    store.write_job(doc)
    (store.run_dir("r1") / "notebooks").mkdir()
    (store.run_dir("r1") / "notebooks" / f"{doc['job_id']}.ipynb").write_text(json.dumps(notebook()))
    run = store.load()[0][0]
    split = job_split(run, run.jobs[0])
    assert split["imports_s"] == 2.5 and split["warmup_s"] == 1.25
    budget = run_budget(run).set_index("experiment")
    assert budget.loc["all", "imports_s"] == 2.5 and budget.loc["all", "warmup_s"] == 1.25
