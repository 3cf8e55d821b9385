"""fwbench.report.reliability's summaries, on synthetic stores whose answer is known by construction."""

from fwbench.report import reliability
from fwbench.report.results import Report
from synthetic.eager_vs_graph import evg_job

EXP = "eager_vs_graph"


def test_stolen_blocks_are_counted_per_machine_and_silent_where_nothing_recorded_them(make_store):
    old = evg_job("r0", "torch", {"eager": 0.01})
    assert reliability.stolen_sentence(Report.load(make_store([("r0", [old])]).root), EXP) == ""
    job = evg_job("r1", "torch", {"eager": 0.01, "torch.compile": 0.005}, steps=40)
    for i, entry in enumerate(job["samples"]):  # 4 series of 40 steps in blocks of 8: 5 blocks each, 20 kept
        entry.update(
            block=8,
            stolen_blocks_dropped=i,
            stolen_blocks_kept=1 if i == 3 else 0,
            stolen_s=0.01 * i,
            busy=i == 3,
            gc_s=0.001 * i,
        )
    report = Report.load(make_store([("r1", [job])]).root)
    text = reliability.stolen_sentence(report, EXP)
    # Twin-free job: dropped 0+1+2+3 = 6 of 6 + 20 blocks; one series marked busy past the bound.
    assert "testbox: 6 of 26 timed blocks (23%) dropped and run again (0 busy, 6 with steal)" in text
    assert "1 series measured on a busy machine past the bound, kept out of every verdict" in text
    table = reliability.disturbance(report, EXP)
    assert int(table["dropped_stolen"].sum()) == 6 and int(table["blocks_kept"].sum()) == 20
    assert set(table["busy_series"]) <= {"0 of 1", "1 of 1"} and (table["busy_series"] == "1 of 1").sum() == 1
    assert (table["gc_share_of_steps"] >= 0).all()
    # The busy series is kept out of every comparison, with its reason.
    assert report.excluded(EXP)["reason"].str.startswith("busy machine").sum() == 1


def _aa(spread: float, shift: float = 1.0, cells: int = 200, processes: int = 4, seed: int = 11):
    """Seeded A/A (or planted-shift) comparisons: `processes` vs `processes` fresh processes per cell, each with a
    log-normal process effect of sd `spread`; the second side's true time is `shift` times the first's."""
    import numpy as np
    import pandas as pd

    from fwbench.measure import stats
    from fwbench.report.results import comparison_columns

    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(cells):
        a = {
            f"a{i}": list(np.exp(rng.normal(0, spread)) * (1 + 0.01 * rng.standard_normal(20)))
            for i in range(processes)
        }
        b = {
            f"b{i}": list(shift * np.exp(rng.normal(0, spread)) * (1 + 0.01 * rng.standard_normal(20)))
            for i in range(processes)
        }
        rows.append(comparison_columns(stats.compare(a, b)))
    return pd.DataFrame(rows)


def test_the_resolution_says_what_a_control_of_this_size_can_decide():
    from fwbench.report.reliability import resolution

    tight, loose = resolution(_aa(0.005)), resolution(_aa(0.05))
    assert tight["can_be_equivalent"] > 0.9 and loose["can_be_equivalent"] < 0.1  # wide intervals never equivalent
    assert 1.05 < tight["detectable_ratio"] < loose["detectable_ratio"]
    # The ratio it names is decided about half the time when planted as a real difference, and a larger one nearly
    # always: the number means what the benchmark prints.
    planted = _aa(0.05, shift=loose["detectable_ratio"], seed=12)
    called = planted["verdict"].isin(["faster", "slower"]).mean()
    assert 0.3 < called < 0.7
    assert _aa(0.05, shift=loose["detectable_ratio"] ** 2, seed=13)["verdict"].isin(["faster", "slower"]).mean() > 0.9
    assert resolution(_aa(0.05).iloc[0:0])["cells"] == 0
    # A control with no cells at all (every series measured on a busy machine) has object columns: still none.
    import pandas as pd

    assert resolution(pd.DataFrame(columns=["speedup_ci_low", "speedup_ci_high", "verdict"]))["cells"] == 0
