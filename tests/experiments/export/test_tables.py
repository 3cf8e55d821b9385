"""Export tables on synthetic attempts we control (never on measured outcomes); the rules are in test_claims.py."""

import pandas as pd

from fwbench.experiments.export import tables as export_report
from fwbench.report.claims import load_claims, verdict_for
from fwbench.report.results import Report
from fwbench.report.sanitize import md
from synthetic.export import WORKLOADS, export_attempt, export_job, path_job, with_busy

CLAIMS = {c.id: c for c in load_claims()}


def report_of(make_store, jobs):
    return Report(make_store([("r1", jobs)]).load()[0])


def test_attempts_one_row_per_workload_with_outcomes_and_errors(make_store):
    r = report_of(make_store, [path_job("torch", "onnx-dynamo", ["matches", "fails"])])
    df = export_report.attempts(r)
    assert sorted(df["workload"]) == ["cnn", "mlp"]
    row = df.set_index("workload").loc["cnn"]
    assert row["outcome"] == "fails" and row["error_type"] == "RuntimeError"
    assert export_report.is_true(df.set_index("workload").loc["mlp", "dynamic_batch_ok"])
    assert not export_report.is_true(None) and not export_report.is_true(float("nan"))
    counts = export_report.counts(df)
    assert counts.loc[0, ["matches", "differs", "fails"]].tolist() == [1, 0, 1]


def test_a_failed_job_is_a_failing_row_per_intended_workload(make_store):
    doc = path_job("jax", "jax-export", ["matches", "matches"])
    doc.update(
        status="failed", records=[], attempts=[], error={"type": "Timeout", "message": "timed out", "traceback": ""}
    )
    df = export_report.attempts(report_of(make_store, [doc]))
    assert sorted(df["workload"]) == ["cnn", "mlp"] and set(df["outcome"]) == {"fails"}


def test_tidy_rows_carry_the_path_as_variant_and_each_workload(make_store):
    r = report_of(make_store, [path_job("torch", "onnx-dynamo", ["matches", "differs"])])
    rows = r.records
    assert set(rows["experiment"]) == {"export"} and set(rows["variant"]) == {"onnx-dynamo"}
    assert set(rows["workload"]) == {"mlp", "cnn"} and "parity_ok" in set(rows["metric"])


def test_the_chapters_sentences_count_what_the_attempts_say(make_store):
    r = report_of(
        make_store,
        [
            path_job("torch", "onnx-dynamo", ["matches", "fails"]),
            path_job("tensorflow", "tflite", ["matches", "matches"], runtime="litert"),
        ],
    )
    att = export_report.attempts(r)
    text = export_report.what_this_means(att)
    assert "3 of 4 (path, workload) pairs work and match, 0 work but differ, 1 fail." in text
    assert "Paths that worked and matched on every workload, at every batch size tried: tensorflow tflite." in text
    assert f"Failed: torch {md('onnx-dynamo')} ({WORKLOADS[1]})." in text  # store names escaped as Markdown text
    assert "- testbox, from torch: 1 match, 0 differ, 1 fail" in export_report.count_lines(att)
    assert "2 export paths from 2 source frameworks" in export_report.what_was_measured(att)


def test_every_counted_path_is_listed_with_its_steps_a_failed_one_too(make_store):
    """Issue 18: the chapter said "18 export paths" and listed 16 (jobs that failed before a step had none)."""
    failed = path_job("jax", "jax-export", ["matches", "matches"])
    failed.update(
        status="failed", records=[], attempts=[], error={"type": "Timeout", "message": "timed out", "traceback": ""}
    )
    r = report_of(
        make_store,
        [
            path_job("torch", "onnx-dynamo", ["matches", "fails"]),
            failed,
            path_job("tensorflow", "tflite", ["matches", "matches"], runtime="litert"),
        ],
    )
    text = export_report.what_was_measured(export_report.attempts(r))
    listed = [line for line in text.splitlines() if line.startswith("- **")]
    assert text.startswith(f"{len(listed)} export paths") and len(listed) == 3
    assert any(line.startswith("- **jax jax") and "no conversion step recorded" in line for line in listed)


