"""The ergonomics tables, findings and chart on synthetic jobs (never on measured values)."""

from fwbench.experiments.ergonomics import findings, plots, tables

SIZES = {"pytorch": (50, 500), "keras": (30, 300), "gradienttape": (80, 800), "flax": (90, 900)}


def report_of(ergo_report, **losses):
    return ergo_report(SIZES, {v: {"train": t} for v, t in losses.items()})


def test_one_row_per_program_in_the_chapters_order(ergo_report):
    df = tables.programs(report_of(ergo_report))
    assert list(df["variant"]) == ["pytorch", "keras", "gradienttape", "flax"]
    assert list(df["logical lines"]) == [50, 30, 80, 90] and df["checks_failed"].eq("").all()
    assert list(tables.counts_table(df)["tokens"]) == ["500", "300", "800", "900"]


def test_loss_agreement_finds_a_program_that_reached_another_loss(ergo_report):
    same = tables.loss_agreement(tables.programs(report_of(ergo_report)))
    assert same["agree"].all() and len(same) == 4  # train and test, two epochs
    off = tables.loss_agreement(tables.programs(report_of(ergo_report, keras=(2.5, 2.4))))
    assert not off.set_index(["loss", "epoch"]).loc[("train loss", 2), "agree"]
    assert "not** reach the same losses" in tables.agreement_line(
        tables.programs(report_of(ergo_report, keras=(2.5, 2.4)))
    )


def test_ratios_what_this_means_and_the_finding(ergo_report):
    r = report_of(ergo_report)
    df = tables.programs(r)
    ratios = tables.ratios(df)
    assert sorted(ratios["ratio"].round(3)) == [0.625, 0.625, 1.667, 1.667]
    text = tables.what_this_means(df)
    assert "shortest program is **Keras 3 \\(TensorFlow\\)** (30 logical lines, 300 tokens)" in text
    (finding,) = findings.findings(r)
    assert "PyTorch 50 lines / 500 tokens" in finding.text and "reached the same losses" in finding.text


def test_the_programs_side_by_side_are_escaped_text(ergo_report):
    html = tables.program_columns(tables.programs(report_of(ergo_report)))
    assert html.count("<pre>") == 4 and "class ResNet(nn.Module):" in html
    assert "<script" not in html and "This file changed since the stored run" in html  # the fake sha differs


def test_concepts_table_and_chart(ergo_report):
    df = tables.programs(report_of(ergo_report))
    ct = tables.concepts_table(df)
    assert ct.set_index("concept").loc["train/eval mode", "PyTorch"] == "yes"
    fig = plots.counts_chart(df)
    assert len(fig.axes) == len(tables.COUNTS)
