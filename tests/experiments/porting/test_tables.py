"""Porting tables on synthetic attempts we control: rows, the layer x pair matrix, per-kind summaries, the text."""

from fwbench.experiments.porting import plots, tables
from fwbench.report.results import Report
from synthetic.porting import attempt, job, kind_jobs


def report(make_store, jobs):
    return Report(make_store([("r1", jobs)]).load()[0])


def test_attempts_one_row_per_layer_and_pair_with_kinds_of_transformation(make_store):
    r = report(make_store, kind_jobs({"dense": lambda s, t: ["transpose: kernel", "gelu: exact"]}))
    att = tables.attempts(r)
    assert len(att) == 6 and set(att["pair"]) == set(tables.pair_order())
    assert all(k == ["transpose", "gelu"] for k in att["kinds"])
    assert not att["straightforward"].any()


def test_a_failed_job_is_a_failing_row_per_layer_and_target(make_store):
    att = tables.attempts(report(make_store, [job("torch", [attempt("dense", "torch", "jax")], status="failed")]))
    assert len(att) == 2 and set(att["outcome"]) == {"fails"} and set(att["stage"]) == {"job"}


def test_matrix_says_what_each_pair_took_and_flags_silent_naive_copies(make_store):
    jobs = kind_jobs(
        {"dense": lambda s, t: ["transpose: kernel"], "embedding": lambda s, t: []},
        naive_of=lambda layer, s, t: "silent-wrong" if layer == "dense" else "matches",
    )
    m = tables.matrix(tables.attempts(report(make_store, jobs)))
    assert list(m.index) == ["dense", "embedding"]
    assert (m.loc["dense"] == "transpose ⚠ naive copy silently wrong").all() and (m.loc["embedding"] == "as-is").all()


def test_per_kind_and_what_this_means_count_from_the_rows(make_store):
    jobs = kind_jobs(
        {"dense": lambda s, t: ["transpose: kernel"], "layernorm": lambda s, t: ["epsilon: differs"]},
        naive_of=lambda layer, s, t: "silent-wrong" if layer == "layernorm" else "refused",
    )
    att = tables.attempts(report(make_store, jobs))
    kinds = tables.per_kind(att).set_index("layer")
    assert bool(kinds.loc["dense", "straightforward"]) and not bool(kinds.loc["layernorm", "straightforward"])
    assert kinds.loc["layernorm", "beyond_layout"] == "epsilon" and kinds.loc["layernorm", "naive_silent"] == 6
    text = tables.what_this_means(att)
    assert "1 of 2 layer kinds" in text and "silently computed something else on 6" in text
    assert "stopped with a shape or count mismatch on 6" in text


def test_onnx_rows_show_the_converter_and_why_it_is_missing(make_store):
    a = attempt(
        "conv2d",
        "torch",
        "tensorflow",
        "fails",
        route="onnx",
        stage="converter",
        finding="converter not installable here: it would replace tensorflow-cpu",
    )
    att = tables.attempts(report(make_store, [job("torch", [a], route="onnx")]))
    o = tables.onnx_table(att)
    assert o.iloc[0]["result"] == "fails at converter: ValueError" and "tensorflow-cpu" in o.iloc[0]["finding"]
    assert "had no installable converter here" in tables.what_this_means(att) or tables.what_this_means(att) == ""


def test_charts_draw_from_the_rows(make_store):
    jobs = kind_jobs({"dense": lambda s, t: ["transpose: kernel"], "gru": lambda s, t: ["gate order: zrn"]})
    att = tables.attempts(report(make_store, jobs))
    fig = plots.porting_chart(att)
    assert len(fig.axes) == 1 and fig.axes[0].get_title().endswith("what moving trained weights took")
    assert plots.lines_chart(att).axes
