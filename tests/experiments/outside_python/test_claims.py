"""The outside_python tables and the X7 rule on synthetic attempts whose right answer is known by construction."""

import numpy as np
import pytest

from conftest import SCHEMA_VERSION
from fwbench.experiments.outside_python import claims as x7_claims
from fwbench.experiments.outside_python import tables as x7
from fwbench.report.claims import load_claims, verdict_for
from fwbench.report.results import Report
from fwbench.report.sanitize import md
from synthetic.outside_python import with_busy

CLAIM = {c.id: c for c in load_claims()}["X7"]
MODES = {
    "torch": ["node:onnxruntime-node", "node:onnxruntime-web", "browser:onnxruntime-web"],
    "tensorflow": [
        "node:onnxruntime-node",
        "node:onnxruntime-web",
        "node:tfjs-wasm",
        "node:tfjs-node",
        "browser:onnxruntime-web",
        "browser:tfjs-wasm",
    ],
}


def attempt(mode: str, outcome: str, stage: str = "done") -> dict:
    a = {
        "workload": "mlp",
        "runtime": mode,
        "host": mode.split(":")[0],
        "format": "tfjs" if "tfjs" in mode else "onnx",
        "source_path": "p",
        "steps": ["export"],
        "export_batch": 8,
        "outcome": outcome,
        "stage": stage,
        "error": None,
        "batches": {},
        "processes": 3,
        "runtime_version": "rt 1.0",
    }
    if outcome == "fails":
        a.update(
            error={
                "type": "InstallFailed" if stage == "install" else "RuntimeError",
                "message": "<b>no</b> such op",
                "traceback": "<script>alert(1)</script>",
            }
        )
    else:
        a["batches"] = {
            b: {"ran": True, "max_abs_err": 1e-6, "max_rel_err": 1e-6, "passed": outcome == "matches"}
            for b in ("1", "8", "64")
        }
    return a


def job(
    framework: str,
    outcomes: dict,
    latency: dict | None = None,
    bundle: dict | None = None,
    spread=(0.98, 1.0, 1.02),
    seed: int = 0,
) -> dict:
    """A stored job: per mode its outcome ('fails@install' fails at the install), per mode a batch-1/64 latency
    (seconds, three processes scattered by `spread`), and the runtime bytes a page fetched."""
    rng = np.random.default_rng(seed)
    attempts, records = [], []
    for mode in MODES[framework]:
        outcome, _, stage = outcomes.get(mode, "matches").partition("@")
        attempts.append(attempt(mode, outcome, stage or ("done" if outcome != "fails" else "load")))
        if outcome == "fails":
            continue

        def rec(metric, value, batch=8, **extra):
            records.append(
                {
                    "workload": "mlp",
                    "mode": mode,
                    "phase": "infer",
                    "batch_size": batch,
                    "metric": metric,
                    "value": float(value),
                    "unit": "",
                    **extra,
                }
            )

        rec("parity_ok", outcome == "matches")
        rec("dynamic_batch_ok", True)
        rec("package_bytes", 3e8)
        for p, factor in enumerate(spread):
            noise = 1 + 0.001 * rng.standard_normal()
            for b in (1, 64):
                rec("step_time_median_s", (latency or {}).get(mode, 1e-3) * b**0.5 * factor * noise, batch=b, process=p)
            rec("load_s", 0.1 * factor, process=p)
            if mode in (bundle or {}):
                rec("bundle_bytes", bundle[mode], process=p)
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "job",
        "run_id": "r1",
        "job_id": f"outside_python-{framework}-cpu-models-node-and-browser-p0",
        "job_key": f"key-{framework}",
        "experiment": "outside_python",
        "framework": framework,
        "device": "cpu",
        "workload": "models",
        "variant": "node-and-browser",
        "mode": "javascript",
        "status": "ok",
        "params": {"workloads": ["mlp"], "export_batch": 8, "atol": 1e-5, "rtol": 1e-4},
        "process": 0,
        "records": records,
        "attempts": attempts,
        "samples": [],
        "checks": [],
        "framework_version": "1.0",
        "error": None,
    }


