"""The eager-vs-graph charts: only what a chart can show gets a panel."""

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from fwbench.experiments.eager_vs_graph import plots  # noqa: E402


def _cells(rows):
    return pd.DataFrame(
        [
            {
                "machine_label": m,
                "framework": "torch",
                "variant": "eager",
                "mode": "eager",
                "workload": w,
                "phase": ph,
                "batch_size": b,
                "step_time_median_s": 1e-3 * b,
            }
            for m, w, ph, b in rows
        ]
    )


def test_a_workload_timed_at_one_inference_batch_size_gets_no_panel():
    cells = _cells(
        [
            ("a", "mlp", "infer", 1),
            ("a", "mlp", "infer", 64),
            ("a", "cnn", "infer", 8),
            ("b", "rnn", "infer", 8),
            ("a", "rnn", "train", 4),
            ("a", "rnn", "train", 8),
        ]
    )
    assert plots.swept_workloads(cells) == ["mlp"]
    fig = plots.batch_chart(cells)
    assert [ax.get_title() for ax in fig.axes] == ["a: mlp"]  # machine b timed no swept workload: no row
    assert plots.swept_workloads(cells[cells["workload"] != "mlp"]) == []
