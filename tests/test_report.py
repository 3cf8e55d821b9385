"""Chapter helpers pick the newest result per cell and never let stored text reach a page unescaped."""

from conftest import job
from fwbench.report import Report, html_table, escape


def test_latest_result_per_cell_wins(make_store):
    old = job("r1", "torch", "eager", "eager", 0.010)
    new = job("r2", "torch", "eager", "eager", 0.020)
    report = Report(make_store([("r1", [old]), ("r2", [new])]).load()[0])
    assert len(report.latest) == 1
    run, latest = report.latest[0]
    assert run.run_id == "r2"
    wide = report.metric_table("eager_vs_graph")
    assert set(wide["run_id"]) == {"r2"}


def test_failures_are_listed_and_escaped(make_store):
    evil = {"type": "RuntimeError", "message": "<script>alert('x')</script> & <b>bold</b>", "traceback": ""}
    bad = job("r1", "jax", "jax.jit", "graph", None, status="failed", error=evil)
    report = Report(make_store([("r1", [bad, job("r1", "jax", "eager", "eager", 0.01)])]).load()[0])
    fail = report.failures()
    assert len(fail) == 1 and fail.iloc[0]["variant"] == "jax.jit"
    page = html_table(fail)
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;" in page
    assert escape("<a href='x'>") == "&lt;a href=&#x27;x&#x27;&gt;"


def test_machines_table_has_one_row_per_machine(make_store, tmp_path):
    store = make_store([("r1", [job("r1", "torch", "eager", "eager", 0.01)])])
    report = Report(store.load()[0])
    table = report.machines()
    assert list(table["machine"]) == ["testbox"] and table.iloc[0]["torch"] == "2.13.0"
