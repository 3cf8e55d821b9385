"""Who is fastest: each framework's best against the fastest, decided by the verdicts' own test (synthetic data)."""

from fwbench.experiments.eager_vs_graph import views
from fwbench.experiments.eager_vs_graph.findings import fastest, fastest_display, findings
from fwbench.report.results import Report, fmt_s
from synthetic.eager_vs_graph import evg_runs

# JAX compiled is clearly fastest; torch.compile within 1% of it (equivalent); TensorFlow 3x slower.
TIMES = {
    ("torch", "eager"): 0.010,
    ("torch", "torch.compile"): 0.00202,
    ("tensorflow", "eager"): 0.013,
    ("tensorflow", "tf.function"): 0.006,
    ("jax", "eager"): 0.030,
    ("jax", "jax.jit"): 0.002,
}


def report_of(make_store, times, **kwargs):
    return Report(make_store([("r1", evg_runs("r1", times, **kwargs))]).load()[0])


def test_the_fastest_is_marked_and_ties_are_ties(make_store):
    table = fastest(report_of(make_store, TIMES, processes=6, within=0.01))
    train = table[(table["phase"] == "train")].set_index("framework")
    assert train.loc["jax", "standing"] == "fastest" and train.loc["jax", "best_variant"] == "jax.jit"
    assert train.loc["torch", "standing"] == "equivalent"
    assert train.loc["tensorflow", "standing"] == "slower" and 2.5 < train.loc["tensorflow", "times_fastest"] < 3.5
    assert (
        train.loc["tensorflow", "eager_variant"] == "eager"
        and train.loc["tensorflow", "compiled_variant"] == "tf.function"
    )


def test_an_eager_mode_faster_than_every_compiled_one_is_the_fastest(make_store):
    # torch eager at 1 ms beats torch.compile (2 ms) and jax.jit (1.9 ms): a small model at batch 1, where the
    # compiled call's guards and launch cost more than they save (measured so on the 2-vCPU VM, mlp inference).
    times = {
        ("torch", "eager"): 0.0010,
        ("torch", "torch.compile"): 0.0020,
        ("jax", "eager"): 0.0050,
        ("jax", "jax.jit"): 0.0019,
    }
    table = fastest(report_of(make_store, times, processes=6, within=0.01))
    train = table[table["phase"] == "train"].set_index("framework")
    assert train.loc["torch", "standing"] == "fastest" and train.loc["torch", "best_variant"] == "eager"
    assert train.loc["jax", "standing"] == "slower" and 1.7 < train.loc["jax", "times_fastest"] < 2.1
    shown = fastest_display(table)[("testbox", "cpu")]
    torch_row = shown[(shown["framework"] == "PyTorch") & (shown["phase"] == "train")].iloc[0]
    assert torch_row["against the fastest"] == "★ fastest" and torch_row[
        "best compiled: time per step [95% CI]"
    ].startswith("torch.compile: ")


def test_noise_between_processes_makes_a_gap_not_separable(make_store):
    times = {
        ("torch", "eager"): 0.010,
        ("torch", "torch.compile"): 0.0022,
        ("jax", "eager"): 0.03,
        ("jax", "jax.jit"): 0.002,
    }
    table = fastest(report_of(make_store, times, processes=2, between=0.2))
    assert set(table[table["phase"] == "train"]["standing"]) == {"fastest", "inconclusive"}


def test_findings_name_the_winner_with_its_number_and_link_to_the_table(make_store):
    report = report_of(make_store, TIMES, processes=6, within=0.01)
    table = fastest(report)
    first = findings(report)[0]
    jax = table[(table["phase"] == "train") & (table["framework"] == "jax")].iloc[0]
    assert first.target == "fastest" and "JAX jax.jit" in first.text
    assert f"{jax['best_s'] * 1e3:.2f} ms" in first.text  # the number is the table's
    # ... with its interval over processes, and the lead over the next framework with the interval of that factor
    assert f"(95% CI {fmt_s(jax['best_ci_low_s'])} – {fmt_s(jax['best_ci_high_s'])}; PyTorch" in first.text
    tf = table[(table["phase"] == "train") & (table["framework"] == "tensorflow")].iloc[0]
    assert tf["times_fastest_ci_low"] < tf["times_fastest"] < tf["times_fastest_ci_high"]
    assert (
        f"{tf['times_fastest']:.1f}x ahead of TensorFlow tf.function (95% CI {tf['times_fastest_ci_low']:.2f}x – "
        f"{tf['times_fastest_ci_high']:.2f}x)"
    ) in first.text
    assert "PyTorch torch.compile equivalent (within ±5%)" in first.text
    shown = fastest_display(table)
    assert list(shown) == [("testbox", "cpu")]
    assert "★ fastest" in set(shown[("testbox", "cpu")]["against the fastest"])


def test_a_store_without_timings_gives_no_table_and_no_finding(make_store):
    from conftest import job

    report = Report(
        make_store(
            [("r1", [job("r1", "torch", "eager", "eager", None, status="failed", error={"type": "E", "message": "m"})])]
        ).load()[0]
    )
    assert fastest(report).empty and fastest_display(fastest(report)) == {} and findings(report) == []


def test_where_compiling_did_not_pay_is_named_with_its_interval(make_store):
    # torch.compile 30% slower than torch eager, every other compiled mode faster than its eager mode.
    times = {**TIMES, ("torch", "torch.compile"): 0.013}
    report = report_of(make_store, times, processes=6, within=0.01)
    cmp = views.comparisons(report)
    slower = cmp[(cmp["phase"] == "train") & (cmp["variant"] == "torch.compile")].iloc[0]
    assert slower["verdict"] == "slower"
    paid = [f for f in findings(report) if f.target == "tab-compile-cost"][0]
    decided = cmp[(cmp["phase"] == "train") & cmp["verdict"].isin(["faster", "slower", "equivalent"])]
    assert f"**Compiling paid off** in {len(decided) - 1} of {len(decided)} decided" in paid.text
    assert (
        f"it did not in PyTorch torch.compile on mlp (testbox: {slower['speedup']:.2f}x, 95% CI "
        f"{slower['speedup_ci_low']:.2f}x – {slower['speedup_ci_high']:.2f}x, slower)"
    ) in paid.text


def test_cells_of_two_processes_are_too_thin_to_headline_or_pick(make_store):
    """A reference machine measured with two processes per cell once headlined the book: too thin to name a fastest
    or pick one (a t interval over two processes says nothing)."""
    from fwbench.experiments.eager_vs_graph.findings import MIN_PROCESSES
    from fwbench.experiments.eager_vs_graph.picks import picks

    report = report_of(make_store, TIMES, processes=2, within=0.01)
    first = findings(report)[0]
    assert f"mlp: too few processes to name one (2 per cell; {MIN_PROCESSES} needed)" in first.text
    (pick,) = [p for p in picks(report) if p.job == "Training on CPU"]
    assert pick.pick == "too few processes to pick" and "2 process(es) per cell" in pick.how_sure
