"""End to end, for real: papermill runs every framework, the store fills, reruns reuse, the book builds and shows it all."""

import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from conftest import job, manifest
from fwbench.experiments.eager_vs_graph import views
from fwbench.matrix.profile import load_profile
from fwbench.report.claims import VERDICTS
from fwbench.report.results import Report
from fwbench.store.store import Store
from tiers import EXTENDED

REPO = Path(__file__).resolve().parent.parent
#: The full tier only (tests/tiers.py): this profile alone takes about 12 minutes of this 2-core machine.
pytestmark = [pytest.mark.slow, EXTENDED]

#: Verdicts a rule can reach from measurements (the scale, plus inconclusive).
JUDGED = tuple(v for v in VERDICTS if v not in ("not testable here", "not yet measured"))


#: The smoke profile's jobs: counted from the profile, so adding an experiment's smoke lines changes no test.
SMOKE_JOBS = len(load_profile("smoke").jobs)


def cli(*args, timeout=1500, env=None):
    return subprocess.run(
        [sys.executable, "-m", "fwbench", *args], capture_output=True, text=True, cwd=REPO, timeout=timeout, env=env
    )


#: Credentials a maker's environment holds, under names the old prefix rule recorded (Terraform's TF_ tokens,
#: NVIDIA's and Triton's API keys, TorchServe's token): none may reach a stored file, a bundle or a page.
SECRETS = {
    "TF_API_TOKEN": "tfTok3nValue0fTheMaker9xq",
    "TF_TOKEN_app_terraform_io": "tfHostTok3nQ8w7e6r5t4y",
    "NVIDIA_API_KEY": "nvapi-Mak3rsPr1vateKeyValue0123456789abcd",
    "TRITON_API_KEY": "tr1tonKeyOfTheMakerZ9",
    "TORCHSERVE_AUTH_TOKEN": "t0rchServeT0kenMakerQ1",
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """Runs the smoke profile, a rerun, a job that times out, and builds the book; returns what each left.

    Every command runs with credentials in its environment and HOME set to the folder holding the store, the
    book and the bundles, as on a maker's laptop: nothing they leave may name either."""
    import functools
    import os

    tmp = tmp_path_factory.mktemp("pipeline")
    cli = functools.partial(globals()["cli"], env={**os.environ, **SECRETS, "HOME": str(tmp)})
    store = tmp / "store"
    first = cli("--store", str(store), "run", "--profile", "smoke", "--no-progress")
    second = cli("--store", str(store), "run", "--profile", "smoke", "--no-progress")
    slow = tmp / "timeout.yml"
    slow.write_text(
        "name: timeout\ntimeout_s: 1\nexperiments:\n  eager_vs_graph:\n    frameworks: [jax]\n"
        "    variants: [eager]\n    devices: [cpu]\n    workloads: [mlp]\n    processes: 1\n"
        "    params: {batch_size: 8, min_samples: 1000000, max_blocks: 1000000}\n"
    )
    timed_out = cli("--store", str(store), "run", "--profile", str(slow), "--no-progress")
    # A stored failure whose message carries markup: the book must show it as text.
    evil = {"type": "RuntimeError", "message": "<script>alert('pwned')</script><b>boom</b>", "traceback": "<i>tb</i>"}
    s = Store(store)
    s.write_manifest(manifest("99990101T000000Z-other", machine_id="other-cpu-11111111", label="otherbox"))
    s.write_job(job("99990101T000000Z-other", "torch", "torch.compile", "graph", None, status="failed", error=evil))
    csv = tmp / "results.csv"
    export = cli("--store", str(store), "results", "--format", "csv", "-o", str(csv))
    # The version "what changed" compares with: kept as a build keeps it, without building a book nobody reads
    # (a full build costs this half of the suite about 40 s; the build after the import is the one checked).
    from fwbench.report import versions

    previous = versions.save(s, versions.current_manifest(s, Report.load(store), "before-the-import", {}))
    # A second machine arrives as a bundle, as it would from a colleague's laptop or a GPU box.
    bundle = simulated_machine_bundle(s, tmp / "sim")
    imported = cli("--store", str(store), "import", str(bundle))
    book = cli("--store", str(store), "book", "--no-reference", "--out", str(tmp / "book"))
    unchanged = cli("--store", str(store), "book", "--no-reference", "--out", str(tmp / "book"))
    # The nightly finds the HTML book already built from these inputs (left as it is) and adds the single page.
    nightly = cli(
        "--store",
        str(store),
        "nightly",
        "--profile",
        "smoke",
        "--no-reference",
        "--no-progress",
        "--out",
        str(tmp / "nightly"),
        "--book-out",
        str(tmp / "book"),
    )
    return {
        "home": tmp,
        "nightly": nightly,
        "nightly_dir": tmp / "nightly",
        "store": s,
        "first": first,
        "second": second,
        "timed_out": timed_out,
        "export": export,
        "csv": csv,
        "previous": previous,
        "imported": imported,
        "bundle": bundle,
        "book": book,
        "unchanged": unchanged,
        "html": tmp / "book" / "_build" / "html",
    }


SIM_LABEL, SIM_ID, SIM_THREADS = "simbox-gpu", "sim-gpu-5151515a", 1


def simulated_machine_bundle(store: Store, tmp: Path) -> Path:
    """The smoke run as if measured on another machine (other label, id, hardware and thread count), bundled."""
    smoke = [r for r in store.load()[0] if r.manifest["profile"]["name"] == "smoke"][0]
    sim = Store(tmp / "store")
    run_id = smoke.run_id.split("-")[0] + "-" + SIM_ID
    m = json.loads(json.dumps(smoke.manifest))
    m.update(run_id=run_id, machine_id=SIM_ID, machine_label=SIM_LABEL)
    m["fingerprint"].update(machine_id=SIM_ID, machine_label=SIM_LABEL, machine_label_source="env")
    m["fingerprint"]["hardware"].update(
        cpu_model="Simulated CPU",
        usable_cpus=SIM_THREADS,
        gpus=[{"name": "Simulated GPU", "driver": "0.0", "memory_bytes": 2**34}],
    )
    sim.write_manifest(m)
    for j in smoke.jobs:
        j = json.loads(json.dumps(j))
        j["run_id"] = run_id
        if "threads" in j.get("settings", {}):
            j["settings"]["threads"] = SIM_THREADS
        if j["experiment"] == "serving" and j["status"] == "skipped":  # a stored error text that carries markup
            j["error"]["message"] = HOSTILE["error"]
        sim.write_job(j)
        for kind, name in (("notebooks", f"{j['job_id']}.ipynb"), ("logs", f"{j['job_id']}.log")):
            src = smoke.path / kind / name
            if src.is_file():
                (sim.run_dir(run_id) / kind).mkdir(parents=True, exist_ok=True)
                data = src.read_bytes()
                if kind == "notebooks" and j["experiment"] == "eager_vs_graph":
                    data = hostile_notebook(data, tmp / EXECUTED)
                (sim.run_dir(run_id) / kind / name).write_bytes(data)
    out = tmp / "simbox.fwbundle"
    res = cli("--store", str(sim.root), "bundle", "-o", str(out), "--machine", SIM_ID)
    assert res.returncode == 0, res.stderr
    return out


#: What a hostile colleague's bundle carries: each, if it ran, would mark the page (a title or a body attribute).
HOSTILE = {
    "markdown": "Hello <img src=x onerror=\"document.body.dataset.pwned='markdown'\"> from a bundle",
    "html": "<b>ok</b><script>document.body.dataset.pwned='html'</script>"
    "<img src=x onerror=\"document.title='PWNED'\"><a href=\"javascript:document.title='PWNED'\">x</a>",
    "js": "document.body.dataset.pwned='javascript'",
    "svg": "<svg xmlns='http://www.w3.org/2000/svg' onload=\"document.body.dataset.pwned='svg'\"></svg>",
    "error": "<img src=x onerror=\"document.body.dataset.pwned='error'\"> went wrong",
    "directive": "```{raw} html\n<script>document.body.dataset.pwned='directive'</script>\n```",
}


#: The file a hostile notebook's code cell writes if the book build ever runs it (next to the bundle).
EXECUTED = "executed-by-the-book-build"


def hostile_notebook(data: bytes, marker: Path) -> bytes:
    """An executed notebook with attacker content in a markdown cell and in every kind of rich output, and
    metadata asking MyST-NB to execute it at build time (a code cell that would leave `marker`)."""
    nb = nbformat.reads(data.decode(), as_version=4)
    nb.metadata["mystnb"] = {"execution_mode": "force", "execution_excludepatterns": [], "execution_allow_errors": True}
    nb.cells.append(nbformat.v4.new_code_cell(f"open({str(marker)!r}, 'w').write('ran')"))
    nb.cells.append(nbformat.v4.new_markdown_cell(HOSTILE["markdown"] + "\n\n" + HOSTILE["directive"]))
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "display(evil)",
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "text/html": HOSTILE["html"],
                        "application/javascript": HOSTILE["js"],
                        "image/svg+xml": HOSTILE["svg"],
                        "text/markdown": HOSTILE["markdown"],
                        "text/plain": "evil",
                    },
                )
            ],
        )
    )
    nb.cells.append(nbformat.v4.new_raw_cell(HOSTILE["html"], metadata={"format": "text/html"}))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    return nbformat.writes(nb).encode()


