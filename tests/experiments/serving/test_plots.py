"""The serving charts: series a reader can tell apart, panels on shared axes."""

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from fwbench.experiments.serving import plots  # noqa: E402


def test_every_series_has_its_own_marker_and_dash_and_the_panels_share_axes():
    rows = []
    for i, lab in enumerate(
        ["onnxruntime (torch)", "onnxruntime (tensorflow)", "tf-savedmodel", "torch-eager", "jax.jit"]
    ):
        for batching in (False, True):
            for fmt in ("json", "npy"):
                for c in (1, 8):
                    rows.append(
                        {
                            "machine_label": "box",
                            "workload": "mlp",
                            "kind": "closed",
                            "label": lab,
                            "batching": batching,
                            "format": fmt,
                            "concurrency": c,
                            "throughput_rps": 100.0 * (i + 1) * c,
                            "latency_p99_s": 0.001 * c,
                        }
                    )
    fig = plots.latency_throughput_chart(pd.DataFrame(rows), "mlp")
    lines = fig.axes[0].get_lines()
    styles = {(ln.get_marker(), ln.get_linestyle()) for ln in lines}
    assert len(lines) == 5 and len(styles) == 5
    first, last = fig.axes[0], fig.axes[-1]
    assert first.get_shared_x_axes().joined(first, last) and first.get_shared_y_axes().joined(first, last)
