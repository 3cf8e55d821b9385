"""The experiment's own views: compiled against eager per framework, loss agreement and the cells it keeps out."""

from conftest import job
from fwbench.experiments.eager_vs_graph import views
from fwbench.report import tidy
from fwbench.report.results import Report
from synthetic.eager_vs_graph import evg_job, evg_runs

EXP = "eager_vs_graph"


def test_each_compiled_variant_is_compared_paired_with_its_own_eager_mode(make_store):
    jobs = [
        evg_job("r1", "torch", {"eager": 0.020, "torch.compile": 0.010}, process=p, between=0.1, seed=3)
        for p in range(4)
    ]
    report = Report(make_store([("r1", jobs)]).load()[0])
    cmp = views.comparisons(report)
    train = cmp[cmp.phase == "train"].iloc[0]
    # Paired within processes, the 10% process effect cancels: the 2x is decided.
    assert train["verdict"] == "faster" and train["paired"] and 1.9 < train["speedup"] < 2.1
    assert train["break_even_steps"] >= 1
    assert views.comparisons(report) is not views.comparisons(report)  # each caller gets its own copy ...
    assert (EXP, "comparisons") in report._memo  # ... of one computation per report


def test_old_layout_jobs_one_variant_per_process_still_compare_unpaired(make_store):
    jobs = [
        job("r1", "torch", v, m, t, process=p, seed=10 * p + i)
        for p in range(3)
        for i, (v, m, t) in enumerate([("eager", "eager", 0.02), ("torch.compile", "graph", 0.01)])
    ]
    cmp = views.comparisons(Report(make_store([("r1", jobs)]).load()[0]))
    assert not cmp["paired"].any() and set(cmp["verdict"]) == {"faster"}


def test_a_loss_that_disagrees_with_the_others_is_shown_and_its_cells_never_compare(make_store):
    agreeing = {
        ("torch", "eager"): 0.010,
        ("torch", "torch.compile"): 0.005,
        ("jax", "eager"): 0.020,
        ("jax", "jax.jit"): 0.004,
    }
    # TensorFlow trains to another loss: far beyond the workload's tolerance of the group's median.
    other = {("tensorflow", "eager"): 0.013, ("tensorflow", "tf.function"): 0.010}
    report = Report(make_store([("r1", evg_runs("r1", agreeing) + evg_runs("r1", other, loss=4.6))]).load()[0])
    agree = views.loss_agreement(report)
    assert len(agree) == 1 and not bool(agree.iloc[0]["agree"])
    assert agree.iloc[0]["frameworks x variants"] == 6
    assert set(views.loss_outliers(report)["framework"]) == {"tensorflow"}
    failed = views.failed_cells(report)
    assert {key[1] for key in failed} == {"tensorflow"} and all(
        v == {"loss_after_steps_agreement"} for v in failed.values()
    )
    # The shared report keeps them out of every comparison, as it does a cell whose own check failed.
    excluded = report.excluded(EXP)
    assert set(excluded["framework"]) == {"tensorflow"}
    assert excluded["reason"].str.contains("loss_after_steps_agreement").all()
    assert set(views.comparisons(report)["framework"]) == {"torch", "jax"}


def test_agreeing_losses_keep_every_cell(make_store):
    report = Report(make_store([("r1", evg_runs("r1", {("torch", "eager"): 0.01, ("jax", "eager"): 0.02}))]).load()[0])
    assert bool(views.loss_agreement(report).iloc[0]["agree"])
    assert views.failed_cells(report) == {} and report.excluded(EXP).empty


def test_the_tidy_export_carries_the_break_even_of_each_comparison(make_store):
    jobs = [
        job("r1", "torch", "eager", "eager", 0.02, seed=1, first_call_s=0.1),
        job("r1", "torch", "torch.compile", "graph", 0.01, seed=2, first_call_s=5.1),
    ]
    report = Report(make_store([("r1", jobs)]).load()[0])
    rows = list(views.tidy_rows(report))
    assert {r["phase"] for r in rows} == {"train", "infer"} and {r["metric"] for r in rows} == {"break_even_steps"}
    assert all(set(r) <= set(tidy.COLUMNS) and r["experiment"] == EXP for r in rows)
    assert rows == tidy.derived_rows(report)  # the export collects it from here


def test_the_chapter_says_what_its_comparisons_can_decide(make_store):
    from fwbench.report.reliability import resolution

    times = {("torch", "eager"): 0.010, ("torch", "torch.compile"): 0.005, ("tensorflow", "eager"): 0.012}
    report = Report.load(make_store([("r1", evg_runs("r1", times, between=0.03))]).root)
    text = views.resolution_sentence(report)
    assert "within a framework (paired, same processes)" in text and "between frameworks" in text
    paired = resolution(views.compared_cells(report).query("paired"))
    assert f"about {paired['detectable_ratio']:.2f}x" in text and paired["cells"] == 2  # torch.compile: train, infer
    assert views.resolution_sentence(Report(runs=[])) == ""
