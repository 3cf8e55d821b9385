"""Runs one planted bug in one mode, in its own process, and records what a developer would have seen.

The harness knows nothing about frameworks: it talks to a *target*, which an
framework's hook lends (`hooks/<framework>.py: target(adapter)`), holding the array API the bugs are
written against (`ops`), how to compile a function (`compile`), how many
times a compiled function has been traced (`compile_count`), how to switch a
detection tool on (`tool`) and how to turn a value into NumPy (`to_numpy`).

`run_isolated` starts each case as its own process (`fwbench.experiments.debugging.child`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from fwbench.measure.child import ended_how, run_child
from fwbench.measure.forkserver import ForkServer, child_stderr

OUTCOMES = ("error", "silent-wrong", "works")

#: Kept in the store per case; longer text is cut in the middle (the start names the error, the end shows where).
MAX_TEXT = 12000

#: Wording that offers the reader a way out (checked case-insensitively in the error message).
_FIX_HINTS = re.compile(
    r"did you mean|\btry\b|consider|you (?:can|may|should|need|might)|instead|"
    r"\bto fix\b|please|\bsee https?://|\buse `|\bset `|make sure|\bensure\b",
    re.I,
)
_DTYPE_WORDS = {
    "int": re.compile(r"\b(?:int(?:8|16|32|64)?|i32|i64|long|Int)\b|int32|int64", re.I),
    "float": re.compile(r"\b(?:float(?:16|32|64)?|f32|f64|double|Float)\b|float32|float64", re.I),
}


@dataclass
class Target:
    """What the harness needs from a framework: lent by the framework's hook module (`target(adapter)`)."""

    ops: Any = field(metadata={"help": "namespace of array functions the bugs call (matmul, sum, take, ...)"})
    compile: Callable[[Callable], Callable] = field(metadata={"help": "the framework's default compiled mode"})
    to_numpy: Callable[[Any], np.ndarray] = field(
        metadata={"help": "a concrete value as NumPy; raises for a symbolic one"}
    )
    asarray: Callable[[np.ndarray], Any] = field(metadata={"help": "NumPy array -> the framework's tensor"})
    compile_count: Callable[[Callable], int] = field(
        default=lambda fn: 0,
        metadata={"help": "how many graphs the framework has traced/compiled so far (for fn, or process-wide)"},
    )
    tool: Callable[[str], Any] = field(
        default=lambda name: contextlib.nullcontext(),
        metadata={"help": "context manager switching a detection tool on ('none' = nothing)"},
    )
    compiled_with: str = field(default="", metadata={"help": "the variant `compile` applies, for the record"})


# ---- capturing what the developer sees ----------------------------------------------------------


