"""What every server backend provides, and the process handle that starts, watches and always stops one."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from fwbench.experiments.serving import wire
from fwbench.measure.ports import free_port, port_is_free  # noqa: F401 (the servers' names for them)


@dataclass(frozen=True)
class ServeOptions:
    """How a server is to serve one model."""

    sample_shape: tuple[int, ...] = field(metadata={"help": "shape of one input sample (without batch)"})
    batching: bool = field(default=False, metadata={"help": "server-side dynamic batching on"})
    max_batch: int = field(default=16, metadata={"help": "dynamic batching: rows per model call at most"})
    max_wait_ms: float = field(default=2.0, metadata={"help": "dynamic batching: wait for more requests this long"})
    threads: int = field(default=1, metadata={"help": "threads the runtime may use (= the server's cores)"})
    max_request_batch: int = field(default=256, metadata={"help": "largest batch one request may carry"})


@dataclass(frozen=True)
class Launch:
    """A server ready to start: its command line and where to reach it."""

    command: list[str] = field(metadata={"help": "argv of the server process"})
    port: int = field(metadata={"help": "the port it listens on, on 127.0.0.1"})
    predict_path: str = field(metadata={"help": "URL path of the prediction endpoint"})
    env: dict = field(default_factory=dict, metadata={"help": "environment variables added for the process"})
    extra_ports: tuple[int, ...] = field(default=(), metadata={"help": "other ports it binds (management, gRPC)"})
    scratch_dirs: tuple[str, ...] = field(
        default=(), metadata={"help": "directories it needs outside the work directory, removed once it has stopped"}
    )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.predict_path}"


class Server(ABC):
    """One kind of server. `launch` writes what it needs under a work directory and says how to start it."""

    name: ClassVar[str]
    #: Wire formats (fwbench.experiments.serving.wire.FORMATS keys) it accepts.
    formats: ClassVar[tuple[str, ...]] = ("json", "npy")
    #: Whether it can batch requests server-side.
    batching: ClassVar[bool] = True
    #: Whether it can run any fwbench runtime (the frontend) or only its own artifact kind.
    any_runtime: ClassVar[bool] = False

    def unavailable(self) -> str | None:
        """Why this server cannot run here, or None if it can."""
        return None

    def version(self) -> str:
        return ""

    @abstractmethod
    def launch(self, runtime: str, artifact: Path, workdir: Path, options: ServeOptions) -> Launch:
        """Prepare the model for this server under `workdir` and return how to start it."""

    def encode(self, x: np.ndarray, fmt: str) -> tuple[bytes, str]:
        return wire.encode_request(x, fmt), wire.content_type(fmt)

    def decode(self, body: bytes, content_type: str) -> np.ndarray:
        return wire.decode_response(body, content_type)

    def info(self, launch: Launch) -> dict:
        """What the running server says about itself (load times); {} where it says nothing."""
        return {}

    def timings(self, launch: Launch, since: float, until: float) -> dict:
        """Where the requests that arrived between two unix times spent their time inside the server (means per
        request: decode_s, queue_s, runtime_s, encode_s, handled_s, and `requests`); {} where it does not say."""
        return {}


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ServerProcess:
    """A server in its own process group, pinned to `cpus`; a context manager that always stops it.

    Stopping sends SIGTERM to the whole group (servers that fork workers, like
    TorchServe, included), waits, then SIGKILLs whatever is left.
    """

    def __init__(self, launch: Launch, log_path: Path, cpus: list[int] | None = None, cwd: Path | None = None):
        self.launch, self.log_path, self.cpus, self.cwd = launch, Path(log_path), cpus, cwd
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self) -> "ServerProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = list(self.launch.command)
        # taskset execs the server pinned (everything it forks inherits it). A preexec_fn would
        # force a plain fork of this multithreaded process, which JAX and TF warn can deadlock.
        if self.cpus and shutil.which("taskset"):
            command = ["taskset", "-c", ",".join(map(str, self.cpus)), *command]
        with open(self.log_path, "wb") as log:
            self.started_at = time.perf_counter()
            self.proc = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env={**os.environ, **self.launch.env},
                start_new_session=True,
            )
        return self

    @property
    def pinned(self) -> bool:
        return bool(self.cpus) and shutil.which("taskset") is not None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def rss_bytes(self) -> int:
        """Resident memory of the server and every process it started."""
        import psutil

        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def stop(self, grace_s: float = 10.0) -> None:
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                # The group may outlive its leader (forked workers): done when both are gone.
                if self.proc.poll() is not None and not _group_alive(self.proc.pid):
                    break
                time.sleep(0.05)
            else:
                continue
            break
        self.proc.poll()
        for d in self.launch.scratch_dirs:
            shutil.rmtree(d, ignore_errors=True)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