def test_smoke_profile_runs_every_framework(pipeline):
    first = pipeline["first"]
    assert first.returncode == 0, first.stderr[-3000:]
    assert f"{SMOKE_JOBS} executed, 0 reused, 0 failed, 1 skipped" in first.stdout
    runs, problems = pipeline["store"].load()
    assert not problems
    smoke = [
        j
        for r in runs
        for j in r.jobs
        if r.manifest["profile"]["name"] == "smoke" and j["experiment"] == "eager_vs_graph"
    ]
    assert sorted({j["framework"] for j in smoke}) == ["jax", "tensorflow", "torch"]
    assert all(j["status"] == "ok" for j in smoke)
    for j in smoke:
        assert all(c["passed"] for c in j["checks"]), (j["job_id"], j["checks"])
        assert j["settings"]["threads"] >= 1
        assert all(len(entry["values"]) >= 5 for entry in j["samples"])
        assert all(len(losses) == j["params"]["loss_steps"] for losses in j["losses"].values())
        # Every variant of the framework in this one process, interleaved; the eager twin on mlp (A/A).
        assert {e["variant"] for e in j["samples"]} == set(j["variant"].split(","))
        assert any(e["replicate"] == 1 for e in j["samples"])
        assert j["settings"]["os_threads"] >= 1 and j["process_info"]["seed"]
        # Where the process's time went: every part, none negative, together within the job's wall time.
        wall = j["process_info"]["wall_s"]
        assert {
            "import and configure",
            "train first calls",
            "train warm-up",
            "train timed rounds",
            "infer timed rounds",
        } <= set(wall) and min(wall.values()) >= 0
        assert sum(wall.values()) <= j["duration_s"]
    caches = {(j["framework"], j["process"]): j["settings"]["compile_cache"] for j in smoke}
    assert {c for (_, p), c in caches.items() if p == 0} == {"cold"}
    # Compilers with an on-disk cache find it filled by the cell's first process.
    assert caches[("torch", 1)] == "warm" and caches[("jax", 1)] == "warm"


