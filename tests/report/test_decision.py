"""The decision page answers each use case only from computed verdicts, and says what is missing otherwise."""

from fwbench.report import decision
from fwbench.report.claims import verdicts
from fwbench.report.results import Report
from synthetic.eager_vs_graph import evg_runs

TIMES = {
    ("torch", "eager"): 0.010,
    ("torch", "torch.compile"): 0.004,
    ("jax", "eager"): 0.030,
    ("jax", "jax.jit"): 0.002,
}


def test_use_cases_rest_on_claims_that_exist():
    from fwbench.report.claims import load_claims

    ids = {c.id for c in load_claims()}
    for case in decision.USE_CASES:
        assert set(case.claims) <= ids, case.name


def test_answers_come_from_verdicts_and_gaps_say_what_they_need(make_store):
    report = Report(make_store([("r1", evg_runs("r1", TIMES))]).load()[0])
    results = {v.claim.id: v for v in verdicts(report)}
    rows = decision.rows(list(results.values())).set_index("use case")
    fast = rows.loc["Fast training on one machine"]
    assert [m[0] for m in fast["measured"]] == [
        c for c in ("E1", "E2", "E3", "E4", "E5") if results[c].verdict not in ("not yet measured", "not testable here")
    ]
    assert all(m[2] == results[m[0]].verdict for m in fast["measured"])
    tpu = rows.loc["TPU"]
    assert tpu["measured"] == [] and tpu["not measured"][0][0] == "H2" and "TPU" in tpu["not measured"][0][1]
    debugging = dict(rows.loc["Research prototyping"]["not measured"])
    assert "debugging experiment" in debugging["D1"]
    page = decision.html(decision.rows(list(results.values())))
    assert "href='claims.html#claim-E1'" in page and "Not measured here" in page


def test_every_job_gets_a_pick_or_says_it_is_not_measured(make_store):
    """The jobs a reader chooses for, each answered: a framework and mode per machine with its lead, or "not
    measured here" naming the claims whose experiment would decide it."""
    times = {
        ("torch", "eager"): 0.010,
        ("torch", "torch.compile"): 0.006,
        ("jax", "eager"): 0.03,
        ("jax", "jax.jit"): 0.002,
        ("tensorflow", "eager"): 0.02,
        ("tensorflow", "tf.function"): 0.008,
    }
    report = Report(make_store([("r1", evg_runs("r1", times, processes=4))]).load()[0])
    rows = decision.picks(report, verdicts(report))
    jobs = {p.job for p in rows}
    assert jobs == {j.name for j in decision.JOBS}
    train = [p for p in rows if p.job == "Training on CPU"]
    assert len(train) == 1 and train[0].machine == "testbox" and train[0].pick == "JAX jax.jit"
    assert (
        train[0].by_how_much.startswith("mlp: 3.")
        and "x ahead of PyTorch torch.compile (95% CI" in train[0].by_how_much
    )
    assert "on 1 of 1 workload" in train[0].how_sure and train[0].profile == "test"
    web = next(p for p in rows if p.job == "Export to web")
    assert web.pick == "not measured here" and "X7" in web.how_sure
    html = decision.picks_html(rows)
    assert "JAX jax.jit" in html and "chapters/eager_vs_graph.html#fastest" in html


def test_a_pick_that_the_data_do_not_separate_says_so(make_store):
    times = {("torch", "torch.compile"): 0.002, ("jax", "jax.jit"): 0.00201}
    report = Report(make_store([("r1", evg_runs("r1", times, processes=4, within=0.01))]).load()[0])
    train = next(p for p in decision.picks(report) if p.job == "Training on CPU")
    assert train.pick == "no difference we can detect" and "±5%" in train.how_sure


def test_the_profile_line_names_each_machines_profile_and_its_limits(make_store):
    report = Report(make_store([("r1", evg_runs("r1", {("jax", "jax.jit"): 0.002}, processes=2))]).load()[0])
    line = decision.profile_line(report)
    assert "testbox" in line and "<strong>test</strong> profile" in line and "quick" not in line
