"""The outside_python experiment end to end on real Node and Chromium, and its busy rule on hosts we control."""

import shutil

import pytest

from fwbench.experiments.outside_python import browser, installs
from fwbench.experiments.outside_python import measure as x7
from fwbench.measure.quiet import Window

TINY = dict(workloads=("mlp",), processes=2, warmup=1, repeats=5, min_repeats=2, max_time_s=0.1)


def host(windows, error=None):
    """A host whose successive processes report `windows` (CPUs other programs took, over one second each)."""
    calls = []

    def run(runtime, modules, model, inputs, latency, timer, threads, workdir, timeout_s):
        calls.append(workdir)
        result = {"error": error, "import_s": 0.1, "load_s": 0.1, "latency": {}}
        return {**result, "window": Window(1.0, windows[len(calls) - 1])}, {}

    return run, calls


@pytest.mark.parametrize(
    "windows, error, attempts, busy",
    [
        ([0.0], None, 1, False),
        ([0.9, 0.0], None, 2, False),  # busy, then quiet in a fresh process: the quiet one is kept
        ([0.9, 0.9, 0.9], None, 3, True),  # busy past the bound (two more): kept, marked busy
        ([0.9], {"type": "RuntimeError", "message": "no", "traceback": ""}, 1, False),  # a failure is not a timing
    ],
)
def test_a_busy_process_runs_again_in_a_fresh_one_up_to_the_bound(tmp_path, windows, error, attempts, busy):
    run, calls = host(windows, error)
    params = x7.Params(**TINY)
    result, _, quiet = x7.run_one(run, "node:onnxruntime-node", tmp_path, tmp_path, {}, [1], params, 1, tmp_path)
    assert len(calls) == attempts and quiet.attempts == attempts and quiet.busy is busy
    assert quiet.other_cpus == windows[attempts - 1] and "window" not in result


@pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None or browser.find_chromium() is None,
    reason="node, npm and Chromium are needed (make setup)",
)
def test_node_and_page_series_carry_how_busy_the_machine_was(tmp_path):
    try:
        for package in ("onnxruntime-node", "onnxruntime-web"):
            installs.npm_install(package, 900)
    except installs.InstallFailed as exc:
        pytest.skip(f"the ONNX Runtime packages could not be installed here: {exc}")
    params = x7.Params(**TINY, runtimes=("node:onnxruntime-node", "browser:onnxruntime-web"))
    attempts, records, samples = x7.measure_workload("torch", "mlp", params, 1, tmp_path / "art", tmp_path / "scr")
    assert [a["outcome"] for a in attempts] == ["matches", "matches"], attempts
    assert all(a["processes"] == 2 for a in attempts)
    # Node and Chromium are the job's own processes: what other programs took while each fresh process (or page)
    # ran is on every one of them, and a busy one was run again up to the bound. Never that the machine was quiet:
    # the tests run beside others.
    for mode in params.runtimes:
        for process in range(params.processes):
            m = {
                r["metric"]: r["value"]
                for r in records
                if r["mode"] == mode and r.get("process") == process and r["batch_size"] == params.export_batch
            }
            assert m["other_cpus"] >= 0 and m["busy_block"] in (0.0, 1.0), (mode, process, m)
            assert 1 <= m["block_attempts"] <= params.busy_redo + 1
            assert m["load_s"] > 0
            marked = [s.get("busy", False) for s in samples if s["mode"] == mode and s["process"] == process]
            assert marked and set(marked) == {bool(m["busy_block"])}
    assert samples and all(s["values"] for s in samples)