def test_every_executed_notebook_is_valid_and_logged(pipeline):
    runs, _ = pipeline["store"].load()
    count = 0
    for run in runs:
        for j in run.jobs:
            path = run.notebook(j["job_id"])
            if run.run_id.startswith("9999") or run.run_id.endswith(SIM_ID):  # synthetic, and the smoke run's copy
                continue
            nb = nbformat.read(path, as_version=4)
            nbformat.validate(nb)
            assert nb.metadata["papermill"]["parameters"]["framework"] == j["framework"]
            assert (run.path / "logs" / f"{j['job_id']}.log").is_file()
            count += 1
    assert count == SMOKE_JOBS + 1  # the smoke profile's jobs (tf-serving's skipped one included) and the timed-out one


def test_manifest_fingerprint(pipeline):
    runs, _ = pipeline["store"].load()
    m = runs[0].manifest
    assert m["status"] == "complete" and m["finished"]
    fp = m["fingerprint"]
    assert fp["hardware"]["cpu_model"] and fp["packages"]["torch"].startswith("2.13")
    assert fp["fwbench"]["commit"]


def test_rerun_reuses_everything(pipeline):
    second = pipeline["second"]
    assert second.returncode == 0, second.stderr[-3000:]
    # Skipped jobs too: nothing about the machine changed, so TensorFlow Serving is still missing.
    assert f"0 executed, {SMOKE_JOBS} reused, 0 failed" in second.stdout


def test_timeout_is_a_recorded_failure(pipeline):
    res = pipeline["timed_out"]
    assert res.returncode == 1
    assert "1 executed, 0 reused, 1 failed" in res.stdout
    runs, _ = pipeline["store"].load()
    failed = [j for r in runs for j in r.jobs if j["status"] == "failed" and j["framework"] == "jax"]
    assert len(failed) == 1 and "timed out" in failed[0]["error"]["message"]


def test_tidy_export(pipeline):
    assert pipeline["export"].returncode == 0, pipeline["export"].stderr
    df = pd.read_csv(pipeline["csv"])
    ok = df[(df.status == "ok") & (df.experiment == "eager_vs_graph")]
    assert set(ok.framework) == {"torch", "tensorflow", "jax"}
    assert set(ok["mode"]) == {"eager", "graph"} and set(ok.phase) == {"train", "infer"}
    assert {"eager", "torch.compile", "tf.function", "tf.function+xla", "jax.jit"} <= set(ok.variant)
    for metric in (
        "step_time_median_s",
        "step_time_ci_low_s",
        "step_time_ci_high_s",
        "first_call_s",
        "first_call_cold_s",
        "shape_change_s",
        "peak_rss_bytes",
        "gflops",
        "throughput_per_s",
    ):
        per_fw = ok[ok.metric == metric].groupby("framework").size()
        assert set(per_fw.index) == {"torch", "tensorflow", "jax"}, metric
    assert (ok[ok.metric == "first_step_loss_rel_err"].value < 1e-4).all()
    assert {"torch.compile", "jax.jit"} <= set(ok[ok.metric == "first_call_warm_s"].variant)
    # A break-even row for every compiled variant that was compared: a series that never settled (smoke budgets on a
    # noisy VM) is excluded from comparisons, and so from break-even, rather than reported.

    compared = views.comparisons(Report.load(pipeline["store"].root))
    assert not compared.empty, "no compiled variant was compared at all"
    assert set(ok[ok.metric == "break_even_steps"].variant) == set(compared.variant)
    assert set(compared.variant) <= {
        "torch.compile",
        "torch.compile-forward",
        "tf.function",
        "tf.function+xla",
        "jax.jit",
    }
    # torch.compile-forward trains only; torch's automatic dynamic shapes are a figure of their own.
    assert "torch.compile-forward" not in set(ok[ok.phase == "infer"].variant)
    assert set(ok[ok.metric == "shape_change_automatic_s"].variant) == {"torch.compile"}
    assert ok[ok.metric != "break_even_steps"].value.notna().all()
    assert len(df[df.status == "failed"]) == 2
    dbg = df[df.experiment == "debugging"]
    assert set(dbg.status) == {"ok"}
    # The tool-cost rows name the workload they timed (mlp); `nan_loss` is not named `nan`, which CSV readers turn into NaN.
    assert {"shape", "nan_loss", "print", "breakpoint", "profiler_trace", "scalar_log", "mlp"} == set(dbg.workload)
    assert {"none", "detect_anomaly", "check_numerics", "debug_nans"} == set(dbg.variant)
    cases = dbg[dbg.metric.str.startswith("outcome_")]
    # Every case has exactly one outcome, in eager and compiled mode, for every framework.
    per_case = cases.groupby(["framework", "variant", "workload", "mode"])["value"].sum()
    assert (per_case == 1).all() and len(per_case) == 3 * 4 * 2 + 3 * 1 * 2  # all bugs with no tool, nan_loss with one
    # Every framework's tool cost was measured in both modes over the profile's processes. A slowdown is stored
    # only where some process held a steady state, which a loaded machine (CI runs the other tests beside this
    # one) does not promise; an all-unsteady mode is a stored result, never a median.
    counted = dbg[dbg.metric.isin(["tool_cost_processes", "tool_cost_unstable_processes"])]
    per_mode = counted.groupby(["framework", "mode"])["value"].sum()
    assert set(per_mode.index) == {(f, m) for f in ("torch", "tensorflow", "jax") for m in ("eager", "graph")}
    assert (per_mode == 2).all(), per_mode
    steady = counted[(counted.metric == "tool_cost_processes") & (counted.value > 0)]
    slowed = dbg[dbg.metric == "tool_slowdown"]
    assert set(zip(slowed.framework, slowed["mode"])) == set(zip(steady.framework, steady["mode"]))
    assert not slowed.empty, "no framework's tool cost reached a steady state in any process"
    exp = df[df.experiment == "export"]
    assert set(exp.status) == {"ok"} and set(exp.workload) == {"mlp"}
    assert {
        ("torch", "onnx-dynamo"),
        ("tensorflow", "tflite"),
        ("jax", "jax-export"),
        ("torch", "keras3"),
        ("tensorflow", "keras3"),
        ("jax", "keras3"),
    } == set(zip(exp.framework, exp.variant))
    assert {"onnxruntime", "litert", "jax_export", "keras:torch", "keras:tensorflow", "keras:jax"} == set(exp["mode"])
    parity = exp[exp.metric == "max_abs_err"].groupby("variant").size()
    assert set(parity.index) == {"onnx-dynamo", "tflite", "jax-export", "keras3"}
    assert {"max_rel_err", "export_bytes", "load_s", "parity_ok", "dynamic_batch_ok"} <= set(exp.metric)
    assert (exp[exp.metric == "max_abs_err"].value >= 0).all()