def test_latency_is_estimated_over_processes_and_one_process_gives_no_interval(make_store):
    import math

    from fwbench.measure import stats

    spread = (0.9, 1.0, 1.2)
    many = export_report.attempts(
        report_of(
            make_store,
            [path_job("torch", "onnx-dynamo", ["matches", "matches"], latency_b1=2e-3, process_spread=spread)],
        )
    )
    row = many.iloc[0]
    est, lo, hi = stats.cell_estimate({i: [2e-3 * f] for i, f in enumerate(spread)})
    assert row["latency_processes"] == 3
    assert math.isclose(row["latency_b1_s"], est) and math.isclose(row["latency_b1_ci_low_s"], lo)
    assert math.isclose(row["latency_b1_ci_high_s"], hi)
    # The interval is over processes, far wider than any one process's (steps only) interval.
    assert lo < 2e-3 * 0.9 * 0.99 and hi > 2e-3 * 1.2 * 1.01
    one = export_report.attempts(
        report_of(
            make_store,
            [path_job("torch", "onnx-dynamo", ["matches", "matches"], latency_b1=2e-3, process_spread=(1.0,))],
        )
    )
    assert one.iloc[0]["latency_processes"] == 1 and math.isclose(one.iloc[0]["latency_b1_s"], 2e-3)
    assert one[["latency_b1_ci_low_s", "latency_b1_ci_high_s"]].isna().all().all()
    assert "one process: no interval" in export_report.what_this_means(one)


def test_the_fastest_path_names_those_its_interval_cannot_separate_from_it(make_store):
    att = export_report.attempts(
        report_of(
            make_store,
            [
                path_job("torch", "onnx-dynamo", ["matches", "matches"], latency_b1=1.00e-3),
                path_job("torch", "torch.export", ["matches", "matches"], runtime="torch_export", latency_b1=1.01e-3),
                path_job("tensorflow", "tflite", ["matches", "matches"], runtime="litert", latency_b1=5e-3),
            ],
        )
    )
    text = export_report.what_this_means(att)
    assert f"fastest torch {md('onnx-dynamo')} (1.00 ms, 95% CI" in text and "over 3 processes" in text
    assert "Not separable from the fastest by the 95% intervals over processes: torch torch.export." in text
    assert "tflite" not in text.split("Not separable")[1].split("\n")[0]


def test_the_export_finding_counts_what_the_portability_matrix_shows(make_store):
    from fwbench.experiments.export.findings import findings

    r = report_of(
        make_store,
        [
            path_job("torch", "onnx-dynamo", ["matches", "matches"]),
            path_job("torch", "torchscript-trace", ["matches", "fails"], runtime="torchscript"),
            path_job("jax", "jax-export", ["differs", "matches"], runtime="jax-export"),
        ],
    )
    (finding,) = findings(r)
    df = export_report.attempts(r)
    assert len(df) == 6 and export_report.counts(df)[["matches", "differs", "fails"]].sum().tolist() == [4, 1, 1]
    assert finding.target == "fig-portability"
    assert finding.text == (
        "**Export paths that work on testbox**: JAX 0 of 1, PyTorch 1 of 2 paths ran and matched "
        "their source model on every workload (cnn, mlp); of 6 (path, workload) pairs 4 match, "
        "1 run but differ, 1 fail."
    )


def test_a_framework_name_from_a_bundle_enters_the_export_finding_as_text(make_store):
    """The store refuses markup in names (store.py); what a name may hold is still escaped for Markdown."""
    from fwbench.experiments.export.findings import findings

    r = report_of(make_store, [path_job("my_fw", "onnx-dynamo", ["matches", "fails"])])
    (finding,) = findings(r)
    assert "on testbox**: my\\_fw 0 of 1 paths" in finding.text


def test_the_mobile_pick_is_the_edge_path_that_works_on_every_workload(make_store):
    from fwbench.experiments.export.picks import picks

    r = report_of(
        make_store,
        [
            path_job("tensorflow", "tflite", ["matches", "matches"], runtime="litert"),
            path_job("torch", "executorch", ["matches", "fails"], runtime="executorch"),
        ],
    )
    (pick,) = picks(r)
    assert pick.job == "Export to mobile" and pick.pick == "TensorFlow → tflite"
    assert "PyTorch → executorch: 1 of 2" in pick.how_sure and "TensorFlow → tflite: 2 of 2" in pick.how_sure


def test_matched_on_every_workload_means_at_every_batch_size_too(make_store):
    """The reader found "matched on every workload" beside "cnn (1 ok, 64 fails)": a workload that matched only
    at its export batch is named apart, not counted as working."""
    cnn = export_attempt("cnn", "executorch", "matches", runtime="executorch")
    cnn["batches"]["64"] = {"ran": False, "passed": False}
    fixed = export_job("r1", "torch", "executorch", [cnn], runtime="executorch", dynamic=False)
    text = export_report.what_this_means(export_report.attempts(report_of(make_store, [fixed])))
    assert "at every batch size tried: none." in text
    assert "Matched at the exported batch size only: torch executorch on cnn (1 ok, 64 fails)." in text