@contextlib.contextmanager
def capture():
    """Capture everything written to fds 1 and 2 (C++ prints included), Python warnings and log records."""
    box: dict[str, Any] = {}
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    records: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record):
            records.append(f"{record.levelname} {record.name}: {record.getMessage()}")

    handler = _Keep(level=logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    os.dup2(out.fileno(), 1)
    os.dup2(err.fileno(), 2)
    # Python-level streams may not be fds 1 and 2 (pytest, Jupyter replace them): point them there too.
    py_streams = sys.stdout, sys.stderr
    sys.stdout = open(1, "w", closefd=False, buffering=1, encoding="utf-8", errors="replace")
    sys.stderr = open(2, "w", closefd=False, buffering=1, encoding="utf-8", errors="replace")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield box
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = py_streams
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        root.removeHandler(handler)
        for name, fh in (("stdout", out), ("stderr", err)):
            fh.seek(0)
            box[name] = fh.read().decode("utf-8", "replace")
            fh.close()
        box["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
        box["log"] = records


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters cut ...]\n{text[-half:]}"


# ---- reading an exception ------------------------------------------------------------------------


def mentions_shape(text: str, shape: tuple[int, ...]) -> bool:
    """Whether `text` spells out `shape` in any common notation: (4, 3), [4,3], 4x3, f32[4,3], torch.Size([4, 3])."""
    sep = r"\s*(?:,|x|×|\*)\s*"
    pattern = r"(?<![\d.])" + sep.join(str(d) for d in shape) + r"(?![\d.])"
    return re.search(pattern, text) is not None


def user_frame_depth(exc: BaseException, planted: tuple[str, int]) -> int | None:
    """Frames between where `exc` was raised and the planted line (0: raised on it); None if not in the traceback.

    Chained exceptions (`raise ... from`, or raised while handling) are searched
    too, since the developer sees them in the same printout.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        frames = traceback.extract_tb(exc.__traceback__)
        for depth, frame in enumerate(reversed(frames)):
            if _same_file(frame.filename, planted[0]) and frame.lineno == planted[1]:
                return depth
        exc = exc.__cause__ or exc.__context__
    return None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.basename(a) == os.path.basename(b) and a.endswith(b[-40:])


def shows_line(text: str, planted: tuple[str, int]) -> bool:
    """Whether `text` (a printed traceback, a message) points at the planted file and line."""
    name = re.escape(os.path.basename(planted[0]))
    line = planted[1]
    return re.search(rf'{name}"?,? (?:line )?{line}\b|{name}:{line}\b', text) is not None


def read_exception(exc: BaseException, planted: tuple[str, int], shapes=(), output: str = "") -> dict:
    """Everything the developer learns from an exception (and what was printed next to it)."""
    printed = "".join(traceback.format_exception(exc))
    message = str(exc)
    everything = printed + "\n" + output
    return {
        "exception_type": type(exc).__name__,
        "message": _clip(message, 4000),
        "traceback": _clip(printed),
        "message_chars": len(message),
        "traceback_frames": len(traceback.extract_tb(exc.__traceback__)),
        "user_frame_depth": user_frame_depth(exc, planted),
        "user_line_shown": shows_line(everything, planted),
        "names_shapes": bool(shapes) and all(mentions_shape(everything, s) for s in shapes),
        "names_dtypes": all(p.search(message) for p in _DTYPE_WORDS.values()),
        "suggests_fix": _FIX_HINTS.search(message) is not None,
    }


# ---- running and judging one case ----------------------------------------------------------------


def _concrete(target: Target, value) -> np.ndarray | None:
    try:
        return np.asarray(target.to_numpy(value))
    except Exception:  # a tracer or symbolic tensor refuses: that is exactly what we detect
        return None


def _close(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-4, atol=1e-5))


def _numbers(text: str) -> list[float]:
    return [float(m) for m in re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)]


def _as_arrays(value) -> list:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def classify(bug, raised: BaseException | None, results: list, observed: dict, target: Target) -> tuple[str, dict]:
    """Outcome (error / silent-wrong / works) of a case, and the evidence for it.

    `results` holds each call's return value; `observed` what the harness saw on
    the side (printed text, breakpoint hook calls, the side-effect list, compile counts).
    """
    if raised is not None:
        return "error", {}
    calls = bug.calls()
    details: dict[str, Any] = {}
    outputs = [[_concrete(target, v) for v in _as_arrays(r)] for r in results]
    finite = all(o is not None and np.all(np.isfinite(o)) for out in outputs for o in out)
    details["finite"] = finite
    if bug.check == "raise":
        details["returned"] = _describe_return(bug, calls, outputs)
        return "silent-wrong", details
    if bug.check == "finite":
        return ("works" if finite else "silent-wrong"), details
    right = bug.intended is not None and all(
        out[0] is not None and _close(out[0], bug.intended(*args)) for out, args in zip(outputs, calls)
    )
    details["matches_intended"] = right
    if bug.check in ("value", "retrace"):
        if bug.check == "retrace":
            details["compiles"] = observed.get("compiles", 0)
            details["warned"] = observed.get("warned", False)
        return ("works" if right and finite else "silent-wrong"), details
    wanted = [bug.inspect_value(*args) for args in calls]
    if bug.check == "print":
        text = observed.get("stdout", "") + observed.get("stderr", "")
        numbers = _numbers(text)
        shown = [any(math.isclose(n, float(v), rel_tol=1e-5) for n in numbers) for v in wanted]
        details.update(values_shown=sum(shown), calls=len(wanted), printed=_clip(text.strip(), 600))
        return ("works" if all(shown) and right else "silent-wrong"), details
    if bug.check == "breakpoint":
        seen = observed.get("breakpoint", [])
        concrete = [v for v in seen if v is not None]
        hits = sum(any(_close(v, want) for v in concrete) for want in wanted)
        details.update(
            hook_calls=len(seen),
            concrete_calls=len(concrete),
            calls=len(wanted),
            locals_seen=observed.get("breakpoint_types", [])[:3],
        )
        return ("works" if hits == len(wanted) and right else "silent-wrong"), details
    if bug.check == "side_effect":
        log = observed.get("log", [])
        values = [_concrete(target, v) for v in log]
        hits = sum(any(v is not None and _close(v, want) for v in values) for want in wanted)
        details.update(
            entries=len(log),
            concrete_entries=sum(v is not None for v in values),
            calls=len(wanted),
            entry_types=sorted({type(v).__name__ for v in log}),
        )
        return ("works" if len(log) == len(wanted) and hits == len(wanted) and right else "silent-wrong"), details
    raise ValueError(f"unknown check {bug.check!r}")


def _describe_return(bug, calls, outputs) -> str:
    """For a bug with no right answer: what came back instead of an error (clamped, zeros, NaN, ...)."""
    out = outputs[0][0] if outputs and outputs[0] else None
    if out is None:
        return "a symbolic value"
    if not np.all(np.isfinite(out)):
        return "NaN / inf filled"
    args = calls[0]
    if bug.name == "index":
        table, ids = args
        clamped = table[np.clip(ids, 0, len(table) - 1)]
        if out.shape == clamped.shape and np.array_equal(out, clamped):
            return "index clamped to the last row"
        if out.shape == clamped.shape and not np.any(out[ids >= len(table)]):
            return "zeros for the bad index"
    return f"a value of shape {tuple(out.shape)}"


def run_case(target: Target, bug, mode: str, tool: str = "none") -> dict:
    """Run `bug` eagerly or compiled (mode 'eager' / 'graph') with `tool` on, in this process; return the record."""
    from fwbench.experiments.debugging import bugs as catalogue

    if mode not in ("eager", "graph"):
        raise ValueError(f"mode must be 'eager' or 'graph', got {mode!r}")
    planted = catalogue.planted_line(bug.fn)
    calls = bug.calls()
    observed: dict[str, Any] = {"breakpoint": [], "breakpoint_types": []}
    catalogue.SIDE_EFFECT_LOG.clear()
    ops = target.ops

    def hook(*_args, **_kwargs):
        # Stands in for pdb: records whether the paused frame's `h` holds a concrete value.
        frame = sys._getframe(1)
        if "h" not in frame.f_locals:  # a debugger would answer `p h` with NameError
            observed["breakpoint_types"].append("missing")
            observed["breakpoint"].append(None)
            return
        value = frame.f_locals["h"]
        observed["breakpoint_types"].append(type(value).__name__)
        observed["breakpoint"].append(_concrete(target, value))

    def entry(*arrays):
        return bug.fn(ops, *arrays)

    raised = None
    results: list = []
    shapes = [tuple(a.shape) for a in calls[0] if isinstance(a, np.ndarray)]
    # The clock measures the bug, not the framework's one-time start-up: run one op and
    # load the compile counter's modules (torch imports dynamo for it) before starting it.
    target.to_numpy(ops.sum(target.asarray(np.ones((2, 2), np.float32))))
    target.compile_count(entry)
    old_hook = sys.breakpointhook
    sys.breakpointhook = hook
    os.environ.pop("PYTHONBREAKPOINT", None)  # "0" there would silently disable breakpoint()
    started = time.perf_counter()
    elapsed = math.nan
    with capture() as seen:
        try:
            with target.tool(tool):
                fn = target.compile(entry) if mode == "graph" else entry
                before = target.compile_count(fn)
                for args in calls:
                    tensors = tuple(target.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
                    out = fn(*tensors)
                    for o in _as_arrays(out):
                        _concrete(target, o)  # synchronizes: an error in async dispatch surfaces here
                    results.append(out)
                observed["compiles"] = target.compile_count(fn) - before
        except Exception as exc:  # the planted bug raising is the measurement, not a failure
            raised = exc
        finally:
            elapsed = time.perf_counter() - started
            sys.breakpointhook = old_hook
    observed.update(stdout=seen["stdout"], stderr=seen["stderr"])
    observed["log"] = list(catalogue.SIDE_EFFECT_LOG)
    chatter = "\n".join([seen["stderr"], *seen["warnings"], *seen["log"]])
    observed["warned"] = re.search(r"retrac|recompil|cache[_ ]size|recompile_limit", chatter, re.I) is not None
    outcome, details = classify(bug, raised, results, observed, target)
    record = {
        "bug": bug.name,
        "mode": mode,
        "tool": tool,
        "outcome": outcome,
        "ideal": bug.ideal,
        "compiled_with": target.compiled_with if mode == "graph" else "",
        "planted": f"{os.path.basename(planted[0])}:{planted[1]}",
        "time_to_surface_s": elapsed,
        "details": details,
        "stdout": _clip(seen["stdout"], 4000),
        "stderr": _clip(seen["stderr"], 4000),
        "warnings": seen["warnings"][:20],
        "log": seen["log"][:20],
        "exception_type": None,
        "message": None,
        "traceback": None,
        "message_chars": None,
        "traceback_frames": None,
        "user_frame_depth": None,
        "user_line_shown": None,
        "names_shapes": None,
        "names_dtypes": None,
        "suggests_fix": None,
    }
    if raised is not None:
        # What the developer sees next to the exception: stderr and warnings (detect_anomaly
        # reports the forward line that produced a NaN as a warning, not in the exception).
        record.update(read_exception(raised, planted, shapes=shapes, output=chatter))
    return record


# ---- one case per process ------------------------------------------------------------------------


def run_isolated(
    framework: str,
    bug: str,
    mode: str,
    tool: str,
    threads: int | str = "auto",
    timeout_s: float = 300.0,
    workdir: str | None = None,
) -> dict:
    """Run one case in a fresh Python process, so a planted crash cannot take the others down.

    A child that dies (a signal, a non-zero exit without a record) or hangs is
    itself the outcome: an error whose type says how it ended.
    """
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        out = Path(tmp) / "case.json"
        started = time.perf_counter()
        child = run_child(
            "fwbench.experiments.debugging.child",
            [
                "--framework",
                framework,
                "--bug",
                bug,
                "--mode",
                mode,
                "--tool",
                tool,
                "--threads",
                str(threads),
                "--out",
                str(out),
            ],
            out,
            timeout_s,
            cwd=tmp,
            what="the case's process",
        )
        if child.result is not None:
            child.result["process_stderr"] = _clip(child.stderr, 4000)
            return child.result
        return _died(
            bug,
            mode,
            tool,
            child.error["type"],
            child.error["message"],
            child.stderr if child.error["type"] == "ProcessDied" else "",
            started,
        )


def cost_isolated(
    framework: str,
    tool: str,
    mode: str,
    settings: dict,
    seed: int,
    threads: int | str = "auto",
    timeout_s: float = 300.0,
    workdir: str | None = None,
) -> dict:
    """One process's tool-cost measurement (fwbench.experiments.debugging.measure.tool_cost) in a fresh Python
    process; a process that fails raises, with the end of its stderr."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        out = Path(tmp) / "cost.json"
        child = run_child(
            "fwbench.experiments.debugging.child",
            [
                "--framework",
                framework,
                "--tool",
                tool,
                "--cost",
                mode,
                "--seed",
                str(seed),
                "--settings",
                json.dumps(settings),
                "--threads",
                str(threads),
                "--out",
                str(out),
            ],
            out,
            timeout_s,
            cwd=tmp,
            what="the tool-cost process",
        )
        if child.result is None:
            raise RuntimeError(
                f"{framework} {tool} cost ({mode}): {child.error['message']}: {_clip(child.stderr, 2000)}"
            )
        return child.result


def survey_isolated(
    framework: str, what: str, threads: int | str = "auto", timeout_s: float = 300.0, workdir: str | None = None
) -> dict:
    """A tooling-survey item (fwbench.experiments.debugging.measure.survey) in a fresh Python process; a process
    that fails is the item's error."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        out = Path(tmp) / "survey.json"
        child = run_child(
            "fwbench.experiments.debugging.child",
            ["--framework", framework, "--survey", what, "--threads", str(threads), "--out", str(out)],
            out,
            timeout_s,
            cwd=tmp,
            what="the survey's process",
        )
        if child.result is not None:
            return child.result
        return _survey_failed(what, child.error["type"], child.stderr, child.error["message"])


def _survey_failed(what: str, etype: str, stderr: str, message: str) -> dict:
    tail = stderr.strip().splitlines()[-1:] or [message]
    return {"item": what, "works": False, "files": [], "bytes": 0, "extra_packages": [], "error": f"{etype}: {tail[0]}"}


class FreshCases:
    """CaseServer's interface with a fresh interpreter per case (run_isolated): the reference that forking is
    checked against (`Params.case_processes`), at the cost of the framework's import per case."""

    def __init__(self, framework: str, threads: int | str = "auto", workdir: str | None = None):
        self.framework, self.threads, self.workdir = framework, threads, workdir

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, bug: str, mode: str, tool: str, timeout_s: float = 300.0) -> dict:
        return run_isolated(self.framework, bug, mode, tool, self.threads, timeout_s, self.workdir)

    def cost(self, tool: str, mode: str, settings: dict, seed: int, timeout_s: float = 300.0) -> dict:
        return cost_isolated(self.framework, tool, mode, settings, seed, self.threads, timeout_s, self.workdir)

    def survey(self, what: str, timeout_s: float = 300.0) -> dict:
        return survey_isolated(self.framework, what, self.threads, timeout_s, self.workdir)


