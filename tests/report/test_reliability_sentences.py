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
        entry.update(block=8, stolen_blocks_dropped=i, stolen_blocks_kept=1 if i == 3 else 0, stolen_s=0.01 * i,
                     busy=i == 3, gc_s=0.001 * i)
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
