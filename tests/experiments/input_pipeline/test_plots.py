"""The throughput figure draws one line per loader and format, and says so when nothing was measured."""

import matplotlib

matplotlib.use("Agg")

from fwbench.experiments.input_pipeline import plots, tables  # noqa: E402


def test_throughput_figure_has_a_line_per_loader_and_format(pipeline_report, ip_job):
    report = pipeline_report(
        [
            ip_job("r1", "tensorflow", {("npy-shards", 0): 1.0, ("tfrecord", 0): 0.8}),
            ip_job("r1", "torch", {("npy-shards", 0): 1.0}),
        ]
    )
    fig = plots.throughput(tables.pipelines(report))
    labels = sorted(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert labels == ["DataLoader (npy-shards)", "tf.data (npy-shards)", "tf.data (tfrecord)"]


def test_an_empty_table_draws_a_note():
    import pandas as pd

    fig = plots.throughput(pd.DataFrame(columns=["machine_label", "page_cache", "samples_per_s"]))
    assert "no pipeline measured" in fig.axes[0].texts[0].get_text()
