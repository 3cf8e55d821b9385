"""One exported model in a real headless Chromium page (web/page.html), served from a loopback static server that receives the page's result."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from fwbench.measure.quiet import Watch
from fwbench.measure.timing import TimerConfig

WEB = Path(__file__).resolve().parent / "web"
#: Runtimes the page knows (web/page.js), each with the npm package set (a folder of node/) it serves from.
RUNTIMES = {"onnxruntime-web": "onnxruntime-web", "tfjs-wasm": "tfjs-wasm"}
#: Largest result the page may post (its logits and timing samples): a bigger body is refused, not read.
MAX_RESULT_BYTES = 64 << 20
_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".bin": "application/octet-stream",
    ".f32": "application/octet-stream",
    ".onnx": "application/octet-stream",
}


def find_chromium() -> str | None:
    """The Chromium the book's page checks use (scripts/setup_chromium.sh installs Debian's)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def chromium_version(chromium: str) -> str:
    out = subprocess.run([chromium, "--version"], capture_output=True, text=True, timeout=60)
    return (out.stdout.strip().splitlines() or [""])[0]


class _Site:
    """What the server serves (URL prefix -> folder), what it served under /runtime/, and the posted result."""

    def __init__(self, routes: dict[str, Path], config: dict):
        self.routes = {prefix: folder.resolve() for prefix, folder in routes.items()}
        self.config = json.dumps(config).encode()
        self.runtime_bytes = 0
        self.result: dict | None = None
        self.done = threading.Event()
        self.watch: Watch | None = None

    def page_began(self) -> None:
        """Open the window on the CPUs (fwbench.measure.quiet) as the page asks for its configuration: everything
        the page times (import, load, calls) comes after, and Chromium's own start, timed by nothing, stays out."""
        if self.watch is None:
            self.watch = Watch().__enter__()

    def file(self, url_path: str) -> Path | None:
        """The file a URL names, only inside its route's folder (no .. or link escapes it)."""
        for prefix, folder in self.routes.items():
            if url_path.startswith(prefix):
                path = (folder / url_path[len(prefix) :]).resolve()
                if path.is_file() and path.is_relative_to(folder):
                    return path
        return None


def _handler(site: _Site):
    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            # Cross-origin isolation: WebAssembly threads need SharedArrayBuffer, which a page gets only so.
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 (the http.server's name)
            path = self.path.split("?", 1)[0]
            if path == "/config.json":
                site.page_began()
                return self._send(200, site.config, "application/json")
            if path == "/":
                path = "/page.html"
            found = site.file(path)
            if found is None:
                return self._send(404, b"not found", "text/plain")
            body = found.read_bytes()
            if path.startswith("/runtime/"):
                site.runtime_bytes += len(body)
            self._send(200, body, _TYPES.get(found.suffix, "application/octet-stream"))

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            if self.path != "/result" or not 0 < length <= MAX_RESULT_BYTES:
                return self._send(400, b"bad request", "text/plain")
            try:
                site.result = json.loads(self.rfile.read(length))
            except ValueError as exc:
                site.result = {"stage": "run", "error": {"type": "BadResult", "message": str(exc), "traceback": ""}}
            self._send(200, b"ok", "text/plain")
            site.done.set()

        def log_message(self, *args):  # the job's log is not the place for every request
            pass

    return Handler


def run_browser(
    runtime: str,
    modules: Path,
    model: Path,
    inputs: dict[int, np.ndarray],
    latency: list[int],
    timer: TimerConfig,
    threads: int,
    workdir: Path,
    timeout_s: float,
    chromium: str | None = None,
) -> tuple[dict, dict[int, np.ndarray]]:
    """Load and run `model` in a fresh headless Chromium page; its result (a failure is one) and outputs.

    `model` is an .onnx file or a TF.js model.json (its weight shards beside it). The result's "window" says what
    other programs took from the CPUs from the page's first request to its result (fwbench.measure.quiet)."""
    chromium = chromium or find_chromium()
    if chromium is None:
        return {
            "stage": "load",
            "error": {
                "type": "ChromiumMissing",
                "message": "no chromium on PATH (make setup installs it: scripts/setup_chromium.sh)",
                "traceback": "",
            },
        }, {}
    workdir = Path(workdir).resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "inputs").mkdir(parents=True)
    listed = []
    for batch, x in sorted(inputs.items()):
        np.ascontiguousarray(x, dtype="<f4").tofile(workdir / "inputs" / f"b{batch}.f32")
        listed.append({"batch": int(batch), "shape": [int(d) for d in x.shape], "url": f"/inputs/b{batch}.f32"})
    model = Path(model).resolve()
    config = {
        "runtime": runtime,
        "model": f"/model/{model.name}",
        "threads": int(threads),
        "inputs": listed,
        "latency": [int(b) for b in latency],
        "timer": asdict(timer),
    }
    site = _Site(
        {"/runtime/": Path(modules), "/model/": model.parent, "/inputs/": workdir / "inputs", "/": WEB}, config
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/page.html"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fwbench-x7-chromium-") as profile:
        # The book's page-check flags (fwbench/book/browser.py): no sandbox (containers), no GPU, nothing online
        # but the loopback server.
        cmd = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--user-data-dir={profile}",
            url,
        ]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, "TMPDIR": profile},
        )
        try:
            finished = site.done.wait(timeout_s)
            # The window closes before the browser is stopped: Chromium's processes, killed at once, are reaped by
            # init rather than by their dead parents, and their time would leave the job's own and read as another
            # program's. Alive, each is this job's descendant and counts as its own.
            if finished and site.watch is not None:
                site.watch.__exit__(None, None, None)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            stderr = proc.communicate()[1].decode(errors="replace")
            server.shutdown()
            server.server_close()
    if not finished:
        return {
            "stage": "load",
            "error": {
                "type": "Timeout",
                "message": f"the page posted no result in {timeout_s:g} s",
                "traceback": stderr[-8000:],
            },
        }, {}
    result = dict(site.result or {})
    result.update(
        browser=chromium_version(chromium),
        runtime_bytes=site.runtime_bytes,
        page_s=time.perf_counter() - started,
        window=site.watch.window if site.watch is not None else None,
    )
    outputs = {}
    for b, r in result.get("runs", {}).items():
        if r.get("ok"):
            outputs[int(b)] = np.asarray(r.pop("logits"), dtype=np.float32).reshape(int(b), -1)
    return result, outputs
