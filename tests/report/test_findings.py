"""The opening page's findings, verdict reasons and counts agree with the chapters' own tables (synthetic store)."""

import pandas as pd

from conftest import job
from fwbench.report.claims import verdicts
from fwbench.report.findings import because, caveats, key_findings, machine_line, verdict_table
from fwbench.report.results import Report
from synthetic.eager_vs_graph import evg_job, evg_runs

TIMES = {
    ("torch", "eager"): 0.010,
    ("torch", "torch.compile"): 0.004,
    ("tensorflow", "eager"): 0.013,
    ("tensorflow", "tf.function"): 0.006,
    ("jax", "eager"): 0.030,
    ("jax", "jax.jit"): 0.002,
}


def _report(make_store, failed: int = 1) -> Report:
    jobs = evg_runs("r1", TIMES)
    for k in range(failed):
        jobs.append(
            job(
                "r1",
                "torch",
                f"broken{k}",
                "graph",
                None,
                status="failed",
                workload="rnn",
                error={"type": "RuntimeError", "message": "<script>x</script> went wrong. More text."},
            )
        )
    return Report(make_store([("r1", jobs)]).load()[0])


def test_page_one_counts_equal_the_chapters(make_store):
    report = _report(make_store, failed=2)
    counts = report.status_counts()
    chapters = sum(len(report.failures(e)) for e in {j["experiment"] for _, j in report.latest})
    assert counts["failed"] + counts["skipped"] == chapters == 2
    assert counts["results"] == len(report.latest) and counts["machines"] == 1
    text = " ".join(f.text for f in key_findings(report, verdicts(report)))
    assert f"{counts['failed']} of the {counts['results']} results the book shows failed" in text
    assert "<script>" not in text  # store text is escaped on the way into Markdown


def test_every_verdict_has_a_reason_and_the_reason_uses_the_rules_cells(make_store):
    report = _report(make_store)
    results = verdicts(report)
    table = verdict_table(results)
    assert list(table.columns) == ["id", "claim", "verdict", "because"] and len(table) == len(results)
    assert table["because"].str.len().gt(0).all()
    e1 = next(v for v in results if v.claim.id == "E1")
    sup = int((e1.cells["role"] == "supports").sum())
    assert because(e1).startswith(f"{sup} of ")
    best = e1.cells.loc[e1.cells["speedup"].idxmax()]
    assert f"{best['speedup']:.2f}x" in because(e1)  # the clearest cell, as the rule computed it


def test_findings_link_to_evidence_and_caveats_name_what_a_machine_lacked(make_store):
    report = _report(make_store)
    found = key_findings(report, verdicts(report))
    assert 4 <= len(found) <= 8
    assert any(f.target == "fastest" for f in found) and any(f.target == "verdicts" for f in found)
    assert all("{ref}`evidence <" in f.markdown() for f in found if f.target)
    notes = " ".join(caveats(report))
    assert "testbox" in notes and "CPU only" in notes and "M)" in notes
    assert "<p id='fwbench-machines'>" in machine_line(report) and "testbox" in machine_line(report)


def test_a_hostile_machine_label_stays_text(make_store):
    store = make_store([("r1", [evg_job("r1", "torch", {"eager": 0.01, "torch.compile": 0.005})])])
    report = Report(store.load()[0])
    report.runs[0].manifest["machine_label"] = "<img src=x onerror=alert(1)>"
    line = machine_line(report)
    assert "<img" not in line and "&lt;img" in line


def test_a_list_of_outcomes_becomes_a_tally_in_plain_text_not_raw_markdown():
    from types import SimpleNamespace

    def reason(verdict, evidence):
        return because(SimpleNamespace(verdict=verdict, evidence=evidence, cells=pd.DataFrame()))

    rows = (
        "- box jax eager, print: **works** (3 of 3)\n- box jax graph, print: **silent\\-wrong** (0 of 3)\n"
        "- box torch eager, print: **works** (3 of 3)"
    )
    assert (
        reason("mixed", rows) == "2 works, 1 silent-wrong (of 3 rows); e.g. box jax graph, print: silent-wrong (0 of 3)"
    )
    # Only the opening list counts: a later one is context ("for comparison").
    assert reason("supported", "- a: **matches**\n\nFor comparison:\n- b: **fails**") == "1 matches (of 1 rows)"
    # Rows that all agree cannot explain a mixed verdict: the first row is shown, not a tally that reads as a reason.
    agree = "- box tflite on cnn: **matches** (error 0); 0.3 MB\n- box tflite on mlp: **matches**"
    assert reason("mixed", agree) == "box tflite on cnn: matches (error 0); 0.3 MB (and 1 more rows)"
    assert (
        reason("contradicted", "- box: profiler works\n- box: scalar_log **fails**")
        == "box: profiler works (and 1 more rows)"
    )
    # Evidence that opens with a sentence keeps its first sentence.
    assert reason("contradicted", "0 of 6 differ (0%). More.\n\n- x: **fails**") == "0 of 6 differ (0%)."


def test_framework_names_and_interval_phrases_of_the_sentences():
    from fwbench.report.findings import ci_text, framework_name

    assert [framework_name(f) for f in ("torch", "tensorflow", "jax", "other")] == [
        "PyTorch",
        "TensorFlow",
        "JAX",
        "other",
    ]
    assert ci_text(0.9, 1.25, "{:.2f}x".format, "none") == "95% CI 0.90x – 1.25x"
    assert ci_text(0.9, float("inf"), "{:.2f}x".format, "too few starts") == "too few starts"


def test_the_aa_line_says_how_many_controls_were_decided(make_store):
    from fwbench.report.findings import _aa_finding
    from fwbench.report.results import Report
    from synthetic.eager_vs_graph import evg_runs

    quiet = Report(
        make_store(
            [
                (
                    "r1",
                    evg_runs(
                        "r1",
                        {("torch", "eager"): 0.01, ("torch", "torch.compile"): 0.005},
                        processes=4,
                        twin=True,
                        within=0.005,
                    ),
                )
            ]
        ).load()[0]
    )
    rates = quiet.false_positive_rates("eager_vs_graph")
    decided = int(rates["false_positives"].sum() + rates["equivalent"].sum())
    text = _aa_finding(quiet).text
    assert decided > 0 and f"{decided} of the {int(rates['controls'].sum())} were decided" in text


def test_claim_ids_in_the_verdict_table_link_to_their_verdicts(make_store):
    from fwbench.report.claims import verdicts
    from fwbench.report.findings import verdict_table_html
    from fwbench.report.results import Report
    from synthetic.eager_vs_graph import evg_runs

    report = Report(make_store([("r1", evg_runs("r1", {("torch", "eager"): 0.01}, processes=2))]).load()[0])
    results = verdicts(report)
    html = verdict_table_html(results)
    for v in results:
        assert f"<a href='chapters/claims.html#claim-{v.claim.id}'>{v.claim.id}</a>" in html


def test_caveats_say_when_a_machines_numbers_came_from_uncommitted_code_or_an_unknown_precision(make_store):
    report = _report(make_store)
    assert "dirty tree" not in " ".join(caveats(report))
    fp = report.runs[-1].manifest["fingerprint"]
    fp["fwbench"] = {**fp.get("fwbench", {}), "dirty": True}
    fp["numerics"] = {}
    notes = " ".join(caveats(report))
    assert "testbox: measured from uncommitted code (a dirty tree" in notes and "matmul precision not recorded" in notes
