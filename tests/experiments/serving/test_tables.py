"""Serving tables on synthetic stored jobs we control (never on measured values); X4 is in test_claims.py."""

import numpy as np
import pytest

from fwbench.experiments.serving import tables as sr
from fwbench.report import tidy
from fwbench.report.claims import load_claims
from fwbench.report.results import Report, plain_number
from fwbench.report.sanitize import md
from synthetic.serving import SPREAD, ort, serving_job, sm, with_busy, with_time_parts

X4 = next(c for c in load_claims() if c.id == "X4")


def report_of(make_store, jobs):
    flat = [doc for j in jobs for doc in (j if isinstance(j, list) else [j])]
    return Report(make_store([("r1", flat)]).load()[0])


def test_phase_names_parse():
    assert sr.parse_phase("closed-16")[:2] == ("closed", 16.0)
    kind, c, f = sr.parse_phase("open-0.8")
    assert kind == "open" and f == 0.8
    assert sr.parse_phase("startup")[0] == "startup"


def test_servers_and_levels_tables(make_store):
    r = report_of(make_store, [ort({"mlp": (1000, 0.002), "cnn": None})])
    srv = sr.servers(r)
    assert len(srv) == 3 * 4 and set(srv["outcome"]) == {"serves", "fails"} and set(srv["process"]) == {0, 1, 2}
    assert srv.iloc[0]["label"] == "onnxruntime (torch)" and srv.iloc[0]["source"] == "onnx-dynamo"
    lv = sr.levels(r)
    assert set(lv["phase"]) == {"closed-1", "closed-8"} and set(lv["format"]) == {"json"}
    assert sorted(lv["process"].unique()) == [0, 1, 2] and len(lv) == 3 * 4  # a row per process and level
    shown = sr.level_estimates(lv)
    assert len(shown) == 4 and (shown["processes"] == 3).all()
    top = shown.loc[shown["throughput_rps"].idxmax()]
    assert top["throughput_rps"] == pytest.approx(1000 * np.exp(np.log(SPREAD).mean()))  # geometric mean
    best = sr.best_per_variant(lv)
    row = best.iloc[0]
    assert row["peak_rps"] == pytest.approx(1000 * np.exp(np.log(SPREAD).mean())) and row["batching"] == False  # noqa: E712
    assert row["peak_rps_ci_low"] < row["peak_rps"] < row["peak_rps_ci_high"] and row["processes"] == 3
    assert row["single_client_p99_ci_low"] < row["single_client_p99_s"] < row["single_client_p99_ci_high"]


def test_a_skipped_job_is_an_unavailable_row_with_its_reason(make_store):
    doc = serving_job(
        "r1",
        "tensorflow",
        "tf-serving",
        "tfserving:savedmodel",
        {"mlp": (1, 1)},
        status="skipped",
        error={"type": "ServerUnavailable", "message": "no binary", "traceback": ""},
    )
    srv = sr.servers(report_of(make_store, [doc]))
    assert srv.iloc[0]["outcome"] == "unavailable" and srv.iloc[0]["error_message"] == "no binary"


def test_csv_carries_serving_rows_with_runtime_in_variant(make_store, tmp_path):
    runs, _ = make_store([("r1", ort({"mlp": (1000, 0.002)}))]).load()
    df = tidy.frame(runs)
    rows = df[df.experiment == "serving"]
    assert set(rows["variant"]) == {"onnxruntime"}
    assert {"throughput_rps", "latency_p99_s", "cold_start_s"} <= set(rows["metric"])
    assert set(rows["mode"]) == {"no-batching", "batching", "no-batching/json", "batching/json"}


def test_the_chapters_sentences_name_the_best_tail_and_what_did_not_serve(make_store):
    r = report_of(make_store, [ort({"mlp": (1000, 0.002), "cnn": None}), sm({"mlp": (400, 0.009), "cnn": (300, 0.01)})])
    srv, lv = sr.servers(r), sr.levels(r)
    text = sr.what_this_means(srv, lv)
    # The same estimate as the best-of-each-runtime table and the introduction: one number on every page.
    table = sr.best_per_variant(lv)
    mlp = table[table["workload"] == "mlp"]
    best = mlp.loc[mlp["single_client_p99_s"].idxmin()]
    assert f"testbox, mlp: best single-client p99 {sr.ms(best['single_client_p99_s'])} ({md(best['label'])}" in text
    top = mlp.loc[mlp["peak_rps"].idxmax()]
    assert f"Highest throughput {plain_number(top['peak_rps'], 3)} req/s ({md(top['label'])}" in text
    assert f"Did not serve: {md('onnxruntime (torch)')} on cnn (fails)." in text  # store names escaped as Markdown
    assert sr.ms(0.0125) == "12.5 ms" and sr.ms(float("nan")) == ""