def report_of(make_store, jobs):
    return Report(make_store([("r1", jobs)]).load()[0])


def verdict(make_store, *jobs):
    return verdict_for(CLAIM, report_of(make_store, list(jobs)))


WEB_FAST = {"browser:tfjs-wasm": 0.5e-3, "browser:onnxruntime-web": 1e-3}
WEB_SLOW = {"browser:tfjs-wasm": 2e-3, "browser:onnxruntime-web": 1e-3}
SMALL = {"browser:tfjs-wasm": 2e6, "browser:onnxruntime-web": 15e6}
LARGE = {"browser:tfjs-wasm": 30e6, "browser:onnxruntime-web": 15e6}


def test_attempts_give_one_row_per_runtime_with_intervals_over_processes(make_store):
    df = x7.attempts(report_of(make_store, [job("tensorflow", {"node:tfjs-node": "fails@install"}, WEB_FAST, SMALL)]))
    assert list(df["runtime"]) == x7.RUNTIME_ORDER
    row = df.set_index("runtime").loc["browser:tfjs-wasm"]
    assert row["latency_b1_ci_low_s"] < row["latency_b1_s"] < row["latency_b1_ci_high_s"]
    assert row["bundle_bytes"] == pytest.approx(2e6) and x7.works(row)
    failed = df.set_index("runtime").loc["node:tfjs-node"]
    assert failed["outcome"] == "fails" and failed["stage"] == "install" and not x7.works(failed)


def test_x7_supported_when_onnx_runs_everywhere_and_tfjs_leads_in_the_page(make_store):
    v = verdict(make_store, job("torch", {}), job("tensorflow", {}, WEB_FAST, SMALL))
    assert v.verdict == "supported", v.evidence
    assert "JavaScript only" in v.rule and "Maven Central" in v.evidence
    # The web half's latencies are redrawn on every simulated rerun, the rest repeats as measured.
    assert v.reruns is not None and v.reruns[1] == 40 and "simulated reruns" in v.evidence


def test_x7_mixed_when_onnx_ports_but_tfjs_is_slower_and_heavier(make_store):
    v = verdict(make_store, job("torch", {}), job("tensorflow", {}, WEB_SLOW, LARGE))
    assert v.verdict == "mixed", v.evidence


def test_x7_contradicted_when_onnx_fails_everywhere_and_tfjs_trails(make_store):
    broken = {m: "fails" for m in x7_claims.ONNX_MODES}
    v = verdict(
        make_store, job("torch", broken), job("tensorflow", {**broken, "browser:tfjs-wasm": "differs"}, WEB_SLOW, LARGE)
    )
    assert v.verdict.startswith("contradicted"), v.evidence


def test_an_install_that_failed_does_not_vote_against_onnx_runtime(make_store):
    cells = x7_claims.portability_cells(
        x7.attempts(report_of(make_store, [job("torch", {"node:onnxruntime-web": "fails@install"})]))
    )
    assert cells.set_index("runtime").loc["node:onnxruntime-web", "role"] == "inconclusive"
    assert set(cells.set_index("runtime").drop("node:onnxruntime-web")["role"]) == {"supports"}


def test_latencies_inside_the_margin_are_equivalent_and_support_the_web_half(make_store):
    same = {"browser:tfjs-wasm": 1e-3, "browser:onnxruntime-web": 1e-3}
    r = report_of(make_store, [job("tensorflow", {}, same, SMALL, spread=(0.999, 1.0, 1.001))])
    cells = x7_claims.web_cells(x7.attempts(r), x7.latency_samples(r))
    latency = cells[cells["label"].str.contains("latency")]
    assert len(latency) == 2 and set(latency["role"]) == {"supports"}
    assert "equivalent" in " ".join(latency["detail"])


def test_one_process_gives_no_interval_and_no_vote(make_store):
    r = report_of(make_store, [job("tensorflow", {}, WEB_FAST, SMALL, spread=(1.0,))])
    cells = x7_claims.web_cells(x7.attempts(r), x7.latency_samples(r))
    assert set(cells[cells["label"].str.contains("latency")]["role"]) == {"inconclusive"}