def page(pipeline, name):
    return read_page(pipeline["html"] / name)


def read_page(path):
    """A page as a reader's find-in-page sees it: <wbr> break points split no word or file name."""
    return path.read_text().replace("<wbr>", "")


def test_book_builds_with_figures_tables_and_verdicts(pipeline):
    assert pipeline["book"].returncode == 0, pipeline["book"].stdout[-3000:] + pipeline["book"].stderr[-3000:]
    evg = page(pipeline, "chapters/eager_vs_graph.html")
    assert len(re.findall(r"<img [^>]*src=\"[^\"]*_images/", evg)) >= 2
    assert evg.count("<table") >= 4
    assert "Speedup of compiled over eager" in evg
    assert "What exactly is timed" in evg and "ops per eager train step" in evg
    # The whole book, with a second machine's notebooks in its appendix, stays within the size a reader downloads
    # (the committed references add well under a megabyte).
    from fwbench.book import size

    assert size.total(pipeline["html"]) < size.TARGET_BYTES
    assert "fwbench: book: " in pipeline["book"].stdout and "target 25 MB" in pipeline["book"].stdout


def test_every_job_recorded_what_it_timed_and_ran_as_configured(pipeline):
    """Issue 16: scope, ops, donation, precision and threads come from the jobs themselves, and hold."""
    from fwbench.experiments.eager_vs_graph import tables as what_is_timed

    table = what_is_timed.what_is_timed(Report.load(pipeline["store"].root))
    mine = table[table.machine != SIM_LABEL]
    assert set(mine.framework) == {"torch", "tensorflow", "jax"}
    eager = mine[mine.variant == "eager"]
    assert eager["ops per eager train step"].str.fullmatch(r"mlp \d+").all()
    assert (eager["ops per eager train step"].str.extract(r"(\d+)")[0].astype(int) > 0).all()
    assert set(mine[mine.variant == "jax.jit"]["buffer donation"]) == {"donated"}
    assert set(mine["matmul precision"]) == {"highest"}
    for _, row in mine.iterrows():
        requested = row["threads requested (intra / inter)"]
        assert row["threads in effect (intra / inter)"] == requested, row.to_dict()
        assert float(row["CPUs in use at once (max)"]) <= int(requested.split(" / ")[0]) + 0.1
    assert "whole train step" in mine[mine.variant == "torch.compile"]["compiled scope"].iloc[0]
    claims = page(pipeline, "chapters/claims.html")
    for cid in ("E1", "E4"):
        m = re.search(rf"id='claim-{cid}'.*?Verdict: <strong>([a-z ]+)</strong>", claims, re.S)
        assert m, cid
        if m.group(1) == "not yet measured" and cid == "E4":
            # Smoke budgets on a loaded machine can leave every torch.compile series unsettled: then E4 has no
            # cell, and the chapter must list each of them as left out, with its reason.
            excluded = Report.load(pipeline["store"].root).excluded("eager_vs_graph")
            compiled = excluded[(excluded.framework == "torch") & (excluded.variant == "torch.compile")]
            assert not compiled.empty and compiled["reason"].str.startswith(("unstable series", "busy machine")).all()
            assert "unstable series" in page(pipeline, "chapters/eager_vs_graph.html") or "busy machine" in page(
                pipeline, "chapters/eager_vs_graph.html"
            )
            continue
        assert m.group(1) in JUDGED, cid
    assert "not testable here" in claims and "not yet measured" in claims
    intro = page(pipeline, "intro.html")
    assert "Test CPU" in intro or "otherbox" in intro  # both machines are listed


