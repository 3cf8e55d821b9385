"""Fresh processes and failures as data: one launcher for every child a job starts, one way to store an exception."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def error_of(exc: BaseException, whole_message: bool = False) -> dict:
    """type, message and traceback of `exc`, as the store keeps them.

    The message is its first non-empty line (what a table shows) unless `whole_message`;
    colour codes are removed. Exceptions relayed from a kernel (papermill's) keep the
    kernel's exception name, message and traceback.
    """
    name = getattr(exc, "ename", None) or type(exc).__name__
    value = getattr(exc, "evalue", None)
    text = _ANSI.sub("", str(exc) if value is None else str(value))
    relayed = getattr(exc, "traceback", None)
    tb = "\n".join(relayed) if isinstance(relayed, list) else "".join(traceback.format_exception(exc))
    if whole_message:
        return {"type": name, "message": text[:4000], "traceback": _ANSI.sub("", tb)[-20000:]}
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return {"type": name, "message": lines[0][:500] if lines else "", "traceback": _ANSI.sub("", tb)[-8000:]}


@dataclass
class ChildResult:
    """What a child left: its JSON result, or an error saying how it ended without one."""

    result: dict | None
    error: dict | None
    stderr: str
    returncode: int | None


def run_child(
    module: str,
    args: list[str],
    out: Path,
    timeout_s: float,
    cwd: Path | str | None = None,
    what: str = "the child process",
) -> ChildResult:
    """Run `python -m module args` in a fresh interpreter; its result is the JSON it writes to `out`.

    A child that hangs, is killed or exits without writing `out` gives an error of type
    "Timeout" or "ProcessDied" (a result too: the caller stores it).
    """
    cmd = [sys.executable, "-m", module, *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=cwd)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return ChildResult(
            None, {"type": "Timeout", "message": f"no result after {timeout_s:g} s", "traceback": ""}, stderr, None
        )
    if Path(out).is_file():
        return ChildResult(json.loads(Path(out).read_text()), None, proc.stderr, proc.returncode)
    return ChildResult(None, died(what, proc.returncode, proc.stderr), proc.stderr, proc.returncode)


def ended_how(returncode: int) -> str:
    return f"killed by signal {-returncode}" if returncode < 0 else f"exit status {returncode}"


def died(what: str, returncode: int, stderr: str) -> dict:
    """The stored error of a process that ended without writing its result."""
    return {
        "type": "ProcessDied",
        "message": f"{what} ended ({ended_how(returncode)}) without a result",
        "traceback": stderr[-8000:],
    }
