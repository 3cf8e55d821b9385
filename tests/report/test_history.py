"""History of one timing over every stored run, per machine and framework version."""

from conftest import job, manifest
from fwbench.report import plots
from fwbench.report.history import Selection, default_selections, history_table
from fwbench.report.results import Report
from fwbench.store.store import Store


def test_history_reads_every_run_per_machine(tmp_path):
    store = Store(tmp_path)
    for run_id, machine, label, step, version in [("20260101T000000Z-a", "m-a", "box a", 0.010, "2.12"),
                                                  ("20260201T000000Z-a", "m-a", "box a", 0.008, "2.13"),
                                                  ("20260115T000000Z-b", "m-b", "box b", 0.002, "2.13")]:
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
    assert (t["processes"] == 2).all() and (t["ci_low_s"] <= t["median_s"]).all() and (t["median_s"] <= t["ci_high_s"]).all()
    assert t["median_s"].iloc[0] > t["median_s"].iloc[1]  # the newer run of box a was faster
    assert history_table(report, Selection("jax", "mlp", "jax.jit")).empty
    assert default_selections(report) == [Selection("torch", "mlp", "torch.compile")]
    fig = plots.history_chart({"torch": t})
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) >= 2