def test_debugging_chapter(pipeline):
    html = page(pipeline, "chapters/debugging.html")
    assert len(re.findall(r"<img [^>]*src=\"[^\"]*_images/", html)) >= 2  # scorecard, tool costs
    assert "Tracebacks side by side" in html and "fwbench-tb" in html
    assert "bugs.py" in html
    # Stored tracebacks are text: their angle brackets arrive escaped.
    assert "<module>" not in html
    claims = page(pipeline, "chapters/claims.html")
    for cid in ("D1", "D2", "D3", "D4"):
        m = re.search(rf"id='claim-{cid}'.*?Verdict: <strong>([a-z ]+)</strong>", claims, re.S)
        assert m and m.group(1) in JUDGED, cid


def test_export_chapter(pipeline):
    html = page(pipeline, "chapters/export.html")
    assert len(re.findall(r"<img [^>]*src=\"[^\"]*_images/", html)) >= 3  # matrix, sizes, latency
    assert "The portability matrix" in html and "Keras 3 on three backends" in html
    assert "onnx-dynamo" in html and "tflite" in html
    assert "Export paths that work on" in page(pipeline, "intro.html")  # page 1's sentence, linking here
    claims = page(pipeline, "chapters/claims.html")
    for cid in ("X1", "X2", "X6"):  # the smoke profile has what these need; X3 and X5 need more paths
        m = re.search(rf"id='claim-{cid}'.*?Verdict: <strong>([a-z ]+)</strong>", claims, re.S)
        assert m and m.group(1) in JUDGED, cid
    # The exported artifacts are kept with the run, outside git.
    runs, _ = pipeline["store"].load()
    smoke = [r for r in runs if r.manifest["profile"]["name"] == "smoke"][0]
    assert list((smoke.path / "artifacts").glob("export-*/mlp/*"))


def test_serving(pipeline):
    runs, _ = pipeline["store"].load()
    jobs = {
        (j["framework"], j["variant"]): j
        for r in runs
        for j in r.jobs
        if j["experiment"] == "serving" and not r.run_id.endswith(SIM_ID)
    }
    assert jobs[("tensorflow", "tf-serving")]["status"] == "skipped"
    assert "tensorflow_model_server" in jobs[("tensorflow", "tf-serving")]["error"]["message"]
    for key in (
        ("torch", "onnxruntime"),
        ("tensorflow", "onnxruntime"),
        ("jax", "jax.jit"),
        ("tensorflow", "tf-savedmodel"),
    ):
        starts = jobs[key]["servers"]
        assert [a["outcome"] for a in starts] == ["serves", "serves"], key
        assert all(a["ports_released"] and a["parity"]["passed"] for a in starts), key
    # JAX's ONNX path fails at export: a stored failure, not a crash.
    assert {a["stage"] for a in jobs[("jax", "onnxruntime")]["servers"]} == {"export"}
    df = pd.read_csv(pipeline["csv"])
    sv = df[df.experiment == "serving"]
    assert {"onnxruntime", "jax.jit", "tf-savedmodel"} <= set(sv["variant"])
    assert {"latency_p50_s", "latency_p99_s", "throughput_rps", "cold_start_s", "error_rate"} <= set(sv["metric"])
    ok = sv[sv.metric == "error_rate"]
    assert (ok.value == 0).all()
    # Every level says how long it recorded; a closed level that ended early recorded less than duration_s.
    lengths = sv[sv.metric == "level_s"]
    assert len(lengths) and (lengths.value > 0).all() and (lengths.value <= 0.4 + 0.05).all()
    assert set(sv[sv.metric == "ended_early"].value) <= {0.0, 1.0}
    html = page(pipeline, "chapters/serving.html")
    assert len(re.findall(r"<img [^>]*src=\"[^\"]*_images/", html)) >= 3  # curves, cold start, batching
    assert "Latency against throughput" in html and "tf-serving could not run" in html
    assert "closed-loop levels ended early" in html
    # Each runtime's best, one start per variant here: no interval, said so, and page 1's sentence links to it.
    assert "Best of each runtime" in html and "[one start: no interval]" in html
    assert "Most requests per second on" in page(pipeline, "intro.html")
    assert "Traceback (most recent call last)" not in html.split("Failures")[0]
    claims = page(pipeline, "chapters/claims.html")
    m = re.search(r"id='claim-X4'.*?Verdict: <strong>([a-z ]+)</strong>", claims, re.S)
    # One server start per variant in the smoke profile: no interval over starts, so no workload is decided.
    assert m and m.group(1) == "inconclusive", "X4"


def test_failures_are_shown_escaped(pipeline):
    evg = page(pipeline, "chapters/eager_vs_graph.html")
    assert "timed out" in evg
    for html in (evg, page(pipeline, "intro.html")):
        assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in evg
    for name in ("intro.html", "chapters/eager_vs_graph.html", "chapters/claims.html", "chapters/method.html"):
        text = page(pipeline, name)
        assert "Traceback (most recent call last)" not in text, name


