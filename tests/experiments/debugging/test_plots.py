"""The debugging chapter's tool-cost chart: bars with intervals, and a labelled gap where no process was steady."""

import math

import matplotlib
import pandas as pd

matplotlib.use("Agg")

from fwbench.experiments.debugging.plots import overhead_chart  # noqa: E402


def test_a_mode_without_a_steady_process_is_labelled_not_left_as_an_empty_row():
    oh = pd.DataFrame(
        [
            {
                "machine_label": "box",
                "framework": "jax",
                "tool": "disable_jit",
                "mode": "graph",
                "slowdown": 20.0,
                "ci_low": 15.0,
                "ci_high": 30.0,
            },
            {
                "machine_label": "box",
                "framework": "torch",
                "tool": "detect_anomaly",
                "mode": "eager",
                "slowdown": None,
                "ci_low": None,
                "ci_high": None,
            },
        ]
    )
    fig = overhead_chart(oh)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["jax disable_jit (compiled)", "torch detect_anomaly (eager): no steady process"]
    widths = [p.get_width() for p in ax.patches]
    assert widths[0] == 20.0 and math.isnan(widths[1])
