"""Who is fastest: each framework's best against the fastest, decided by the verdicts' own test (synthetic data)."""

from conftest import evg_runs
from fwbench.experiments.eager_vs_graph.findings import fastest, fastest_display, findings
from fwbench.report.results import Report

# JAX compiled is clearly fastest; torch.compile within 1% of it (a tie); TensorFlow 3x slower.
TIMES = {("torch", "eager"): 0.010, ("torch", "torch.compile"): 0.00202,
         ("tensorflow", "eager"): 0.013, ("tensorflow", "tf.function"): 0.006,
         ("jax", "eager"): 0.030, ("jax", "jax.jit"): 0.002}


def report_of(make_store, times, **kwargs):
    return Report(make_store([("r1", evg_runs("r1", times, **kwargs))]).load()[0])


def test_the_fastest_is_marked_and_ties_are_ties(make_store):
    table = fastest(report_of(make_store, TIMES, processes=6, within=0.01))
    train = table[(table["phase"] == "train")].set_index("framework")
    assert train.loc["jax", "standing"] == "fastest" and train.loc["jax", "best_variant"] == "jax.jit"
    assert train.loc["torch", "standing"] == "tie"
    assert train.loc["tensorflow", "standing"] == "slower" and 2.5 < train.loc["tensorflow", "times_fastest"] < 3.5
    assert train.loc["tensorflow", "eager_variant"] == "eager" and train.loc["tensorflow", "compiled_variant"] == "tf.function"


def test_noise_between_processes_makes_a_gap_not_separable(make_store):
    times = {("torch", "eager"): 0.010, ("torch", "torch.compile"): 0.0022, ("jax", "eager"): 0.03,
             ("jax", "jax.jit"): 0.002}
    table = fastest(report_of(make_store, times, processes=2, between=0.2))
    assert set(table[table["phase"] == "train"]["standing"]) == {"fastest", "not separable"}


def test_findings_name_the_winner_with_its_number_and_link_to_the_table(make_store):
    report = report_of(make_store, TIMES, processes=6, within=0.01)
    table = fastest(report)
    first = findings(report)[0]
    jax = table[(table["phase"] == "train") & (table["framework"] == "jax")].iloc[0]
    assert first.target == "fastest" and "JAX jax.jit" in first.text
    assert f"{jax['best_s'] * 1e3:.2f} ms" in first.text  # the number is the table's
    assert "PyTorch torch.compile not measurably slower" in first.text
    shown = fastest_display(table)
    assert list(shown) == [("testbox", "cpu")]
    assert "★ fastest" in set(shown[("testbox", "cpu")]["against the fastest"])


def test_a_store_without_timings_gives_no_table_and_no_finding(make_store):
    from conftest import job

    report = Report(make_store([("r1", [job("r1", "torch", "eager", "eager", None, status="failed",
                                            error={"type": "E", "message": "m"})])]).load()[0])
    assert fastest(report).empty and fastest_display(fastest(report)) == {} and findings(report) == []