def test_book_is_offline(pipeline):
    for html in pipeline["html"].rglob("*.html"):
        text = html.read_text()
        assert not re.search(r"<script[^>]+src=\"https?://", text), html
        assert not re.search(r"<link[^>]+href=\"https?://[^\"]+\.css", text), html
    assert "mathjax/tex-chtml.js" in page(pipeline, "chapters/method.html")
    assert (pipeline["html"] / "_static" / "mathjax" / "tex-chtml.js").is_file()
    appendix = list((pipeline["html"] / "chapters" / "appendix" / "runs").glob("*.html"))
    assert len(appendix) >= 25


CHAPTERS = {
    "intro.html": 0,
    "chapters/eager_vs_graph.html": 2,
    "chapters/debugging.html": 2,
    "chapters/export.html": 3,
    "chapters/serving.html": 3,
    "chapters/claims.html": 0,
    "chapters/changes.html": 0,
    "chapters/history.html": 0,
    "chapters/method.html": 0,
    "chapters/decision.html": 0,
    "chapters/results.html": 0,
    "chapters/appendix/index.html": 0,
}


def test_second_machine_bundle_shows_beside_the_first_everywhere(pipeline):
    assert pipeline["imported"].returncode == 0, pipeline["imported"].stderr
    assert "imported 1 run(s)" in pipeline["imported"].stdout
    again = cli("--store", str(pipeline["store"].root), "import", str(pipeline["bundle"]))
    assert again.returncode == 0 and "imported 0 run(s)" in again.stdout  # idempotent
    assert pipeline["book"].returncode == 0, pipeline["book"].stdout[-3000:] + pipeline["book"].stderr[-3000:]
    machines = {r.manifest["machine_label"] for r in pipeline["store"].load()[0]}
    first = sorted(machines - {SIM_LABEL, "otherbox"})[0]
    for name in (
        "intro.html",
        "chapters/eager_vs_graph.html",
        "chapters/debugging.html",
        "chapters/export.html",
        "chapters/serving.html",
        "chapters/history.html",
        "chapters/changes.html",
    ):
        html = page(pipeline, name)
        assert SIM_LABEL in html and first in html, name
    intro = page(pipeline, "intro.html")
    assert "Simulated CPU" in intro and "imported from simbox.fwbundle" in intro
    # This machine is named by its hardware, not its host name; the simulated one by the label it chose.
    from fwbench.measure.fingerprint import hardware
    from fwbench.measure.machine_name import hardware_name

    assert first == hardware_name(hardware())
    # This machine ran two profiles (smoke, and the one-job timeout profile): one label each, never pooled.
    assert f"<strong>{first} (smoke profile)</strong>" in intro and f"{first} (timeout profile)" in intro


def test_a_book_built_from_the_same_inputs_is_left_as_it_is(pipeline):
    again = pipeline["unchanged"]
    assert again.returncode == 0 and "nothing to rebuild" in again.stdout, again.stdout[-2000:] + again.stderr[-2000:]


def test_what_changed_names_the_added_run(pipeline):
    html = page(pipeline, "chapters/changes.html")
    assert "Compared with:" in html and SIM_ID in html and "before-the-import" in html
    assert "No verdict changed" in html or "verdict(s) changed" in html
    reports = sorted((pipeline["store"].root / "reports").glob("*.json"))
    # The version kept before the import, and one per build that built: the book (the nightly found its inputs
    # unchanged, and the unchanged rebuild built nothing).
    assert len(reports) == 2 and reports[0] == pipeline["previous"]
    latest = json.loads(reports[-1].read_text())
    assert any(rid.endswith(SIM_ID) for rid in latest["runs"])
    assert all(len(r["sha256"]) == 64 for r in latest["runs"].values())


def test_the_sidebar_lists_pages_and_the_appendix_index_each_notebook(pipeline):
    nav = re.search(r'<nav class="bd-links bd-docs-nav".*?</nav>', page(pipeline, "intro.html"), re.S).group(0)
    assert "chapters/appendix/index.html" in nav and "appendix/runs/" not in nav
    index = page(pipeline, "chapters/appendix/index.html")
    notebooks = {p.stem for p in (pipeline["html"] / "chapters" / "appendix" / "runs").glob("*.html")}
    assert notebooks and notebooks == set(re.findall(r"href=[\"']runs/([^\"'#]+)\.html", index))


def test_every_page_passes_the_browser_check(pipeline):
    from fwbench.book.pagecheck import check_book

    problems = check_book(pipeline["html"], CHAPTERS)
    assert not any(problems.values()), problems


