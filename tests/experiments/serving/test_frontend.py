"""The common frontend, as a real uvicorn process in front of ONNX Runtime: answers, refuses bad input, batches, stops."""

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from fwbench.experiments.serving import wire
from fwbench.experiments.serving.measure import wait_until_serving
from fwbench.experiments.serving.servers import ServeOptions, ServerProcess, get_server, port_is_free


def post(launch, body, ctype):
    req = urllib.request.Request(launch.url, data=body, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read(), resp.headers["Content-Type"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers["Content-Type"]


@pytest.fixture(params=[False, True], ids=["no-batching", "batching"])
def served(request, tiny_onnx, tmp_path):
    path, w = tiny_onnx
    server = get_server("frontend")
    launch = server.launch(
        "onnxruntime",
        path,
        tmp_path,
        ServeOptions(sample_shape=(4,), batching=request.param, max_batch=8, max_wait_ms=5),
    )
    proc = ServerProcess(launch, tmp_path / "server.log", cpus=[0], cwd=tmp_path)
    with proc:
        x = np.ones((1, 4), np.float32)
        wait_until_serving(proc, wire.encode_request(x, "json"), wire.JSON, timeout_s=60)
        yield server, launch, proc, w
    assert not proc.alive()
    assert port_is_free(launch.port)


@pytest.mark.parametrize("fmt", ["json", "npy"])
def test_answers_with_the_models_logits(served, fmt):
    server, launch, _, w = served
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    status, body, ctype = post(launch, *server.encode(x, fmt))
    assert status == 200 and ctype.startswith(wire.content_type(fmt))
    np.testing.assert_allclose(server.decode(body, ctype), x @ w, rtol=1e-6)


def test_bad_requests_get_4xx_and_the_server_keeps_serving(served):
    server, launch, proc, w = served
    bad = [
        (b"{oops", wire.JSON, 400),
        (json.dumps({"inputs": [[1.0, 2.0]]}).encode(), wire.JSON, 422),
        (wire.encode_request(np.ones((1, 4)), "json").replace(b"1.0", b'"a"'), wire.JSON, 422),
        (np.ones((1, 4), np.float64).tobytes(), wire.NPY, 400),
        (b"x", "text/plain", 415),
    ]
    import io

    buf = io.BytesIO()
    np.save(buf, np.ones((1, 4), np.float64))
    bad.append((buf.getvalue(), wire.NPY, 422))
    for body, ctype, want in bad:
        status, out, media = post(launch, body, ctype)
        assert status == want, (body[:40], status, out)
        assert media.startswith(wire.JSON) and json.loads(out)["error"]
    x = np.ones((3, 4), np.float32)
    status, out, ctype = post(launch, *server.encode(x, "json"))
    assert status == 200 and proc.alive()
    np.testing.assert_allclose(server.decode(out, ctype), x @ w, rtol=1e-6)


def test_concurrent_requests_each_get_their_own_rows(served):
    server, launch, _, w = served
    xs = [np.full((1, 4), i, np.float32) for i in range(32)]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda x: post(launch, *server.encode(x, "npy")), xs))
    for x, (status, body, ctype) in zip(xs, answers):
        assert status == 200
        np.testing.assert_allclose(server.decode(body, ctype), x @ w, rtol=1e-6)
    info = server.info(launch)
    assert info["runtime"] == "onnxruntime" and info["load_s"] >= 0 and info["cpu_affinity"] == [0]
    if info["batching"]:
        assert info["rows"] >= 32 and info["batches"] <= info["rows"]


def test_a_server_that_cannot_load_its_model_fails_to_start_with_its_reason(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not an onnx file")
    launch = get_server("frontend").launch("onnxruntime", bad, tmp_path, ServeOptions(sample_shape=(4,)))
    proc = ServerProcess(launch, tmp_path / "server.log", cwd=tmp_path)
    with proc, pytest.raises(RuntimeError, match="exited with status 1 before serving: .*"):
        wait_until_serving(proc, wire.encode_request(np.ones((1, 4), np.float32), "json"), wire.JSON, 60)
    assert port_is_free(launch.port)


def test_the_server_says_where_a_windows_requests_spent_their_time(served):
    import time

    server, launch, _, _ = served
    since = time.time()
    xs = [np.full((1, 4), i, np.float32) for i in range(24)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda x: post(launch, *server.encode(x, "npy")), xs))
    until = time.time()
    assert all(a[0] == 200 for a in answers)
    t = server.timings(launch, since, until)
    assert t["requests"] == 24  # the warm-up request before `since` is outside the window
    parts = [t[k] for k in ("decode_s", "queue_s", "runtime_s", "encode_s")]
    assert all(p >= 0 for p in parts) and t["runtime_s"] > 0
    assert abs(sum(parts) - t["handled_s"]) < 1e-9
    assert server.timings(launch, until + 60, until + 120) == {"requests": 0}
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"http://127.0.0.1:{launch.port}/timings?since=yesterday", timeout=5)
    assert err.value.code == 400


def test_a_server_that_reports_no_timings_gives_none():
    from fwbench.experiments.serving.servers.base import Launch

    assert get_server("tfserving").timings(Launch(["x"], 1, "/"), 0.0, 1.0) == {}
