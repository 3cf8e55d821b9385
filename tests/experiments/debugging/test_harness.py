"""The harness judges tiny planted cases it controls correctly: a raise at a known line, a wrong value, one that works."""

import sys

import numpy as np
import pytest

from fwbench.experiments.debugging import bugs
from fwbench.experiments.debugging.bugs import Bug
from fwbench.experiments.debugging.harness import (
    CaseServer,
    Target,
    capture,
    classify,
    mentions_shape,
    read_exception,
    run_case,
    run_isolated,
    shows_line,
    survey_isolated,
)
from tiers import full_only


class NumpyOps:
    """The bugs' array API in plain NumPy: eager by nature, with a 'compiled' mode the tests control."""

    matmul = staticmethod(np.matmul)
    mean = staticmethod(np.mean)
    sqrt = staticmethod(np.sqrt)
    sum = staticmethod(np.sum)

    @staticmethod
    def take(table, ids):
        return table[ids]

    @staticmethod
    def debug_print(value):
        print("h.sum() =", value)


class Symbol:
    """A placeholder like a tracer: it has no concrete value."""

    def __array__(self, *args, **kwargs):
        raise TypeError("symbolic value")


def trace_once(fn):
    """A 'compiler' that runs the Python once and replays its result, as tracing compilers do for side effects."""
    cache = {}

    def compiled(*args):
        if "out" not in cache:
            cache["out"] = fn(*args)
        return cache["out"]

    return compiled


NUMPY = Target(ops=NumpyOps, compile=lambda fn: fn, to_numpy=np.asarray, asarray=np.asarray)
TRACING = Target(ops=NumpyOps, compile=trace_once, to_numpy=np.asarray, asarray=np.asarray)


def _x():
    return [(np.arange(12, dtype=np.float32).reshape(4, 3),)]


def raises_here(ops, x):
    raise ValueError("cannot combine (4, 3) with (4, 2); try transposing")  # planted: raises here


def wrong_value(ops, x):
    return x * 3.0  # planted: should be * 2


def right_value(ops, x):
    return x * 2.0  # planted: nothing wrong


def prints_each_call(ops, x):
    print("sum", ops.sum(x))  # planted
    return x * 2.0


def stops_at_breakpoint(ops, x):
    h = x * 2.0
    breakpoint()  # planted
    return h


def intended(x):
    return x * 2.0


def bug(fn, check="value", ideal="works", calls=_x, **kw):
    return Bug(fn.__name__, fn.__name__, fn, calls, check, ideal, intended=intended, **kw)


def test_a_raise_at_a_known_line_is_an_error_pointing_at_it():
    rec = run_case(NUMPY, bug(raises_here, ideal="error"), "eager")
    assert rec["outcome"] == "error"
    assert rec["exception_type"] == "ValueError"
    assert rec["user_line_shown"] is True
    assert rec["user_frame_depth"] == 0
    assert rec["names_shapes"] is True  # the message spells out (4, 3) and (4, 2)... of which (4, 3) is the input
    assert rec["suggests_fix"] is True
    assert rec["planted"] == f"test_harness.py:{bugs.planted_line(raises_here)[1]}"
    assert rec["time_to_surface_s"] >= 0


def test_a_wrong_value_is_silent_wrong_and_a_right_one_works():
    assert run_case(NUMPY, bug(wrong_value), "eager")["outcome"] == "silent-wrong"
    rec = run_case(NUMPY, bug(right_value), "graph")
    assert rec["outcome"] == "works"
    assert rec["details"]["matches_intended"] is True
    assert rec["exception_type"] is None


def test_a_print_must_show_every_call():
    calls = lambda: [(np.full((2, 2), k, np.float32),) for k in (3.0, 5.0)]  # noqa: E731
    b = bug(prints_each_call, check="print", calls=calls, inspect_value=lambda x: x.sum())
    assert run_case(NUMPY, b, "eager")["outcome"] == "works"
    traced = run_case(TRACING, b, "graph")
    assert traced["outcome"] == "silent-wrong"  # printed once, then the replay returns the first call's result
    assert traced["details"]["values_shown"] == 1


def test_a_breakpoint_must_see_concrete_locals():
    calls = lambda: [(np.full((2, 2), k, np.float32),) for k in (1.0, 4.0)]  # noqa: E731
    b = bug(stops_at_breakpoint, check="breakpoint", calls=calls, inspect_value=lambda x: x * 2.0)
    rec = run_case(NUMPY, b, "eager")
    assert rec["outcome"] == "works" and rec["details"]["hook_calls"] == 2
    assert sys.breakpointhook is sys.__breakpointhook__  # restored


def test_a_symbolic_value_is_not_concrete():
    target = Target(ops=NumpyOps, compile=lambda fn: lambda *a: Symbol(), to_numpy=np.asarray, asarray=np.asarray)
    assert run_case(target, bug(right_value), "graph")["outcome"] == "silent-wrong"