def test_hostile_bundle_content_stays_inert_in_the_browser(pipeline):
    """Every page a hostile bundle's content reaches, loaded in Chromium: nothing of it ran, and it still shows as text."""
    from fwbench.book.browser import Browser
    from fwbench.book.pagecheck import find_chromium, render

    html_dir = pipeline["html"]
    every = sorted(html_dir.rglob("*.html"))  # every page of the book: chapters, appendix, index, search
    hostile = sorted((html_dir / "chapters" / "appendix" / "runs").glob(f"*{SIM_ID}*eager_vs_graph*.html"))
    assert hostile and len(every) > len(CHAPTERS) + len(hostile)
    # Pages that hold nothing of the bundle (this machine's own appendix pages) cannot run its content; every
    # page that names it, and the pages that load text from everywhere (search, index), are loaded. Of the
    # bundle's own appendix pages, those of the notebooks it planted content in (simulated_machine_bundle): the
    # others show the smoke run's own notebooks, as this machine's appendix pages do (loading them was a third
    # of this test's time).
    marks = [m.lower() for m in (SIM_ID, SIM_LABEL, "pwned")]
    runs = html_dir / "chapters" / "appendix" / "runs"

    def reached(path):
        text = (path.name + path.read_text(errors="replace")).lower()
        if path.parent == runs:
            return path in hostile or "went wrong" in text  # the planted notebooks, or the planted error text
        return any(m in text for m in marks)

    pages = [p for p in every if p.name in ("search.html", "genindex.html", "index.html", "intro.html") or reached(p)]
    assert set(hostile) <= set(pages) and len(pages) < len(every)
    # One Chromium for all of them (a start per page was most of this test's time). Each page is loaded, its
    # load event and fonts awaited, then 300 ms more: the payloads act on load and error events, not on timers.
    with Browser(find_chromium()) as browser:
        for page_path in pages:
            browser.open(page_path, settle_ms=300)
            dom, title = browser.evaluate("[document.documentElement.outerHTML, document.title]")
            assert "data-pwned" not in dom, page_path.name
            assert "PWNED" not in title, page_path.name
    appendix = render(hostile[0])
    assert "from a bundle" in appendix  # the markdown cell's text is still there, its markup gone
    assert "went wrong" in page(pipeline, "chapters/serving.html")  # the hostile error text, shown as text
    assert not (pipeline["bundle"].parent / EXECUTED).exists()  # the book build ran none of the bundle's code


@pytest.fixture(scope="module")
def damaged(pipeline, tmp_path_factory):
    """The pipeline's store with one truncated job file: the book, a rerun and validate on a copy of it."""
    import shutil

    tmp = tmp_path_factory.mktemp("damaged")
    root = tmp / "store"
    shutil.copytree(pipeline["store"].root, root, ignore=shutil.ignore_patterns(".lock"))
    store = Store(root)
    smoke = [r for r in store.load()[0] if r.manifest["profile"]["name"] == "smoke"][0]
    # JAX's warm process: the rerun measures it again, and a torch process would cost a cold compile (about a minute).
    victim = next(
        j for j in smoke.jobs if j["experiment"] == "eager_vs_graph" and j["framework"] == "jax" and j["process"] == 1
    )
    path = smoke.path / "jobs" / f"{victim['job_id']}.json"
    path.write_bytes(path.read_bytes()[:200])
    # Well-formed JSON of the wrong types, as a hostile bundle or a hand edit leaves it: a job whose checks are a
    # string, a run whose fingerprint says its memory is "lots", and a log linked to a file outside the store.
    typed = next(
        j for j in smoke.jobs if j["experiment"] == "eager_vs_graph" and j["framework"] == "jax" and j["process"] == 0
    )  # JAX's cold process: a cheap one to measure again
    typed_path = smoke.path / "jobs" / f"{typed['job_id']}.json"
    typed_path.write_text(json.dumps({**typed, "checks": "all passed"}))
    bad_run = root / "runs" / "20991231T000000Z-badrun"
    shutil.copytree(smoke.path, bad_run)
    bad_manifest = json.loads((bad_run / "manifest.json").read_text())
    bad_manifest["run_id"] = bad_run.name
    bad_manifest["fingerprint"]["hardware"]["memory_bytes"] = "lots"
    (bad_run / "manifest.json").write_text(json.dumps(bad_manifest))
    secret = tmp / "outside-the-store.txt"
    secret.write_text("a private file of this machine\n")
    link = smoke.path / "logs" / "linked.log"
    link.symlink_to(secret)
    # Built over a copy of the pipeline's book, as a reader's next `make report` builds over the last one: Sphinx
    # renders no unchanged appendix notebook again (a third of a whole build), the chapters are executed anew
    # against the damaged store, and the damaged job's appendix page must go.
    shutil.copytree(pipeline["html"].parent.parent, tmp / "book", symlinks=True)
    return {
        "store": store,
        "victim": victim,
        "run": smoke,
        "path": path,
        "typed": typed_path,
        "typed_job": typed,
        "bad_run": bad_run,
        "link": link,
        "tmp": tmp,
        "validate": cli("--store", str(root), "validate"),
        "results": cli("--store", str(root), "results", "--format", "csv", "-o", str(tmp / "results.csv")),
        "history": cli(
            "--store", str(root), "history", "--framework", "torch", "--workload", "mlp", "--variant", "eager"
        ),
        "bundle": cli("--store", str(root), "bundle", "--all", "-o", str(tmp / "all.fwbundle")),
        "book": cli("--store", str(root), "book", "--no-reference", "--out", str(tmp / "book")),
        "rerun": cli("--store", str(root), "run", "--profile", "smoke", "--no-progress"),
        "html": tmp / "book" / "_build" / "html",
        "pipeline_html": pipeline["html"],
    }