def test_early_ends_are_stated_with_their_rule_and_counted_from_the_records():
    job = lambda flags: (
        "run",
        {
            "status": "ok",
            "records": [  # noqa: E731
                {"metric": "ended_early", "value": float(f)} for f in flags
            ]
            + [{"metric": "throughput_rps", "value": 5.0}],
        },
    )
    text = sr._early_ends([job([1, 0, 1]), job([0])], {"min_duration_s": 0.5, "converge_rtol": 0.05})
    assert "may end after 0.5 s" in text and "less than 5%" in text and "2 of 4 closed-loop levels ended early" in text
    assert sr._early_ends([job([1])], {"min_duration_s": 0}) == ""
    assert sr._early_ends([job([1])], {}) == ""  # parameters stored before levels could end early


def test_milliseconds_never_read_in_e_notation():
    assert sr.ms(0.9996) == "1,000 ms" and sr.ms(0.0123456) == "12.3 ms" and sr.ms(float("nan")) == ""


def test_best_of_each_runtime_table_and_the_finding_read_the_same_estimates(make_store):
    from fwbench.experiments.serving.findings import findings

    # ONNX Runtime serves twice the SavedModel's requests; the SavedModel answers one client in half the time.
    r = report_of(make_store, [sm({"mlp": (500, 0.001)}), ort({"mlp": (1000, 0.002)})])
    best = sr.best_per_variant(sr.levels(r))
    shown = sr.best_runtimes(best)
    assert list(shown["runtime"]) == ["onnxruntime (torch)", "tf-savedmodel"]  # by peak throughput
    top = best.set_index("label").loc["onnxruntime (torch)"]
    assert shown.iloc[0]["peak throughput [95% CI]"] == (
        f"{plain_number(top['peak_rps'], 3)} [{plain_number(top['peak_rps_ci_low'], 3)} – "
        f"{plain_number(top['peak_rps_ci_high'], 3)}] req/s"
    )
    assert shown.iloc[1]["single-client p99 [95% CI]"].endswith("] ms")
    assert shown.iloc[0]["reached with"] == "batching off, json, 8 clients" and shown.iloc[0]["starts"] == 3
    (finding,) = findings(r)
    assert finding.target == "tab-best-runtime"
    assert finding.text.startswith(
        f"**Most requests per second on testbox**: mlp (2 runtimes): onnxruntime \\(torch\\) "
        f"at {plain_number(top['peak_rps'], 3)} req/s, 2.00x the next, tf\\-savedmodel (95% CI "
    )
    assert (
        "; ahead); lowest single-client p99: tf\\-savedmodel at 1 ms, the next, onnxruntime \\(torch\\), at 2.00x that"
        in finding.text
    )


def test_one_start_per_runtime_gives_no_interval_and_claims_no_lead(make_store):
    from fwbench.experiments.serving.findings import findings

    one = report_of(make_store, [sm({"mlp": (500, 0.001)}, spread=(1.0,)), ort({"mlp": (1000, 0.002)}, spread=(1.0,))])
    assert "[one start: no interval]" in sr.best_runtimes(sr.best_per_variant(sr.levels(one))).iloc[0].iloc[3]
    assert "(too few starts for an interval; inconclusive)" in findings(one)[0].text


def test_picks_name_the_runtime_ahead_for_latency_and_for_throughput(make_store):
    from fwbench.experiments.serving.picks import picks

    rows = {p.job: p for p in picks(report_of(make_store, [sm({"mlp": (500, 0.004)}), ort({"mlp": (1000, 0.002)})]))}
    assert set(rows) == {"Low-latency serving", "Throughput serving"}
    fast = rows["Throughput serving"]
    assert fast.pick == "onnxruntime (torch)" and "better than tf-savedmodel" in fast.by_how_much
    assert "95% CI" in fast.by_how_much and "1 of 1 workload" in fast.how_sure
    tie = {p.job: p for p in picks(report_of(make_store, [sm({"mlp": (1000, 0.002)}), ort({"mlp": (1000, 0.002)})]))}[
        "Throughput serving"
    ]
    assert tie.pick == "no difference we can detect"


