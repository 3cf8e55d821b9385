"""The load generator: level validation, its statistics, and real closed- and open-loop runs against a real server."""

import contextlib
import json
import subprocess
import sys

import numpy as np
import pytest

from fwbench.experiments.serving import wire
from fwbench.experiments.serving.loadgen import MIN_CONVERGED_REQUESTS, Level, converged, summarize
from fwbench.experiments.serving.measure import wait_until_serving
from fwbench.experiments.serving.servers import ServeOptions, ServerProcess, free_port, get_server


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"kind": "burst"}, "'closed' or 'open'"),
        ({"kind": "closed", "concurrency": 0}, "concurrency >= 1"),
        ({"kind": "open", "rate": 0}, "rate > 0"),
        ({"kind": "closed", "duration_s": 0}, "duration_s"),
        ({"kind": "closed", "min_duration_s": -1}, "min_duration_s"),
        ({"kind": "closed", "converge_rtol": 0}, "converge_rtol"),
    ],
)
def test_bad_levels_are_refused(kw, words):
    with pytest.raises(ValueError, match=words):
        Level(**kw)


def test_summary_counts_errors_and_orders_percentiles():
    s = summarize([0.001 * i for i in range(1, 101)], {"200": 100, "503": 5, "timeout": 5}, elapsed_s=2.0)
    assert s["n_ok"] == 100 and s["n_requests"] == 110 and s["throughput_rps"] == 50
    assert s["error_rate"] == pytest.approx(10 / 110)
    assert s["latency_min_s"] <= s["latency_p50_s"] <= s["latency_p95_s"] <= s["latency_p99_s"] <= s["latency_max_s"]
    assert summarize([], {"ClientConnectorError": 3}, 1.0)["error_rate"] == 1.0


def run_loadgen(tmp_path, url, levels, **extra):
    body = tmp_path / "body"
    body.write_bytes(wire.encode_request(np.ones((1, 4), np.float32), "json"))
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps({"url": url, "body_file": str(body), "content_type": wire.JSON, "levels": levels, **extra})
    )
    out = tmp_path / "out.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "fwbench.experiments.serving.loadgen",
            "--spec",
            str(spec),
            "--out",
            str(out),
            "--cpus",
            "0",
        ],
        check=True,
        timeout=120,
    )
    return json.loads(out.read_text())


@contextlib.contextmanager
def serving(tiny_onnx, tmp_path):
    """The tiny ONNX model on the common frontend, answering; yields its URL."""
    launch = get_server("frontend").launch("onnxruntime", tiny_onnx[0], tmp_path, ServeOptions(sample_shape=(4,)))
    with ServerProcess(launch, tmp_path / "server.log", cwd=tmp_path) as proc:
        wait_until_serving(proc, wire.encode_request(np.ones((1, 4), np.float32), "json"), wire.JSON, 60)
        yield launch.url


def test_closed_and_open_loops_against_a_real_server(tiny_onnx, tmp_path):
    with serving(tiny_onnx, tmp_path) as url:
        result = run_loadgen(
            tmp_path,
            url,
            [
                {"kind": "closed", "concurrency": 1, "duration_s": 0.5, "warmup_s": 0.1},
                {"kind": "closed", "concurrency": 4, "duration_s": 0.5, "warmup_s": 0.1, "max_requests": 50},
                {"kind": "open", "rate": 100.0, "duration_s": 1.0, "warmup_s": 0.1},
            ],
        )
    one, four, opened = result["levels"]
    assert result["cpus"] == [0]
    for level in (one, four, opened):
        assert level["error_rate"] == 0 and level["n_ok"] > 0 and level["throughput_rps"] > 0
        assert 0 < level["latency_p50_s"] <= level["latency_p99_s"] < 5
        assert level["began_unix"] < level["ended_unix"]
    assert four["n_requests"] <= 50 + 4  # max_requests bounds the level (clients in flight finish)
    assert not one["ended_early"] and not four["ended_early"]  # no min_duration_s: the whole level
    # Poisson arrivals at 100/s for 1 s: the count is random, but not wildly off.
    assert 50 <= opened["offered_rps"] <= 160 and opened["max_send_lag_s"] >= 0


def test_convergence_needs_enough_answers_and_a_summary_that_stopped_moving():
    rng = np.random.default_rng(0)
    few = list(rng.lognormal(-6, 0.3, MIN_CONVERGED_REQUESTS - 1))
    assert converged(few, None, 0.05) == (False, None)
    steady = list(rng.lognormal(-6, 0.3, 4000))
    done, first = converged(steady[:2000], None, 0.05)
    assert not done and first is not None  # the first look only sets the baseline
    assert converged(steady, first, 0.05)[0]
    slower = steady[:2000] + list(rng.lognormal(-5, 0.3, 2000))  # the server slowed down mid-level
    assert not converged(slower, first, 0.05)[0]


def test_a_closed_level_ends_early_once_converged_and_runs_on_when_requests_fail(tiny_onnx, tmp_path):
    with serving(tiny_onnx, tmp_path) as url:
        level = run_loadgen(
            tmp_path,
            url,
            [
                {
                    "kind": "closed",
                    "concurrency": 2,
                    "duration_s": 8.0,
                    "warmup_s": 0.2,
                    "min_duration_s": 0.5,
                    "converge_rtol": 0.5,
                }
            ],
        )["levels"][0]
    assert level["ended_early"] and 0.5 <= level["elapsed_s"] < 8.0
    assert level["n_ok"] >= MIN_CONVERGED_REQUESTS and level["error_rate"] == 0
    gone = run_loadgen(
        tmp_path,
        f"http://127.0.0.1:{free_port()}/predict",
        [{"kind": "closed", "concurrency": 2, "duration_s": 0.6, "warmup_s": 0, "min_duration_s": 0.2}],
    )["levels"][0]
    assert not gone["ended_early"] and gone["elapsed_s"] == pytest.approx(0.6, abs=0.05)


def test_a_server_that_is_not_there_is_all_errors_not_a_crash(tmp_path):
    result = run_loadgen(
        tmp_path,
        f"http://127.0.0.1:{free_port()}/predict",
        [{"kind": "closed", "concurrency": 2, "duration_s": 0.3, "warmup_s": 0}],
    )
    level = result["levels"][0]
    assert level["n_ok"] == 0 and level["error_rate"] == 1.0 and "latency_p50_s" not in level


def test_open_levels_follow_the_closed_peak_in_the_same_generator(tiny_onnx, tmp_path):
    opened = {"open_fractions": [0.5, 0.8], "open_level": {"duration_s": 0.5, "warmup_s": 0.1}}
    with serving(tiny_onnx, tmp_path) as url:
        closed, half, most = run_loadgen(
            tmp_path, url, [{"kind": "closed", "concurrency": 2, "duration_s": 0.5, "warmup_s": 0.1}], **opened
        )["levels"]
    assert closed["level"]["kind"] == "closed" and half["level"]["kind"] == most["level"]["kind"] == "open"
    assert half["level"]["rate"] == pytest.approx(0.5 * closed["throughput_rps"])
    assert most["level"]["rate"] == pytest.approx(0.8 * closed["throughput_rps"])
    assert closed["ended_unix"] <= half["began_unix"] and half["error_rate"] == most["error_rate"] == 0
    # Nothing served, nothing to size an open level from: none is run.
    down = run_loadgen(
        tmp_path,
        f"http://127.0.0.1:{free_port()}/predict",
        [{"kind": "closed", "concurrency": 1, "duration_s": 0.2, "warmup_s": 0}],
        **opened,
    )["levels"]
    assert [lv["level"]["kind"] for lv in down] == ["closed"]