def test_a_failure_at_fwbenchs_own_model_code_is_the_harness_s_not_the_framework_s(make_store):
    """TorchScript's `script` compiles the model's Python source, which is fwbench's: stopping there is a harness
    limit, labelled so and left out of the verdicts."""
    message = (
        'getattr\'s second argument must be a string literal:\n  File "<checkout>/fwbench/frameworks/torch.py", '
        'line 63\n        return getattr(self, f"_{self.spec.family}")(x, training)\n'
        "               ~~~~~~~ <--- HERE"
    )
    scripted = export_job(
        "r1",
        "torch",
        "torchscript-script",
        [export_attempt(w, "torchscript-script", "fails", message=message) for w in WORKLOADS],
    )
    r = report_of(make_store, [scripted, path_job("torch", "onnx-dynamo", ["matches", "matches"])])
    att = export_report.attempts(r)
    assert set(att[att["path"] == "torchscript-script"]["blame"]) == {export_report.HARNESS}
    assert set(att[att["path"] == "onnx-dynamo"]["blame"]) == {""}
    assert "harness limit" in export_report.what_this_means(att)
    assert "torchscript-script" not in verdict_for(CLAIMS["X1"], r).evidence
    assert not export_report.harness_failure("RuntimeError: unsupported op aten::foo", "")


def test_latency_series_measured_on_a_busy_machine_are_kept_out_and_listed(make_store):
    # TFLite's third process timed its series while another program held the CPUs: thirty times slower, it would
    # stretch TFLite's interval over ExecuTorch's and X5 would read a tie where TFLite is ten times faster.
    tflite = with_busy(
        path_job(
            "tensorflow",
            "tflite",
            ["matches", "matches"],
            runtime="litert",
            latency_b1=1e-4,
            process_spread=(1.0, 1.01, 30.0),
        ),
        processes={2},
    )
    executorch = with_busy(path_job("torch", "executorch", ["matches", "matches"], runtime="executorch"), set())
    r = report_of(make_store, [tflite, executorch])
    att = export_report.attempts(r).set_index(["path", "workload"])
    row = att.loc[("tflite", "mlp")]
    assert row["latency_processes"] == 2 and row["latency_b1_busy"] == 1
    assert 1e-4 <= row["latency_b1_s"] <= 1.01e-4 and row["latency_b1_ci_high_s"] < 2e-4
    assert att.loc[("executorch", "mlp"), "latency_processes"] == 3
    assert att.loc[("executorch", "mlp"), "latency_b1_busy"] == 0
    x5 = verdict_for(CLAIMS["X5"], r)
    assert x5.verdict == "supported" and "2 batch-1 latency series measured on a busy machine" in x5.evidence
    busy = export_report.busy_series(r)
    assert (
        set(busy["path"]) == {"tflite"} and set(busy["process"]) == {2} and sorted(busy["workload"]) == ["cnn", "mlp"]
    )
    assert (busy["block_attempts"] == 3).all() and (busy["other_cpus"] == 0.9).all()
    note = export_report.busy_note(r)
    assert note.startswith("2 timed series were measured on a busy machine")
    assert "tflite on mlp, batch 1, process 3: other programs used 0.9 CPUs on average (3 attempts)" in note
    # Every process of a series busy: no latency, said so where a table would otherwise say it did not run.
    everywhere = with_busy(path_job("torch", "executorch", ["matches", "matches"], runtime="executorch"), {0, 1, 2})
    rewritten = export_report.attempts(
        report_of(make_store, [everywhere])
    )  # the same store, executorch's job rewritten
    lone = rewritten.set_index(["path", "workload"]).loc[("executorch", "mlp")]
    assert lone["latency_processes"] == 0 and pd.isna(lone["latency_b1_s"])
    assert (
        export_report.latency_text(lone, 1) == "busy machine" and export_report.latency_text(lone, 64) == "did not run"
    )
    # Runs stored before series were watched carry no flag: nothing says they were busy, so they count.
    plain = report_of(
        make_store,
        [
            path_job("tensorflow", "tflite", ["matches", "matches"], runtime="litert"),
            path_job("torch", "executorch", ["matches", "matches"], runtime="executorch"),
        ],
    )
    assert export_report.busy_series(plain).empty and export_report.busy_note(plain) == ""
    assert (export_report.attempts(plain)["latency_processes"] == 3).all()
