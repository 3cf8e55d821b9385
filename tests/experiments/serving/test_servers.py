"""Server backends and the process handle: registry, pinning, stopping whole process groups, TorchServe for real,
TensorFlow Serving's availability check and configuration."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from fwbench.experiments.serving import servers, wire
from fwbench.experiments.serving.measure import wait_until_serving
from fwbench.experiments.serving.servers import Launch, ServeOptions, ServerProcess, free_port, get_server, port_is_free


def test_registry_names_every_server_and_rejects_unknown_ones():
    assert servers.names() == ["frontend", "tfserving", "torchserve"]
    with pytest.raises(KeyError, match="unknown server 'nginx'; known: frontend, tfserving, torchserve"):
        get_server("nginx")


def test_port_is_free_sees_a_listener_and_nothing_else():
    port = free_port()
    assert port_is_free(port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        assert not port_is_free(port)
    assert port_is_free(port)


def test_stop_ends_the_whole_process_group_even_children_that_ignore_sigterm(tmp_path):
    # A "server" that forks a child ignoring SIGTERM, as a worker stuck in a call might.
    script = (
        "import os, signal, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import signal, time; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(600)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    launch = Launch(command=[sys.executable, "-c", script], port=free_port(), predict_path="/")
    proc = ServerProcess(launch, tmp_path / "log", cpus=[0])
    with proc:
        deadline = time.time() + 20
        while not proc.log_tail().strip() and time.time() < deadline:
            time.sleep(0.05)
        child = int(proc.log_tail().split()[0])
        assert proc.rss_bytes() > 0
        if proc.pinned:
            assert os.sched_getaffinity(child) == {0}
        started = time.monotonic()
        proc.stop(grace_s=1.0)
        assert time.monotonic() - started < 10
    assert not proc.alive()
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.proc.pid, 0)


def test_the_context_manager_stops_the_server_when_the_body_raises(tmp_path):
    launch = Launch(command=[sys.executable, "-c", "import time; time.sleep(600)"], port=free_port(), predict_path="/")
    proc = ServerProcess(launch, tmp_path / "log")
    with pytest.raises(ZeroDivisionError), proc:
        1 / 0
    assert not proc.alive()


def test_tfserving_is_unavailable_without_its_binary_and_says_why(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    reason = get_server("tfserving").unavailable()
    assert "tensorflow_model_server" in reason and "PATH" in reason


def test_tfserving_configuration_when_a_binary_is_on_path(tmp_path, monkeypatch):
    # Only the configuration is checked: TensorFlow Serving itself cannot be installed here.
    fake = tmp_path / "bin" / "tensorflow_model_server"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'TensorFlow ModelServer: 2.x'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    server = get_server("tfserving")
    assert server.unavailable() is None and "ModelServer" in server.version()
    saved = tmp_path / "saved_model"
    saved.mkdir()
    launch = server.launch(
        "tf_savedmodel",
        saved,
        tmp_path / "work",
        ServeOptions((4,), batching=True, max_batch=8, max_wait_ms=2, threads=1),
    )
    assert (tmp_path / "work" / "tfserving_model" / "1").resolve() == saved.resolve()
    assert f"--rest_api_port={launch.port}" in launch.command and "--enable_batching" in launch.command
    assert "max_batch_size { value: 8 }" in (tmp_path / "work" / "batching.txt").read_text()
    assert launch.predict_path == "/v1/models/model:predict" and server.formats == ("json",)
    body, ctype = server.encode(np.ones((1, 4), np.float32), "json")
    assert body.startswith(b'{"instances"') and ctype == wire.JSON
    np.testing.assert_array_equal(server.decode(b'{"predictions": [[1, 2, 3]]}', wire.JSON), [[1, 2, 3]])


@pytest.fixture(scope="module")
def torchscript_model(tmp_path_factory):
    import torch

    d = tmp_path_factory.mktemp("ts")
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    traced = torch.jit.trace(net.eval(), torch.ones(2, 4))
    traced.save(str(d / "model.pt"))

    def ref(x):
        with torch.no_grad():
            return net(torch.from_numpy(x)).numpy()

    return d / "model.pt", ref


def _post(url, body, ctype):
    req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read(), resp.headers["Content-Type"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers["Content-Type"]


@pytest.mark.skipif(get_server("torchserve").unavailable() is not None, reason="TorchServe or Java missing")
def test_torchserve_serves_both_formats_refuses_bad_input_and_leaves_nothing_behind(torchscript_model, tmp_path):
    path, ref = torchscript_model
    server = get_server("torchserve")
    launch = server.launch("torchscript", path, tmp_path, ServeOptions((4,), batching=True, max_batch=4, max_wait_ms=2))
    proc = ServerProcess(launch, tmp_path / "server.log", cpus=[0], cwd=tmp_path)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    with proc:
        wait_until_serving(proc, *server.encode(x, "json"), timeout_s=120)
        for fmt in ("json", "npy"):
            status, body, ctype = _post(launch.url, *server.encode(x, fmt))
            assert status == 200, body
            np.testing.assert_allclose(server.decode(body, ctype), ref(x), rtol=1e-5)
        status, body, _ = _post(launch.url, b'{"inputs": [[1, 2]]}', wire.JSON)
        assert status == 422 and b"expected ('batch', 4)" in body
        status, body, _ = _post(launch.url, np.ones((1, 4)).tobytes(), wire.NPY)
        assert status == 400
        status, _, _ = _post(launch.url, *server.encode(x, "json"))
        assert status == 200 and proc.alive()
    assert all(port_is_free(p) for p in (launch.port, *launch.extra_ports))
    java = subprocess.run(["pgrep", "-f", f"ts-config {tmp_path}"], capture_output=True, text=True)
    assert java.stdout.strip() == ""
