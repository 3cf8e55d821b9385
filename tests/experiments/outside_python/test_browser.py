"""A real headless Chromium page runs a tiny ONNX model in ONNX Runtime Web, served from a loopback server."""

import shutil

import numpy as np
import pytest

from fwbench.experiments.outside_python import browser, installs
from fwbench.measure.timing import TimerConfig
from synthetic.outside_python import tiny_onnx


def test_the_server_serves_only_inside_its_folders(tmp_path):
    (tmp_path / "pub").mkdir()
    (tmp_path / "pub" / "ok.js").write_text("1")
    (tmp_path / "secret").write_text("no")
    site = browser._Site({"/runtime/": tmp_path / "pub"}, {})
    assert site.file("/runtime/ok.js") == (tmp_path / "pub" / "ok.js").resolve()
    assert site.file("/runtime/../secret") is None and site.file("/elsewhere/ok.js") is None


@pytest.mark.skipif(
    browser.find_chromium() is None or shutil.which("npm") is None,
    reason="Chromium and npm are needed (make setup installs Chromium)",
)
def test_a_fresh_page_runs_the_model_and_posts_its_result(tmp_path):
    try:
        modules = installs.npm_install("onnxruntime-web", 900).path
    except installs.InstallFailed as exc:
        pytest.skip(f"onnxruntime-web could not be installed here: {exc}")
    w, b = tiny_onnx(tmp_path / "model.onnx", seed=1)
    x = {n: np.random.default_rng(n).standard_normal((n, 6)).astype(np.float32) for n in (1, 4)}
    result, outputs = browser.run_browser(
        "onnxruntime-web",
        modules,
        tmp_path / "model.onnx",
        x,
        [1],
        TimerConfig(warmup=1, repeats=5, min_repeats=2, max_time_s=0.1),
        1,
        tmp_path / "work",
        120,
    )
    assert result["error"] is None, result["error"]
    assert result["cross_origin_isolated"] is True and result["runtime_bytes"] > 0
    assert result["browser"].startswith(("Chromium", "Google Chrome"))
    for n in (1, 4):
        np.testing.assert_allclose(outputs[n], x[n] @ w + b, rtol=1e-5, atol=1e-5)
    assert len(result["latency"]["1"]["samples_s"]) >= 2
    # What other programs took from the page's first request to its result (the browser's processes are the job's).
    assert result["window"].wall_s > 0 and result["window"].other_cpus >= 0
