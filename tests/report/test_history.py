"""History of one timing over every stored run, per machine and framework version."""

from conftest import job, manifest
from fwbench.report import plots
from fwbench.report.history import Selection, default_selections, has_trend, history_table
from fwbench.report.results import Report
from fwbench.store.store import Store


def test_history_reads_every_run_per_machine(tmp_path):
    store = Store(tmp_path)
    for run_id, machine, label, step, version in [
        ("20260101T000000Z-a", "m-a", "box a", 0.010, "2.12"),
        ("20260201T000000Z-a", "m-a", "box a", 0.008, "2.13"),
        ("20260115T000000Z-b", "m-b", "box b", 0.002, "2.13"),
    ]:
        m = manifest(run_id, machine_id=machine, label=label)
        m["started"] = f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T00:00:00+00:00"
        store.write_manifest(m)
        for p in (0, 1):
            doc = job(run_id, "torch", "torch.compile", "graph", step, seed=p, process=p)
            doc["framework_version"] = version
            store.write_job(doc)
    report = Report.load(tmp_path)
    t = history_table(report, Selection("torch", "mlp", "torch.compile"))
    assert list(t["machine"]) == ["box a", "box a", "box b"]
    assert list(t["framework version"]) == ["2.12", "2.13", "2.13"]
    assert (
        (t["processes"] == 2).all()
        and (t["ci_low_s"] <= t["median_s"]).all()
        and (t["median_s"] <= t["ci_high_s"]).all()
    )
    assert t["median_s"].iloc[0] > t["median_s"].iloc[1]  # the newer run of box a was faster
    assert history_table(report, Selection("jax", "mlp", "jax.jit")).empty
    assert default_selections(report) == [Selection("torch", "mlp", "torch.compile")]
    fig = plots.history_chart({"torch": t})
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) >= 2
    # Box a has two runs: a chart shows its trend. One run per machine is a lone point per panel: a table.
    assert has_trend({"torch": t}) and not has_trend({"torch": t[t["run"] != "20260101T000000Z-a"]})
    assert not has_trend({}) and not has_trend({"torch": t.iloc[0:0]})


def test_cpu_and_gpu_times_never_share_an_axis_and_the_axis_spans_the_runs():
    import matplotlib.dates as mdates
    import pandas as pd

    t = pd.DataFrame(
        {
            "machine": ["a", "a", "b"],
            "device": ["cpu", "cpu", "cuda"],
            "started": pd.to_datetime(["2026-11-20", "2026-11-28", "2026-11-28"], utc=True),
            "framework version": ["1", "2", "2"],
            "median_s": [0.01, 0.009, 0.001],
            "ci_low_s": [0.009, 0.008, 0.0009],
            "ci_high_s": [0.011, 0.01, 0.0011],
        }
    )
    fig = plots.history_chart({"torch torch.compile": t})
    assert [ax.get_title() for ax in fig.axes] == ["torch torch.compile (cpu)", "torch torch.compile (cuda)"]
    low, high = (mdates.num2date(v) for v in fig.axes[0].get_xlim())
    assert (high - low).days < 30  # eight days of runs, not years of axis


def test_a_series_measured_on_a_busy_machine_is_not_history(tmp_path):
    store = Store(tmp_path)
    run_id = "20260101T000000Z-a"
    store.write_manifest(manifest(run_id, machine_id="m-a", label="box a"))
    for p in (0, 1, 2):
        doc = job(run_id, "torch", "torch.compile", "graph", 0.010 if p < 2 else 0.100, seed=p, process=p)
        if p == 2:  # ten times slower: another program held the CPUs, and the timer said so
            for e in doc["samples"]:
                e["busy"] = True
        store.write_job(doc)
    t = history_table(Report.load(tmp_path), Selection("torch", "mlp", "torch.compile"))
    assert list(t["processes"]) == [2] and t["median_s"].iloc[0] < 0.02
