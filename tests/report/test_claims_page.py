"""What the claims page draws: a forest plot of a verdict's cells in place of its one-line-per-cell list."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from fwbench.report.claims import Claim, Verdict, as_forest, evidence_without_cell_list  # noqa: E402
from fwbench.report.plots import forest_chart  # noqa: E402


def _cells(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ratio = np.exp(rng.normal(0.2, 0.3, n))
    half = rng.uniform(1.02, 1.3, n)
    return pd.DataFrame(
        {
            "workload": [f"w{i}" for i in range(n)],
            "speedup": ratio,
            "speedup_ci_low": ratio / half,
            "speedup_ci_high": ratio * half,
            "verdict": "faster",
            "n_baseline": 4,
            "n_candidate": 4,
            "paired": True,
            "device": "cpu",
        }
    )


def _verdict(n: int) -> Verdict:
    """What a rule that lists its cells gives (as the eager-vs-graph rules do): each cell's role and label, the
    evidence with one line per cell, and that list in the cells' attrs."""
    cells = _cells(n)
    cells = cells.assign(
        role=["supports" if lo > 1.05 else "inconclusive" for lo in cells["speedup_ci_low"]],
        label=[f"cell {w}" for w in cells["workload"]],
    )
    listed = "\n".join(f"- {c.label}: speedup {c.speedup:.2f}x" for c in cells.itertuples())
    cells.attrs["cell_list"] = listed
    evidence = "3 cell(s) support the claim.\n\n" + listed + "\n\nA paragraph after the list."
    return Verdict(Claim("E1", "g", "claim"), "supported", "rule", evidence, cells)


def test_many_ratio_cells_are_drawn_and_their_list_leaves_the_text():
    v = _verdict(9)
    cells = as_forest(v)
    assert cells is not None and list(cells["label"]) == [f"cell w{i}" for i in range(9)]
    text = evidence_without_cell_list(v)
    assert "cell w3: speedup" in v.evidence and "cell w3: speedup" not in text
    assert text.startswith(v.evidence.split("\n\n")[0]) and text.endswith("A paragraph after the list.")
    fig = forest_chart(cells, 0.05, title="E1")
    ax = fig.axes[0]
    at = dict(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())))
    assert sorted(at.values()) == sorted(cells["label"]) and at[max(at)] == "cell w0"  # the rule's first cell on top
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    roles = cells["role"].value_counts()
    assert legend == [f"{r} ({roles[r]})" for r in ("supports", "contradicts", "inconclusive") if r in roles]


def test_few_cells_or_cells_that_are_not_ratios_stay_a_list():
    assert as_forest(_verdict(3)) is None
    v = _verdict(9)
    assert as_forest(Verdict(v.claim, v.verdict, v.rule, v.evidence, v.cells.drop(columns="speedup_ci_low"))) is None
    plain = Verdict(v.claim, v.verdict, v.rule, "no cells here")
    assert evidence_without_cell_list(plain) == "no cells here"


def test_a_cell_without_an_interval_is_drawn_as_its_point_alone():
    v = _verdict(7)
    cells = v.cells.copy()
    cells.loc[0, ["speedup_ci_low", "speedup_ci_high"]] = [np.nan, np.inf]
    fig = forest_chart(cells, 0.05)
    segments = sum(len(c.get_segments()) for c in fig.axes[0].collections if hasattr(c, "get_segments"))
    assert segments == len(cells) - 1


def test_long_cell_names_wrap_and_the_plot_keeps_its_room():
    import io
    import warnings

    v = _verdict(6)
    cells = v.cells.assign(label=["input pipeline " * 14 + str(i) for i in range(6)])  # about 200 characters each
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "constrained_layout not applied" would fail the book's page check
        fig = forest_chart(cells, 0.05)
        fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
    assert all(len(line) <= 70 for t in fig.axes[0].get_yticklabels() for line in t.get_text().split("\n"))
