"""The serving experiment's own logic: parameters, core split, one real server start measured end to end, failures."""

import subprocess
import sys

import numpy as np
import pytest

from fwbench.errors import ServerUnavailable
from fwbench.experiments.serving import measure as serving
from fwbench.experiments.serving.servers import get_server

FAST = dict(
    workloads=("mlp",),
    concurrency=(1, 4),
    open_loop_fractions=(0.5,),
    duration_s=0.3,
    warmup_s=0.05,
    formats=("json", "npy"),
)


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"workloads": ("resnet",)}, "unknown workloads"),
        ({"formats": ("xml",)}, "unknown formats"),
        ({"batching": ("yes",)}, "true/false"),
        ({"concurrency": (0,)}, "positive integers"),
        ({"open_loop_fractions": (3.0,)}, r"\(0, 2\]"),
        ({"request_batch": 0}, "request_batch"),
        ({"duration_s": 0}, "duration_s"),
        ({"atol": -1.0}, "non-negative"),
    ],
)
def test_bad_params_are_refused_naming_the_field(kw, words):
    with pytest.raises(ValueError, match=words):
        serving.Params(**kw)


def test_client_gets_the_last_cores_server_the_rest():
    assert serving.split_cpus([0, 1], 1) == ([0], [1])
    assert serving.split_cpus(list(range(8)), 2) == ([0, 1, 2, 3, 4, 5], [6, 7])
    assert serving.split_cpus([3], 1) == ([3], [3])  # one core: shared, and recorded as such


def by(records, **match):
    return {r["metric"]: r["value"] for r in records if all(r.get(k) == v for k, v in match.items())}


def test_one_server_start_measured_end_to_end(tiny_onnx, tmp_path):
    path, w = tiny_onnx
    x = np.ones((1, 4), np.float32)
    params = serving.Params(**FAST)
    attempt, records = serving.serve_one(
        get_server("frontend"),
        "onnxruntime",
        path,
        "mlp",
        True,
        params,
        x,
        x @ w,
        ([0], [1]),
        tmp_path,
        progress=lambda what: None,
    )
    assert attempt["outcome"] == "serves" and attempt["stage"] == "done" and attempt["error"] is None
    assert attempt["ports_released"] and attempt["parity"]["passed"]
    start = by(records, phase="startup", mode="batching")
    assert start["serve_ok"] == 1 and start["parity_ok"] == 1 and 0 < start["cold_start_s"] < 120
    assert start["server_rss_idle_bytes"] > 0 and start["load_s"] >= 0
    for fmt in ("json", "npy"):
        for phase in ("closed-1", "closed-4", "open-0.5"):
            m = by(records, phase=phase, mode=f"batching/{fmt}")
            assert m["error_rate"] == 0 and m["throughput_rps"] > 0 and m["server_rss_load_bytes"] > 0
            assert m["latency_p50_s"] <= m["latency_p95_s"] <= m["latency_p99_s"]
            # Where the level's requests went inside the server, from its own log: parts that add up, and the
            # client saw at least the server's handling (the rest is HTTP, loopback and the client).
            parts = [m[f"server_{k}_s"] for k in ("decode", "queue", "runtime", "encode")]
            assert all(v >= 0 for v in parts) and m["server_runtime_s"] > 0
            assert (
                abs(sum(parts) - m["server_handled_s"]) < 1e-9 and 0 < m["server_model_busy_s"] <= m["server_runtime_s"]
            )
            assert m["outside_server_s"] >= 0
            # What other programs took while the format's levels ran (the server and the load generator are the
            # job's own): every level carries it, and a busy run was run again up to the bound.
            assert m["other_cpus"] >= 0 and m["busy_block"] in (0.0, 1.0)
            assert 1 <= m["block_attempts"] <= params.busy_redo + 1
        assert by(records, phase="open-0.5", mode=f"batching/{fmt}")["offered_rps"] > 0
        assert attempt["formats"][fmt]["attempts"] >= 1 and "busy" in attempt["formats"][fmt]
    assert all(r["workload"] == "mlp" and r["batch_size"] == 1 for r in records)


def test_a_server_that_dies_is_a_stored_failure_with_its_log(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    x = np.ones((1, 4), np.float32)
    attempt, records = serving.serve_one(
        get_server("frontend"),
        "onnxruntime",
        bad,
        "mlp",
        False,
        serving.Params(**FAST, cold_start_timeout_s=60),
        x,
        x,
        ([0], [1]),
        tmp_path,
        progress=lambda what: None,
    )
    assert attempt["outcome"] == "fails" and attempt["stage"] == "start"
    assert "exited with status" in attempt["error"]["message"] and attempt["log_tail"]
    assert attempt["ports_released"]
    assert by(records, phase="startup", mode="no-batching") == {"serve_ok": 0}


def test_a_wrong_answer_is_caught_by_the_parity_check(tiny_onnx, tmp_path):
    path, w = tiny_onnx
    x = np.ones((1, 4), np.float32)
    attempt, records = serving.serve_one(
        get_server("frontend"),
        "onnxruntime",
        path,
        "mlp",
        False,
        serving.Params(**{**FAST, "formats": ("json",), "concurrency": (1,), "open_loop_fractions": ()}),
        x,
        x @ w + 1.0,
        ([0], [1]),
        tmp_path,
        progress=lambda what: None,
    )
    assert attempt["outcome"] == "serves" and not attempt["parity"]["passed"]
    assert by(records, phase="startup", mode="no-batching")["parity_ok"] == 0


def test_unknown_variants_and_missing_servers(monkeypatch):
    with pytest.raises(ValueError, match="no serving variant 'triton'"):
        serving.serve_all("torch", "triton", serving.Params(**FAST))
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ServerUnavailable, match="tensorflow_model_server"):
        serving.serve_all("tensorflow", "tf-serving", serving.Params(**FAST))


def test_a_missing_server_is_found_before_the_framework_is_imported(monkeypatch):
    # In a fresh interpreter: this one may have imported TensorFlow for another test.
    probe = (
        "import sys\nfrom fwbench.errors import ServerUnavailable\n"
        "from fwbench.experiments.serving import measure\n"
        "try:\n    measure.serve_all('tensorflow', 'tf-serving', measure.Params())\n"
        "except ServerUnavailable:\n    print('imported' if 'tensorflow' in sys.modules else 'not imported')\n"
    )
    monkeypatch.setenv("PATH", "/nonexistent")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "not imported", out.stderr[-2000:]
