"""X1, X2, X3, X5, X6 on synthetic attempts we control (never on measured outcomes)."""

from fwbench.experiments.export import tables as export_report
from fwbench.report.claims import load_claims, verdict_for
from fwbench.report.results import Report
from synthetic.export import WORKLOADS, export_attempt, export_job, path_job

CLAIMS = {c.id: c for c in load_claims()}


def report_of(make_store, jobs):
    return Report(make_store([("r1", jobs)]).load()[0])


def test_x1_supported_only_when_every_workload_is_smooth(make_store):
    smooth = report_of(make_store, [path_job("torch", "onnx-dynamo", ["matches", "matches"])])
    assert verdict_for(CLAIMS["X1"], smooth).verdict == "supported"


def test_x1_contradicted_when_no_workload_runs_at_other_batch_sizes(make_store):
    r = report_of(make_store, [path_job("torch", "onnx-dynamo", ["matches", "matches"], dynamic=False)])
    assert verdict_for(CLAIMS["X1"], r).verdict == "contradicted"


def test_x1_mixed(make_store):
    r = report_of(make_store, [path_job("torch", "onnx-dynamo", ["matches", "fails"])])
    assert verdict_for(CLAIMS["X1"], r).verdict == "mixed"


def test_x2_follows_the_share_of_onnx_models_that_differ(make_store):
    """None of three differs: "often" is not ruled out (0 of 3 allows a 63% rate); none of twelve: it is."""
    few = report_of(
        make_store,
        [
            path_job("torch", "onnx-dynamo", ["matches", "matches"]),
            path_job("tensorflow", "tf2onnx", ["matches", "fails"]),
        ],
    )
    v = verdict_for(CLAIMS["X2"], few)
    assert v.verdict == "inconclusive" and "0 of 3 ONNX models" in v.evidence and "95% upper bound 63%" in v.evidence
    many = report_of(
        make_store,
        [path_job(fw, f"onnx-{i}", ["matches", "matches"]) for i, fw in enumerate(["torch", "tensorflow", "jax"] * 2)],
    )
    assert verdict_for(CLAIMS["X2"], many).verdict == "contradicted"


def test_x2_names_a_framework_whose_onnx_path_failed(make_store):
    from fwbench.report.findings import because

    r = report_of(
        make_store,
        [path_job("torch", "onnx-dynamo", ["matches", "matches"]), path_job("jax", "jax2onnx", ["fails", "fails"])],
    )
    v = verdict_for(CLAIMS["X2"], r)
    assert because(v).startswith("No ONNX model from jax ran (its ONNX path failed)")


def test_x2_supported_when_onnx_differs_often_and_more_than_others(make_store):
    r = report_of(
        make_store,
        [
            path_job("torch", "onnx-dynamo", ["differs", "matches"]),
            path_job("tensorflow", "savedmodel", ["matches", "matches"], runtime="tf_savedmodel"),
        ],
    )
    v = verdict_for(CLAIMS["X2"], r)
    assert v.verdict == "supported" and "1 of 2 ONNX models" in v.evidence


def test_x3_contrasts_savedmodel_with_torch_export(make_store):
    def verdict(saved, native):
        return verdict_for(
            CLAIMS["X3"],
            report_of(
                make_store,
                [
                    path_job("tensorflow", "savedmodel", saved, runtime="tf_savedmodel"),
                    path_job("torch", "torch.export", native, runtime="torch_export"),
                ],
            ),
        ).verdict

    assert verdict(["matches", "matches"], ["matches", "fails"]) == "supported"
    assert verdict(["matches", "differs"], ["matches", "matches"]) == "contradicted"
    assert verdict(["matches", "matches"], ["matches", "matches"]) == "mixed"


def test_x5_not_testable_when_the_pytorch_edge_runtime_is_missing(make_store):
    missing = export_job(
        "r1",
        "torch",
        "executorch",
        [
            export_attempt(w, "executorch", "fails", error_type="ModuleNotFoundError", runtime="executorch")
            for w in WORKLOADS
        ],
        runtime="executorch",
    )
    r = report_of(make_store, [path_job("tensorflow", "tflite", ["matches", "matches"], runtime="litert"), missing])
    assert verdict_for(CLAIMS["X5"], r).verdict == "not testable here"


def test_x5_by_outcome_then_latency(make_store):
    def verdict(tfl_lat, et_outcomes, et_lat=1e-3):
        return verdict_for(
            CLAIMS["X5"],
            report_of(
                make_store,
                [
                    path_job("tensorflow", "tflite", ["matches", "matches"], runtime="litert", latency_b1=tfl_lat),
                    path_job("torch", "executorch", et_outcomes, runtime="executorch", latency_b1=et_lat),
                ],
            ),
        ).verdict

    assert verdict(1e-4, ["matches", "matches"]) == "supported"  # TFLite 10x faster, CIs apart
    # Two latency intervals decided it, which the rerun check does not redraw yet: the verdict says so.
    fast = verdict_for(
        CLAIMS["X5"],
        report_of(
            make_store,
            [
                path_job("tensorflow", "tflite", ["matches", "matches"], runtime="litert", latency_b1=1e-4),
                path_job("torch", "executorch", ["matches", "matches"], runtime="executorch", latency_b1=1e-3),
            ],
        ),
    )
    assert fast.reruns is None and "Reproducibility: not checked" in fast.evidence
    assert verdict(1e-2, ["matches", "matches"]) == "contradicted"
    assert verdict(1e-3, ["matches", "matches"]) == "mixed"  # overlapping CIs: ties
    assert verdict(1e-2, ["fails", "fails"]) == "supported"  # only TFLite converts