def test_a_bug_that_must_raise_but_returns_is_described():
    table = np.arange(10, dtype=np.float32).reshape(5, 2)
    b = Bug("index", "t", lambda ops, t, i: t[np.clip(i, 0, 4)], lambda: [(table, np.array([0, 7]))], "raise", "error")
    outcome, details = classify(b, None, [table[[0, 4]]], {}, NUMPY)
    assert outcome == "silent-wrong"
    assert details["returned"] == "index clamped to the last row"


def test_mode_is_checked():
    with pytest.raises(ValueError, match="mode"):
        run_case(NUMPY, bug(right_value), "jit")


@pytest.mark.parametrize(
    "text, shape, found",
    [
        ("mat1 and mat2 shapes cannot be multiplied (4x3 and 4x2)", (4, 3), True),
        ("Matrix size-incompatible: In[0]: [4,3], In[1]: [4,2]", (4, 2), True),
        ("got f32[4,3]", (4, 3), True),
        ("got (14, 3)", (4, 3), False),
        ("got (4, 32)", (4, 3), False),
    ],
)
def test_mentions_shape(text, shape, found):
    assert mentions_shape(text, shape) is found


def test_shows_line_needs_file_and_line():
    planted = ("/x/experiments/debugging/bugs.py", 31)
    assert shows_line('File "/x/experiments/debugging/bugs.py", line 31, in shape_mismatch', planted)
    assert shows_line("bugs.py:31:5", planted)
    assert not shows_line('File "/x/experiments/debugging/bugs.py", line 310, in other', planted)


def test_chained_exceptions_are_searched():
    try:
        try:
            raises_here(None, None)
        except ValueError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as exc:
        got = read_exception(exc, bugs.planted_line(raises_here))
    assert got["user_frame_depth"] == 0 and got["user_line_shown"]


def test_capture_sees_file_descriptor_output():
    import os

    with capture() as seen:
        os.write(1, b"from C\n")
        print("from Python")
    assert "from C" in seen["stdout"] and "from Python" in seen["stdout"]


def test_a_case_whose_process_dies_is_an_error_not_a_crash_of_the_harness(tmp_path):
    rec = run_isolated("torch", "no-such-bug", "eager", "none", threads=1, timeout_s=120)
    assert rec["outcome"] == "error"
    assert rec["exception_type"] == "ProcessDied"
    assert "exit status 2" in rec["message"]
    assert "unknown bug" in rec["traceback"]


SAME = ("outcome", "exception_type", "user_line_shown", "names_shapes", "suggests_fix")
SURVEYED = ("works", "extra_packages", "error")


# JAX's in `make test`; TensorFlow's and torch's (60-80 s each on the 2-vCPU AMD VM: their imports and cold
# compiles, through the same server code) in the full tier (tests/tiers.py).
@pytest.mark.parametrize("framework", ["jax", full_only("tensorflow"), full_only("torch")])
def test_a_case_server_forks_cases_that_end_as_fresh_processes_do(framework, tmp_path):
    """Forks of one imported framework give each case the outcome a fresh process gives it, also a crash."""
    # An error, a silent-wrong and both modes; nan_loss runs eagerly: compiled, it is torch.compile of a whole
    # training step (about 12 s cold on a 2-core VM, twice), which checks no more isolation than print compiled.
    cases = [("shape", "eager"), ("nan_loss", "eager"), ("print", "graph"), ("breakpoint", "graph")]
    with CaseServer(framework, threads=1, workdir=str(tmp_path)) as server:
        forked = [server.run(bug, mode, "none", timeout_s=120) for bug, mode in cases]
        with pytest.raises(ValueError, match="unknown bug"):
            server.run("no-such-bug", "eager", "none", timeout_s=120)
        # The tooling survey's item that needs a package outside the framework (tensorboard): found missing alike.
        forked_survey = server.survey("scalar_log", timeout_s=120)
    fresh = [run_isolated(framework, bug, mode, "none", threads=1, timeout_s=120) for bug, mode in cases]
    for (bug, mode), a, b in zip(cases, forked, fresh):
        assert {k: a.get(k) for k in SAME} == {k: b.get(k) for k in SAME}, (bug, mode)
        assert not a.get("harness_error") and "process_stderr" in a
    fresh_survey = survey_isolated(framework, "scalar_log", threads=1, timeout_s=120, workdir=str(tmp_path))
    assert {k: forked_survey[k] for k in SURVEYED} == {k: fresh_survey[k] for k in SURVEYED}
    assert len(forked_survey["files"]) == len(fresh_survey["files"])  # names hold a time and a process id
    assert list(tmp_path.iterdir()) == []  # every case's directory is gone


def test_a_case_server_that_died_hands_its_cases_to_fresh_processes(tmp_path):
    with CaseServer("jax", threads=1, workdir=str(tmp_path)) as server:
        server.kill()
        rec = server.run("shape", "eager", "none", timeout_s=120)
    assert rec["outcome"] == "error" and not rec.get("harness_error")
