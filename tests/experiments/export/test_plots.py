"""The export charts draw for any store, down to a single path on a single workload."""

import warnings

import matplotlib

matplotlib.use("Agg")

from fwbench.experiments.export import (
    plots,  # noqa: E402
    tables,  # noqa: E402
)
from fwbench.report.results import Report  # noqa: E402
from synthetic.export import export_attempt, export_job  # noqa: E402


def test_one_path_on_one_workload_still_gets_a_readable_portability_chart(make_store):
    job = export_job("r1", "torch", "onnx-dynamo", [export_attempt("mlp", "onnx-dynamo", "matches")])
    att = tables.attempts(Report(make_store([("r1", [job])]).load()[0]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plots.portability_chart(att)
        fig.canvas.draw()
    assert not [w for w in caught if "collapsed" in str(w.message)]
    assert len(fig.axes) == 1 and fig.axes[0].get_title().endswith("each export path on each workload")


def test_latency_chart_draws_a_bar_without_whiskers_for_a_one_process_latency(make_store):
    import matplotlib.pyplot as plt

    from fwbench.experiments.export import plots, tables
    from fwbench.report.results import Report
    from synthetic.export import export_attempt, export_job

    job = export_job(
        "r1", "torch", "onnx-dynamo", [export_attempt("mlp", "onnx-dynamo", "matches")], process_spread=(1.0,)
    )
    att = tables.attempts(Report(make_store([("r1", [job])]).load()[0]))
    assert att["latency_b1_ci_low_s"].isna().all()
    fig = plots.export_latency_chart(att)
    assert len(fig.axes[0].patches) == 1  # the bar is there
    plt.close(fig)
