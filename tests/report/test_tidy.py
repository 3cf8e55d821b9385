"""The long-format export has the documented columns, one row per value, and a row per failure."""

import math

from conftest import job
from fwbench.experiments import metrics
from fwbench.report import tidy
from fwbench.report.results import Report

METRICS = metrics()


def test_columns_rows_and_failures(make_store, tmp_path):
    failed = job(
        "r1",
        "jax",
        "jax.jit",
        "graph",
        None,
        status="failed",
        error={"type": "TimeoutError", "message": "timed out", "traceback": ""},
    )
    runs, _ = make_store([("r1", [job("r1", "torch", "eager", "eager", 0.01), failed])]).load()
    df = tidy.frame(runs)
    assert list(df.columns) == tidy.COLUMNS
    ok = df[df.status == "ok"]
    assert set(ok["phase"]) == {"train", "infer"}
    assert set(ok["metric"]) <= set(METRICS)
    assert (ok["machine_id"] == "test-cpu-00000000").all() and (ok["framework_version"] == "1.0").all()
    bad = df[df.status == "failed"]
    assert len(bad) == 1 and bad.iloc[0]["metric"] == "error" and "timed out" in bad.iloc[0]["error"]
    assert math.isnan(bad.iloc[0]["value"])
    out = tmp_path / "r.csv"
    assert tidy.write(runs, out, derived=tidy.derived_rows(Report(runs))) == len(df)
    assert out.read_text().splitlines()[0] == ",".join(tidy.COLUMNS)


def test_export_carries_break_even_rows(make_store, tmp_path):
    import pandas as pd

    jobs = [
        job("r1", "torch", "eager", "eager", 0.02, seed=1, first_call_s=0.1),
        job("r1", "torch", "torch.compile", "graph", 0.01, seed=2, first_call_s=5.1),
    ]
    runs, _ = make_store([("r1", jobs)]).load()
    out = tmp_path / "r.csv"
    tidy.write(runs, out, derived=tidy.derived_rows(Report(runs)))
    df = pd.read_csv(out)
    be = df[df.metric == "break_even_steps"]
    assert set(be.phase) == {"train", "infer"} and (be.variant == "torch.compile").all()
    # 5 s of extra first call repaid at ~10 ms per step: about 500 steps
    assert (be.value > 400).all() and (be.value < 600).all()


def test_every_row_carries_its_run_and_process_so_intervals_can_be_recomputed(make_store):
    from fwbench.measure import stats

    jobs = [job("r1", "torch", "eager", "eager", 0.01 * (1 + 0.05 * p), seed=p, process=p) for p in range(3)]
    runs, _ = make_store([("r1", jobs)]).load()
    df = tidy.frame(runs)
    med = df[(df["metric"] == "step_time_median_s") & (df["phase"] == "train")]
    assert sorted(med["process"]) == [0, 1, 2] and set(med["run_id"]) == {"r1"}
    # The cell's estimate and its interval over processes, from the export alone.
    mid, lo, hi = stats.cell_estimate({int(p): [v] for p, v in zip(med["process"], med["value"])})
    assert lo < mid < hi
