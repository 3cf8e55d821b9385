"""A fresh process per request without a fresh import each: a server that imported once forks a child per request.

The server (`serve`, run inside `python -m <module> ... --serve`) has applied the
thread settings and imported what every request needs, and has run nothing. Each
request is handled in a fork of it, so every child starts from a process in which
no other request ran: the isolation of a fresh interpreter, minus the import.
The client (`ForkServer`) starts that server, sends one JSON request per line and
reads one reply line per request. It knows nothing about what a request means:
the debugging cases and the export artifacts each wrap it.

Only the standard library here: the server imports this module before numpy or a
framework, since thread settings must be applied first.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

#: Prefix of the server's reply lines; anything else on its stdout is chatter and is skipped.
REPLY = "FWBENCH-FORK-REPLY "
#: Where a child's stdout and stderr go, inside the request's workdir.
STDOUT, STDERR = "stdout.txt", "stderr.txt"


def serve(handle: Callable[[dict], None], problem: Callable[[dict], str | None] = lambda request: None) -> int:
    """Answer requests from stdin, one JSON object per line, each handled by `handle` in a forked child.

    A request holds "workdir" and "timeout_s" beside what `handle` reads; every path in it must be
    absolute, since the child runs in workdir with stdin from /dev/null and stdout/stderr into STDOUT/STDERR there, and exits 0
    once `handle` returns (1 if it raised, the traceback in STDERR). The reply is
    {"returncode": exit status or -signal, "timed_out": bool}, or {"problem": text} without a
    fork when `problem(request)` names one (a request the server cannot mean to run).
    """
    for line in sys.stdin:
        request = json.loads(line)
        found = problem(request)
        if found:
            _reply({"problem": found})
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: a process in which no other request ever ran
            code = 1
            try:
                os.chdir(request["workdir"])
                # stdin is the server's request pipe: nothing a child does may read the next request.
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                for fd, name in ((1, STDOUT), (2, STDERR)):
                    os.dup2(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
                handle(request)
                code = 0
            except BaseException:  # noqa: BLE001 - whatever happened, the server must hear of it as an exit status
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _reply(_wait(pid, float(request["timeout_s"])))
    return 0


def _wait(pid: int, timeout_s: float) -> dict:
    """Wait for the child without polling (a pidfd), so the server takes no CPU from the child it waits for."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd (old kernel): poll instead
        pidfd = None
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return {"returncode": os.waitstatus_to_exitcode(status), "timed_out": False}
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return {"returncode": -signal.SIGKILL, "timed_out": True}
            if pidfd is None:
                time.sleep(min(0.005, left))
            else:
                select.select([pidfd], [], [], left)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _reply(body: dict) -> None:
    sys.stdout.write(REPLY + json.dumps(body) + "\n")
    sys.stdout.flush()


def child_stderr(workdir: Path | str) -> str:
    """What a forked child wrote to stderr ('' if it wrote nothing)."""
    path = Path(workdir) / STDERR
    return path.read_text(errors="replace") if path.is_file() else ""


class ForkServer:
    """Client of one `python -m module *args --serve` process; `ask` sends a request and waits for its reply.

    `ask` returns None when the server is gone, silent past the timeout (it is then killed) or
    never started: the caller runs that request in a fresh interpreter instead, since a fork
    that hung is the harness's problem, never a finding about the framework.
    """

    def __init__(self, module: str, args: list[str], cwd: str | Path | None = None):
        self._command, self._cwd = [sys.executable, "-m", module, *args, "--serve"], cwd
        self._proc: subprocess.Popen | None = None
        self._log = None
        self._pending = b""

    def _start(self) -> subprocess.Popen:
        """Start the server at the first request: its import then runs while the caller waits, not beside
        work the caller times."""
        if self._proc is None:
            self._log = tempfile.TemporaryFile(mode="w+")  # the server's own chatter, kept off the caller's pipes
            self._proc = subprocess.Popen(
                self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True, cwd=self._cwd
            )
        return self._proc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._log is not None:
            self._log.close()

    def kill(self) -> None:
        """End the server now (tests use it to check that requests then fall back to fresh processes)."""
        self._start().kill()
        self._proc.wait()

    def ask(self, request: dict, timeout_s: float) -> dict | None:
        """Send one request and wait for its reply line; None if the server is gone or silent."""
        if self._start().poll() is not None:
            return None
        try:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        # Raw reads of the pipe: a buffered reader could hold a reply that select() no longer sees.
        fd, deadline = self._proc.stdout.fileno(), time.monotonic() + timeout_s
        while True:
            while b"\n" in self._pending:
                line, self._pending = self._pending.split(b"\n", 1)
                text = line.decode(errors="replace")
                if text.startswith(REPLY):
                    return json.loads(text[len(REPLY) :])
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self._proc.kill()
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None  # the server died
            self._pending += chunk