def test_x5_latencies_timed_in_forks_of_one_process_separate_nothing(make_store):
    """Forks of one process share its memory layout and luck: an interval over them is too narrow, so a 10x gap
    timed that way is a tie; over fresh processes the same gap decides."""

    def verdict(kind):
        return verdict_for(
            CLAIMS["X5"],
            report_of(
                make_store,
                [
                    path_job(
                        "tensorflow",
                        "tflite",
                        ["matches", "matches"],
                        runtime="litert",
                        latency_b1=1e-4,
                        latency_kind=kind,
                    ),
                    path_job(
                        "torch",
                        "executorch",
                        ["matches", "matches"],
                        runtime="executorch",
                        latency_b1=1e-3,
                        latency_kind=kind,
                    ),
                ],
            ),
        )

    forked = verdict("fork")
    assert forked.verdict == "mixed" and "timed in forks of one process" in forked.evidence
    assert verdict("fresh").verdict == "supported"


def test_x5_a_path_that_only_runs_at_its_exported_batch_does_not_work(make_store):
    r = report_of(
        make_store,
        [
            path_job("tensorflow", "tflite", ["matches", "matches"], runtime="litert", latency_b1=1e-2),
            path_job(
                "torch", "executorch", ["matches", "matches"], runtime="executorch", latency_b1=1e-4, dynamic=False
            ),
        ],
    )
    v = verdict_for(CLAIMS["X5"], r)
    assert v.verdict == "supported"
    # The deciding fact opens the evidence (the rows below it all read "matches"), and so the reason on page 1.
    first = v.evidence.split("\n")[0]
    assert first.startswith("Per workload: ")
    assert "**tflite ahead** (tflite works; executorch does not work at every batch size)" in first
    from fwbench.report.findings import because

    assert because(v).startswith("Per workload: ") and "executorch does not work at every batch size" in because(v)


def test_x6_needs_all_three_backends(make_store):
    def keras(fw, outcomes):
        return path_job(fw, "keras3", outcomes, runtime=f"keras:{fw}")

    everywhere = report_of(make_store, [keras(f, ["matches", "matches"]) for f in ("torch", "tensorflow", "jax")])
    assert verdict_for(CLAIMS["X6"], everywhere).verdict == "supported"
    some = report_of(
        make_store,
        [
            keras("torch", ["matches", "fails"]),
            keras("tensorflow", ["matches", "matches"]),
            keras("jax", ["matches", "matches"]),
        ],
    )
    assert verdict_for(CLAIMS["X6"], some).verdict == "mixed"
    assert set(export_report.keras_backends(export_report.attempts(some))["backend"]) == {"torch", "tensorflow", "jax"}


def test_a_store_without_keras3_paths_gives_x6_no_verdict_instead_of_an_error(make_store):
    r = report_of(make_store, [path_job("torch", "onnx-dynamo", ["matches", "matches"], runtime="onnxruntime")])
    assert export_report.keras_backends(export_report.attempts(r)).empty
    assert verdict_for(CLAIMS["X6"], r).verdict == "not yet measured"


def test_x5_never_calls_a_winner_from_one_process_per_path(make_store):
    r = report_of(
        make_store,
        [
            path_job(
                "tensorflow", "tflite", ["matches", "matches"], runtime="litert", latency_b1=1e-4, process_spread=(1.0,)
            ),
            path_job(
                "torch",
                "executorch",
                ["matches", "matches"],
                runtime="executorch",
                latency_b1=1e-3,
                process_spread=(1.0,),
            ),
        ],
    )
    assert verdict_for(CLAIMS["X5"], r).verdict == "mixed"  # 10x apart, but no interval over processes: ties


def test_a_verdict_from_the_quick_profile_only_says_so_and_names_the_command_that_measures_more(make_store):
    """Issue 41: quick is a first look; an inconclusive verdict there reads "inconclusive in the quick profile"."""
    jobs = [
        path_job("torch", "onnx-dynamo", ["matches", "matches"]),
        path_job("tensorflow", "tf2onnx", ["matches", "fails"]),
    ]
    quick = Report(make_store([("r1", jobs)], profile="quick").load()[0])
    v = verdict_for(CLAIMS["X2"], quick)
    assert v.verdict == "inconclusive" and "Inconclusive in the quick profile" in v.evidence
    assert "PROFILE=full make report" in v.evidence
    decided = verdict_for(CLAIMS["X1"], quick)
    assert decided.verdict == "supported" and "From the quick profile only" in decided.evidence


def test_a_verdict_with_a_full_run_behind_it_names_no_first_look(make_store):
    jobs = [path_job("torch", "onnx-dynamo", ["matches", "matches"])]
    full = Report(make_store([("r1", jobs)], profile="full").load()[0])
    assert "quick profile" not in verdict_for(CLAIMS["X1"], full).evidence