class CaseServer(ForkServer):
    """Cases of one framework, each in a process of its own, without paying the framework's import per case.

    A server process (`python -m fwbench.experiments.debugging.child --serve`, see fwbench.measure.forkserver)
    applies the settings, imports and configures the framework once and runs nothing; every case is a fork
    of it, so each still starts where no other case ran. A case the fork cannot finish in time, or a server
    that dies, is run again by run_isolated in a fresh process.
    """

    def __init__(self, framework: str, threads: int | str = "auto", workdir: str | None = None):
        self.framework, self.threads, self.workdir = framework, threads, workdir
        super().__init__(
            "fwbench.experiments.debugging.child", ["--framework", framework, "--threads", str(threads)], cwd=workdir
        )

    def run(self, bug: str, mode: str, tool: str, timeout_s: float = 300.0) -> dict:
        """What run_isolated returns for the case, from a fork of the server."""
        with tempfile.TemporaryDirectory(dir=self.workdir) as tmp:
            out = Path(tmp) / "case.json"
            started = time.perf_counter()
            reply = self.ask(
                {"bug": bug, "mode": mode, "tool": tool, "out": str(out), "workdir": tmp, "timeout_s": timeout_s},
                timeout_s + 60,
            )
            if reply is None or reply.get("timed_out"):
                return run_isolated(self.framework, bug, mode, tool, self.threads, timeout_s, self.workdir)
            if "problem" in reply:
                raise ValueError(reply["problem"])
            stderr = child_stderr(tmp)
            if out.is_file():
                record = json.loads(out.read_text())
                record["process_stderr"] = _clip(stderr, 4000)
                return record
            return _died(
                bug,
                mode,
                tool,
                "ProcessDied",
                f"the case's process ended ({ended_how(reply['returncode'])}) without a record",
                stderr,
                started,
            )

    def cost(self, tool: str, mode: str, settings: dict, seed: int, timeout_s: float = 300.0) -> dict:
        """cost_isolated's measurement in a fork of the server (a fresh interpreter if the server is gone or
        the fork hangs)."""
        with tempfile.TemporaryDirectory(dir=self.workdir) as tmp:
            out = Path(tmp) / "cost.json"
            reply = self.ask(
                {
                    "cost": mode,
                    "tool": tool,
                    "settings": settings,
                    "seed": seed,
                    "out": str(out),
                    "workdir": tmp,
                    "timeout_s": timeout_s,
                },
                timeout_s + 60,
            )
            if reply is None or reply.get("timed_out"):
                return cost_isolated(self.framework, tool, mode, settings, seed, self.threads, timeout_s, self.workdir)
            if "problem" in reply:
                raise ValueError(reply["problem"])
            if not out.is_file():
                raise RuntimeError(
                    f"{self.framework} {tool} cost ({mode}): the process ended "
                    f"({ended_how(reply['returncode'])}) without a result: {_clip(child_stderr(tmp), 2000)}"
                )
            return json.loads(out.read_text())

    def survey(self, what: str, timeout_s: float = 300.0) -> dict:
        """survey_isolated's item in a fork of the server. A fork holds what a fresh process holds once it imported
        the framework: a module the item needs and the machine lacks is missing there too, so the fork finds the
        same extra packages (tests/experiments/debugging/test_harness.py runs both)."""
        with tempfile.TemporaryDirectory(dir=self.workdir) as tmp:
            out = Path(tmp) / "survey.json"
            reply = self.ask(
                {"survey": what, "tool": "none", "out": str(out), "workdir": tmp, "timeout_s": timeout_s},
                timeout_s + 60,
            )
            if reply is None or reply.get("timed_out"):
                return survey_isolated(self.framework, what, self.threads, timeout_s, self.workdir)
            if "problem" in reply:
                raise ValueError(reply["problem"])
            if out.is_file():
                return json.loads(out.read_text())
            return _survey_failed(
                what,
                "ProcessDied",
                child_stderr(tmp),
                f"the survey's process ended ({ended_how(reply['returncode'])}) without a result",
            )


def _died(bug: str, mode: str, tool: str, etype: str, message: str, stderr: str, started: float) -> dict:
    return {
        "bug": bug,
        "mode": mode,
        "tool": tool,
        "outcome": "error",
        "exception_type": etype,
        "message": message,
        "traceback": _clip(stderr),
        "time_to_surface_s": time.perf_counter() - started,
        "details": {},
        "user_line_shown": False,
        "user_frame_depth": None,
        "message_chars": len(message),
        "traceback_frames": None,
        "names_shapes": False,
        "names_dtypes": False,
        "suggests_fix": False,
        "harness_error": True,
    }
