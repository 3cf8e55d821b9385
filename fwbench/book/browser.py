"""A headless Chromium page driven over the DevTools protocol on a pipe: load a local page at a set window size,
evaluate JavaScript in it, and take a screenshot. No dependencies beyond Chromium itself, and offline.

Chromium's `--remote-debugging-pipe` reads NUL-terminated JSON messages on fd 3 and
writes them on fd 4; this module speaks just enough of the protocol for the page
check: create a target, attach to it, set the viewport, navigate, evaluate, capture.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from fwbench.errors import PageCheckError


def chromium_env(profile: str) -> dict[str, str]:
    """Chromium's environment: its temporary files (the shared memory that --disable-dev-shm-usage moves out of
    /dev/shm) go into its own profile folder, removed with it, instead of piling up in /tmp when it is killed."""
    return {**os.environ, "TMPDIR": profile}


#: Redirects `Browser.open` follows before it gives up on a page.
MAX_REDIRECTS = 5


class Browser:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, chromium: str, width: int = 1400, height: int = 900, timeout: float = 60.0):
        self.chromium, self.width, self.height, self.timeout = chromium, width, height, timeout
        self._next = 0
        self._buffer = b""
        self._events: list[dict] = []

    def __enter__(self) -> "Browser":
        self._profile = tempfile.TemporaryDirectory(prefix="fwbench-cdp-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Chromium expects its end of the pipes as fds 3 (commands in) and 4 (replies out).
        cmd = [
            self.chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={self._profile.name}",
            f"--window-size={self.width},{self.height}",
            "--remote-debugging-pipe",
            "about:blank",
        ]

        def fds():
            # Runs in the child before unlisted fds are closed: move both ends out of the way, then onto 3 and 4.
            r, w = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=fds,
            start_new_session=True,
            env=chromium_env(self._profile.name),
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        try:
            target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            self.call("Page.enable")
            self.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
            )
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            os.close(self._to_chrome)
            os.close(self._from_chrome)
        except OSError:
            pass
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._proc.wait()
        self._profile.cleanup()

    def _send(self, message: dict) -> int:
        self._next += 1
        message["id"] = self._next
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        return self._next

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise PageCheckError("Chromium did not answer in time (a page that never finishes loading?)")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise PageCheckError("Chromium exited while the page was being checked")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def _call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        message = {"method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        wanted = self._send(message)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == wanted:
                if "error" in reply:
                    raise PageCheckError(f"Chromium refused {method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def call(self, method: str, params: dict | None = None) -> dict:
        return self._call(method, params, self._session)

    def open(self, page: Path, settle_ms: int = 700) -> None:
        """Load a local page, wait for its load event, MathJax's typesetting and its fonts, then `settle_ms` more
        for scripts that act on a timer."""
        page = Path(page).resolve()
        if not page.is_file():
            raise PageCheckError(f"no such page: {page}")
        self._events = []  # only what this navigation fires counts
        self.call("Page.navigate", {"url": page.as_uri()})
        deadline = time.monotonic() + self.timeout
        self._wait_loaded(deadline)
        for _ in range(MAX_REDIRECTS + 1):
            try:
                self.evaluate(
                    "new Promise(done => {"
                    " const typeset = window.MathJax && MathJax.startup && MathJax.startup.promise;"
                    " Promise.resolve(typeset).then(() => document.fonts.ready)"
                    f".then(() => setTimeout(done, {int(settle_ms)})); }})"
                )
                return
            except PageCheckError as exc:
                if "navigated" not in str(exc):
                    raise
            # The page sent the browser on (a redirect, like the book's index.html): what counts is the page it
            # went to, so its events replace the first one's, once it has loaded.
            loaded = next(i for i, e in enumerate(self._events) if e.get("method") == "Page.loadEventFired")
            self._events = self._events[loaded + 1 :]
            self._wait_loaded(deadline)
        raise PageCheckError(f"{page.name} was still redirecting after {MAX_REDIRECTS} redirects")

    def _wait_loaded(self, deadline: float) -> None:
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            event = self._read(deadline)
            if "method" in event:
                self._events.append(event)

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (a promise is awaited); JSON-like values only."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            text = result["exceptionDetails"].get("exception", {}).get("description") or result["exceptionDetails"]
            raise PageCheckError(f"script failed in the page: {str(text).splitlines()[0]}")
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path) -> Path:
        """The first screen (the viewport) as PNG."""
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
