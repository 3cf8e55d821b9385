"""The chapter's charts draw from synthetic rows: a cell per (source, runtime), a bar per row and batch size."""

import matplotlib
import pandas as pd

from fwbench.experiments.outside_python import plots
from fwbench.experiments.outside_python import tables as x7

matplotlib.use("Agg")


def rows(machines=("box a", "box b")):
    out = []
    for machine in machines:
        for fw, modes in (("torch", x7.RUNTIME_ORDER[:2]), ("tensorflow", x7.RUNTIME_ORDER)):
            for i, mode in enumerate(modes):
                failed = mode == "node:tfjs-node"
                row = {c: None for c in x7.COLUMNS}
                row.update(
                    machine_label=machine,
                    framework=fw,
                    workload="mlp",
                    runtime=mode,
                    host=mode.split(":")[0],
                    outcome="fails" if failed else "matches",
                    dynamic_batch_ok=not failed,
                )
                if not failed:
                    for b in (1, 64):
                        row.update(
                            {
                                f"latency_b{b}_s": 1e-4 * (i + 1) * b,
                                f"latency_b{b}_ci_low_s": 0.9e-4 * (i + 1) * b,
                                f"latency_b{b}_ci_high_s": 1.1e-4 * (i + 1) * b,
                            }
                        )
                out.append(row)
    return pd.DataFrame(out, columns=x7.COLUMNS)


def test_outcome_chart_has_a_panel_per_machine_and_a_cell_per_runtime():
    fig = plots.outcome_chart(rows())
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert len(axes) == 2
    assert [t.get_text() for t in axes[0].get_xticklabels()] == x7.RUNTIME_ORDER
    assert sorted(t.get_text() for t in axes[0].texts) == sorted(["M*"] * 7 + ["F"])


def test_latency_chart_draws_a_bar_per_row_that_ran_at_each_batch():
    df = rows(("box a",))
    fig = plots.latency_chart(df[df["outcome"] != "fails"])
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["box a: batch 1", "box a: batch 64"]
    assert all(len(ax.patches) == 7 for ax in axes)