def test_one_bad_file_costs_only_its_own_job_or_run(damaged):
    """A truncated job, a job and a manifest of the wrong types, a linked log: each is named by validate, the
    book, results and bundle, which all still work; the rest of the store is read, packed and reused as before."""
    bad = [damaged["path"].name, damaged["typed"].name, damaged["bad_run"].name]
    assert damaged["validate"].returncode == 2
    assert all(name in damaged["validate"].stderr for name in bad + [damaged["link"].name])
    assert "Traceback" not in damaged["validate"].stderr
    for command in ("results", "history", "bundle"):
        res = damaged[command]
        # (history may find the selection empty: a smoke run's series can all come out unstable on a busy machine)
        empty = (
            command == "history"
            and res.returncode == 2
            and res.stderr.strip().endswith("no stored results for that selection")
        )
        assert (res.returncode == 0 or empty) and "Traceback" not in res.stderr, (command, res.stderr[-2000:])
        assert command != "history" or "skipping unreadable file" in res.stderr
    assert all(name in damaged["results"].stderr for name in bad)
    assert (damaged["tmp"] / "results.csv").stat().st_size > 0
    with tarfile.open(damaged["tmp"] / "all.fwbundle") as tar:
        names = tar.getnames()
        packed = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    smoke = damaged["run"].run_id  # (the simulated machine's run holds jobs of the same names, undamaged)
    assert not any(
        n.endswith(("linked.log", f"{smoke}/jobs/{damaged['path'].name}", f"{smoke}/jobs/{damaged['typed'].name}"))
        for n in names
    )
    assert b"a private file of this machine" not in packed and not any(damaged["bad_run"].name in n for n in names)
    assert damaged["book"].returncode == 0, damaged["book"].stderr[-3000:]
    intro = read_page(damaged["html"] / "intro.html")
    assert all(name in intro for name in bad)  # the damaged files are named
    # Its appendix page, which the pipeline's book had, is gone with it; every other job's page is still there.
    from fwbench.book.build import appendix_name

    def appendix(html):
        return {p.stem for p in (html / "chapters" / "appendix" / "runs").glob("*.html")}

    assert appendix(damaged["html"]) == appendix(damaged["pipeline_html"]) - {
        appendix_name(damaged["run"], damaged["victim"]),
        appendix_name(damaged["run"], damaged["typed_job"]),
    }
    # The chapters' figures were drawn anew from the damaged store; the old ones, which no page shows, are gone.
    from fwbench.book.stale import IMAGE_REF

    shown = {name for p in damaged["html"].rglob("*.html") for name in IMAGE_REF.findall(p.read_text())}
    figures = {p.name for p in (damaged["html"] / "_images").iterdir()}
    assert figures and figures <= shown
    changes = read_page(damaged["html"] / "chapters" / "changes.html")
    assert "no longer in the store" not in changes and "could not be read" in changes
    # Every other job of that run stays reusable: the rerun measures the damaged one alone.
    assert damaged["rerun"].returncode == 0, damaged["rerun"].stderr[-3000:]
    assert f"2 executed, {SMOKE_JOBS - 2} reused, 0 failed" in damaged["rerun"].stdout


def test_nightly_reuses_everything_prints_a_pdf_and_summarizes(pipeline):
    res = pipeline["nightly"]
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert f"0 executed, {SMOKE_JOBS} reused, 0 failed" in res.stdout
    assert "nothing to rebuild" in res.stdout  # the HTML book of the same inputs was left as it was
    # ... and the single page for the PDF was written from the same parsed pages: no chapter was executed again.
    said = re.sub(r"\x1b\[[0-9;]*m", "", res.stdout + res.stderr)
    assert "building [singlehtml]" in said and "Executing notebook" not in said, said[-3000:]
    out = pipeline["nightly_dir"]
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    # Printed without the executed notebooks (most of the page and of the printing time); the HTML keeps them.
    single = pipeline["html"].parent / "singlehtml"
    anchor = 'id="document-chapters/appendix/runs/'
    printed = (single / "print.html").read_text()
    assert anchor not in printed and "In this PDF the notebooks themselves are left out" in printed
    assert anchor in (single / "intro.html").read_text() and "Key findings" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["previous_version"] and summary["regressions"] == [] and summary["bundle"]
    assert "no significant regression" in (out / "summary.txt").read_text()
    bundles = list(out.glob("*.fwbundle"))
    assert len(bundles) == 1
    check = cli("--store", str(pipeline["store"].root), "import", str(bundles[0]))
    assert check.returncode == 0 and "imported 0 run(s)" in check.stdout  # this machine's runs, already here


def test_no_secret_or_home_path_is_stored_bundled_or_published(pipeline):
    """The maker's credentials and home folder (where the store, book and bundles live) appear in no stored file,
    no member of a bundle (the one a colleague imports, the nightly's) and no page of the book."""
    needles = [v.encode() for v in SECRETS.values()] + [str(pipeline["home"]).encode()]
    places = {
        p: p.read_bytes() for p in pipeline["store"].root.rglob("*") if p.is_file() and "artifacts" not in p.parts
    }
    for bundle in [pipeline["bundle"], *pipeline["nightly_dir"].glob("*.fwbundle")]:
        with tarfile.open(bundle) as tar:
            places.update({Path(f"{bundle.name}:{m.name}"): tar.extractfile(m).read() for m in tar if m.isfile()})
    places.update(
        {
            p: p.read_bytes()
            for p in pipeline["html"].rglob("*")
            if p.is_file() and p.suffix in (".html", ".ipynb", ".txt", ".js", ".json", ".md")
        }
    )
    assert len(list(pipeline["nightly_dir"].glob("*.fwbundle"))) == 1
    # The simulated colleague's hostile notebooks name a marker file in this folder on purpose (the code a book
    # build must never run): that text is the test's, not something fwbench wrote.
    found = sorted(
        {
            f"{path}: {needle.decode()[:12]}..."
            for path, data in places.items()
            for needle in needles
            if needle in data.replace(str(pipeline["bundle"].parent / EXECUTED).encode(), b"")
        }
    )
    assert not found, found[:10]