@pytest.mark.parametrize(
    "portability, web, joined",
    [
        ("supported", "supported", "supported"),
        ("supported", "supported with exceptions", "supported with exceptions"),
        ("supported", "contradicted", "mixed"),
        ("contradicted", "contradicted with exceptions", "contradicted with exceptions"),
        ("supported", "inconclusive", "inconclusive"),
        ("contradicted", "inconclusive", "contradicted"),
        ("supported", "not yet measured", "inconclusive"),
        ("not yet measured", "not yet measured", "not yet measured"),
    ],
)
def test_the_halves_join_as_a_conjunction(portability, web, joined):
    assert x7_claims.combine(portability, web) == joined


def test_no_jobs_no_verdict(make_store):
    assert verdict(make_store).verdict == "not yet measured"


def test_the_chapters_sentences_count_the_rows(make_store):
    r = report_of(
        make_store,
        [
            job("torch", {"node:onnxruntime-web": "differs"}),
            job("tensorflow", {"node:tfjs-node": "fails@install"}, WEB_FAST, SMALL),
        ],
    )
    df = x7.attempts(r)
    text = x7.what_this_means(df)
    assert f"{int(df.apply(x7.works, axis=1).sum())} of {len(df)}" in text
    assert "<b>" not in text  # a stored message is text, not markup
    assert md("node:tfjs-node") in text and "install" in text
    measured = x7.what_was_measured(df)
    assert "rt 1.0" in measured and f"{len(df)} (source, workload, runtime) rows" in measured


def test_processes_measured_on_a_busy_machine_are_kept_out_and_listed(make_store):
    # TF.js's third page ran while another program held the CPUs: thirty times slower, it would turn TF.js's lead in
    # the page into a loss (or no interval at all) if it counted.
    tf = with_busy(job("tensorflow", {}, WEB_FAST, SMALL), processes={2}, modes={"browser:tfjs-wasm"})
    for r in tf["records"]:
        if (
            r["mode"] == "browser:tfjs-wasm"
            and r.get("process") == 2
            and r["metric"] in ("step_time_median_s", "load_s")
        ):
            r["value"] *= 30
    r = report_of(make_store, [job("torch", {}), tf])
    att = x7.attempts(r).set_index(["framework", "runtime"])
    row = att.loc[("tensorflow", "browser:tfjs-wasm")]
    assert row["busy_processes"] == 1 and row["latency_b1_s"] < 0.6e-3 and row["load_s"] < 0.2
    assert att.loc[("tensorflow", "browser:onnxruntime-web"), "busy_processes"] == 0
    assert set(x7.latency_samples(r)[("testbox", "tensorflow", "mlp", "browser:tfjs-wasm", 1)]) == {0, 1}
    v = verdict_for(CLAIM, r)
    assert v.verdict == "supported", v.evidence
    assert "1 page(s) measured on a busy machine" in v.evidence
    busy = x7.busy_runs(r)
    assert busy[["framework", "runtime", "process"]].values.tolist() == [["tensorflow", "browser:tfjs-wasm", 2]]
    assert busy.iloc[0]["other_cpus"] == 0.9 and busy.iloc[0]["block_attempts"] == 3
    note = x7.busy_note(r)
    assert note.startswith("1 fresh process(es) or page(s) were measured on a busy machine")
    assert f"tensorflow mlp in {md('browser:tfjs-wasm')}, page 3: other programs used 0.9 CPUs on average" in note
    assert note.endswith("(3 attempts)")
    # Runs stored before processes were watched carry no flag: nothing says they were busy, so they count.
    plain = report_of(make_store, [job("torch", {}), job("tensorflow", {}, WEB_FAST, SMALL)])
    assert x7.busy_runs(plain).empty and x7.busy_note(plain) == ""
    assert (x7.attempts(plain)["busy_processes"].fillna(0) == 0).all()