def test_where_a_requests_time_goes_and_when_the_frontend_sets_the_throughput(make_store):
    # 1000 req/s at best; the runtimes' call is 0.05 ms per request: the model is busy 5% of the time.
    jobs = [
        with_time_parts(sm({"mlp": (1000, 0.001)}), 5e-5, 2e-4),
        with_time_parts(ort({"mlp": (1000, 0.001)}), 4e-5, 2e-4),
    ]
    r = report_of(make_store, jobs)
    lv = sr.levels(r)
    b = sr.time_breakdown(lv, sr.best_per_variant(lv)).set_index("runtime")
    assert b.loc["tf-savedmodel", "runtime_call_s"] == pytest.approx(5e-5)
    assert b.loc["tf-savedmodel", "decode_encode_s"] == pytest.approx(2e-4 * 2 / 3)
    share = b.loc["tf-savedmodel", "runtime_share"]
    assert share == pytest.approx(5e-5 / b.loc["tf-savedmodel", "latency_mean_s"]) and share < 0.5
    peak = sr.best_per_variant(lv).set_index("label").loc["tf-savedmodel", "peak_rps"]
    assert b.loc["tf-savedmodel", "model_busy"] == pytest.approx(5e-5 * peak, rel=0.05)
    assert sr.frontend_bound(b.reset_index())
    shown = sr.breakdown_table(b.reset_index())
    assert shown["runtime share"].str.endswith("%").all() and not shown["mean latency"].str.contains("e-").any()
    # Runtimes whose model is busy most of the time at their peak (0.9 ms a request at 1000 req/s) are compared as
    # runtimes: no such note.
    slow = [
        with_time_parts(sm({"mlp": (1000, 0.001)}), 9e-4, 5e-5),
        with_time_parts(ort({"mlp": (1000, 0.001)}), 9e-4, 5e-5),
    ]
    r2 = report_of(make_store, slow)
    lv2 = sr.levels(r2)
    assert not sr.frontend_bound(sr.time_breakdown(lv2, sr.best_per_variant(lv2)))


def test_servers_that_do_not_report_their_time_have_no_parts(make_store):
    r = report_of(make_store, [sm({"mlp": (500, 0.001)}), ort({"mlp": (1000, 0.002)})])
    lv = sr.levels(r)
    b = sr.time_breakdown(lv, sr.best_per_variant(lv))
    assert not b["reported"].any() and not sr.frontend_bound(b)
    assert (sr.breakdown_table(b)["runtime call"] == "not reported by this server").all()


def test_one_batching_setting_stored_is_said_where_the_batching_chart_would_be(make_store):
    lv = sr.levels(report_of(make_store, [ort({"mlp": (1000, 0.002)})]))
    assert lv["batching"].nunique() == 2 and sr.batching_note(lv) == ""  # both stored: the chart shows
    note = sr.batching_note(lv[~lv["batching"]])  # what the quick profile stores
    assert "batching off" in note and "PROFILE=full make report" in note
    assert "batching on" in sr.batching_note(lv[lv["batching"]])
    assert sr.batching_note(lv.iloc[0:0]) == ""


def test_levels_measured_on_a_busy_machine_are_kept_out_and_listed(make_store):
    # The SavedModel's third start ran while another program held the CPUs; if it counted, its throughput
    # (a third of the others') would drag the SavedModel's estimate down.
    jobs = with_busy(sm({"mlp": (1000, 0.002)}, spread=(1.0, 1.01, 0.33)), processes={2}) + ort({"mlp": (1000, 0.002)})
    r = report_of(make_store, jobs)
    lv = sr.levels(r)
    mine = lv[lv["variant"] == "tf-savedmodel"]
    assert sorted(mine["process"].unique()) == [0, 1] and "busy" not in lv
    best = sr.best_per_variant(lv).set_index("variant")
    assert best.loc["tf-savedmodel", "processes"] == 2
    assert best.loc["tf-savedmodel", "peak_rps"] > 900  # the busy start's 330 req/s is not in it
    busy = sr.busy_levels(r)
    assert set(busy["process"]) == {2} and set(busy["variant"]) == {"tf-savedmodel"}
    assert (busy["block_attempts"] == 3).all() and (busy["other_cpus"] == 0.9).all()
    note = sr.busy_note(r)
    assert note.startswith("2 load-generator run(s)")  # batching off and on of that one start
    assert "server start 3" in note and "0.9 CPUs" in note and "3 attempts" in note
    # Runs stored before load was guarded carry no flag: nothing says they were busy, so they count.
    plain = report_of(make_store, sm({"mlp": (1000, 0.002)}))  # the same store, the SavedModel's jobs rewritten
    assert sr.busy_levels(plain).empty and sr.busy_note(plain) == ""
    assert (sr.levels(plain)["variant"] == "tf-savedmodel").sum() == 3 * 4
