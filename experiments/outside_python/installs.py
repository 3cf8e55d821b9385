"""The JavaScript runtimes (npm ci from the committed locks) and the TF.js converter's environment, installed once per checkout and lock, only when this experiment runs."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fwbench.paths import SCRATCH

HERE = Path(__file__).resolve().parent
#: One folder per npm package set: package.json and the committed package-lock.json that `npm ci` installs.
NODE = HERE / "node"
#: The converter's pinned requirements (requirements.in says why each pin beyond tensorflowjs is there).
CONVERTER = HERE / "converter"
#: Installs live under the checkout's scratch folder (git-ignored), one folder per lock digest: a changed lock
#: installs afresh beside the old one instead of patching it.
NODE_INSTALLS = SCRATCH / "node"
VENVS = SCRATCH / "venvs"
#: onnxruntime-node's install script downloads CUDA binaries from outside the npm registry; its README ("CUDA EP
#: Installation") and script/install.js document `--onnxruntime-node-install=skip` (or ONNXRUNTIME_NODE_INSTALL=skip)
#: to skip that download. The package already carries the CPU library, which is all this experiment runs.
ORT_NODE_SKIP_FLAG = "--onnxruntime-node-install=skip"


class InstallFailed(RuntimeError):
    """An install that did not finish: the message names the command, `output` holds the end of what it printed."""

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        self.output = output

    def as_error(self) -> dict:
        """The stored error: type, one-line message, and the tool's own output as the traceback."""
        return {"type": "InstallFailed", "message": str(self).splitlines()[0][:500], "traceback": self.output[-8000:]}


@dataclass(frozen=True)
class Installed:
    """A ready install: where it is, and what getting it cost this process."""

    path: Path = field(metadata={"help": "node_modules folder, or the virtual environment's folder"})
    seconds: float = field(metadata={"help": "time this call spent installing (0 when an earlier install was reused)"})
    reused: bool = field(metadata={"help": "True when the install was already there"})


def digest(*files: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def packages() -> list[str]:
    """The npm package sets that can be installed (folders of NODE with a lock)."""
    return sorted(p.name for p in NODE.iterdir() if (p / "package-lock.json").is_file())


def folder_bytes(path: Path) -> int:
    """Size on disk of every regular file under `path` (links are not followed, so nothing is counted twice)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            p = Path(root) / name
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
    return total


@contextmanager
def _locked(lock: Path):
    """One installer at a time per target (two jobs, or two checkouts' runs, could otherwise race)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(cmd: list[str], timeout_s: float, what: str, env: dict | None = None, cwd: Path | None = None) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env, cwd=cwd)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        raise InstallFailed(f"{what} did not finish in {timeout_s:g} s", out + err) from None
    except OSError as exc:
        raise InstallFailed(f"{what} could not start: {exc}") from None
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        raise InstallFailed(f"{what} failed (exit status {proc.returncode}): {_first_error(output)}", output)


def _first_error(output: str) -> str:
    """The line of an installer's output that says what went wrong (npm and pip put it among many)."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for marker in ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "Error:", "error:", "ERROR"):
        hit = next((ln for ln in lines if marker in ln), None)
        if hit:
            return hit[:300]
    return lines[-1][:300] if lines else "no output"


def npm_install(package: str, timeout_s: float, root: Path = NODE_INSTALLS) -> Installed:
    """`npm ci` of NODE/<package> into root/<package>-<lock digest>, unless an earlier call did; the node_modules."""
    source = NODE / package
    if not (source / "package-lock.json").is_file():
        raise ValueError(f"no npm package set {package!r}; known: {', '.join(packages())}")
    dest = root / f"{package}-{digest(source / 'package.json', source / 'package-lock.json')}"
    if (dest / ".installed").is_file():
        return Installed(dest / "node_modules", 0.0, True)
    npm = shutil.which("npm")
    if npm is None:
        raise InstallFailed(
            "npm is not on PATH: the JavaScript runtimes cannot be installed (install Node.js 20 with npm)"
        )
    with _locked(root / f"{package}.lock"):
        if (dest / ".installed").is_file():
            return Installed(dest / "node_modules", 0.0, True)
        started = time.perf_counter()
        shutil.rmtree(dest, ignore_errors=True)
        partial = dest.with_name(dest.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(source / name, partial / name)
        env = {**os.environ, "ONNXRUNTIME_NODE_INSTALL": "skip"}
        _run(
            [npm, "ci", "--no-audit", "--no-fund", "--no-update-notifier", ORT_NODE_SKIP_FLAG],
            timeout_s,
            f"npm ci for {package}",
            env=env,
            cwd=partial,
        )
        partial.rename(dest)
        (dest / ".installed").write_text("")
        return Installed(dest / "node_modules", time.perf_counter() - started, False)


def converter_python(timeout_s: float, root: Path = VENVS) -> Installed:
    """The TF.js converter's own virtual environment from CONVERTER/requirements.lock, made on first use; its folder.

    Its own environment because tensorflowjs pins an older TensorFlow (and protobuf) than the project's."""
    lock = CONVERTER / "requirements.lock"
    dest = root / f"tfjs-{digest(lock)}"
    if (dest / ".installed").is_file():
        return Installed(dest, 0.0, True)
    with _locked(root / "tfjs.lock"):
        if (dest / ".installed").is_file():
            return Installed(dest, 0.0, True)
        started = time.perf_counter()
        shutil.rmtree(dest, ignore_errors=True)
        base = getattr(sys, "_base_executable", sys.executable)
        uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
        python = dest / "bin" / "python"
        if Path(uv).is_file():  # the project installs its own lock with uv (scripts/install_lock.py): faster
            _run([uv, "venv", "--quiet", "--python", base, str(dest)], timeout_s, "uv venv for the TF.js converter")
            _run(
                [uv, "pip", "sync", "--quiet", "--python", str(python), str(lock)],
                timeout_s,
                "uv pip sync of the TF.js converter's lock",
                env={**os.environ, "VIRTUAL_ENV": str(dest)},
            )
        else:
            _run([base, "-m", "venv", str(dest)], timeout_s, "python -m venv for the TF.js converter")
            _run(
                [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-r", str(lock)],
                timeout_s,
                "pip install of the TF.js converter's lock",
            )
        (dest / ".installed").write_text("")
        return Installed(dest, time.perf_counter() - started, False)
