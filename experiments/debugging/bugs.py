"""The planted-bug catalogue: each bug written once, against the small array API (`ops`) an adapter lends.

Every framework runs the very same function, so the line a developer would
look for in a traceback is the same line for all of them: the one marked
`# planted`. `fwbench.experiments.debugging.harness` finds that line, runs the bug eagerly and
compiled, and classifies what happened.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

#: What a developer should ideally get from each kind of bug: an error that
#: stops them ("error") or a program that does what it says ("works").
IDEALS = ("error", "works")

#: How the harness judges a case (see fwbench.experiments.debugging.harness.classify).
CHECKS = ("value", "raise", "finite", "print", "breakpoint", "side_effect", "retrace")

#: Global list the side-effect bug appends to, as user code appending to a module-level log would.
SIDE_EFFECT_LOG: list = []


# ---- the bugs (each line marked `# planted` is where the bug is) -------------------------------


def shape_mismatch(ops, x, w):
    return ops.matmul(x, w)  # planted: w is (4, 2) but x is (4, 3)


def dtype_mismatch(ops, x, w_int):
    return ops.matmul(x, w_int)  # planted: an int32 weight into a float32 matmul


def _sqrt_loss(ops, x, w):
    h = ops.matmul(x, w)
    return ops.mean(ops.sqrt(h - 1.0))  # planted: sqrt of negative numbers gives NaN


def nan_in_loss(ops, x, w):
    return ops.value_and_grad(lambda w_: _sqrt_loss(ops, x, w_))(w)


def silent_broadcast(ops, x, w, y):
    pred = ops.matmul(x, w)  # (N, 1)
    return ops.mean((pred - y) ** 2)  # planted: (N, 1) - (N,) broadcasts to (N, N)


def index_out_of_range(ops, table, ids):
    return ops.take(table, ids)  # planted: ids holds 7, the table has 5 rows


def tensor_control_flow(ops, x):
    if ops.sum(x) > 0:  # planted: Python `if` on a tensor's value
        return x * 2.0
    return -x


def python_print(ops, x, w):
    h = ops.matmul(x, w)
    print("h.sum() =", ops.sum(h))  # planted: Python print of an intermediate
    return h


def framework_print(ops, x, w):
    h = ops.matmul(x, w)
    ops.debug_print(ops.sum(h))  # planted: the framework's own in-graph print
    return h


def python_breakpoint(ops, x, w):
    h = ops.matmul(x, w)
    breakpoint()  # planted: a breakpoint; the harness's hook inspects `h`
    return h


def retracing(ops, x, scale):
    return ops.sum(x) * scale  # planted: called with a new shape and a new Python float each time


def side_effect(ops, x, w):
    h = ops.matmul(x, w)
    SIDE_EFFECT_LOG.append(ops.sum(h))  # planted: appends to a Python list on every call
    return h


# ---- inputs and intended results ----------------------------------------------------------------


def _rng():
    return np.random.default_rng(20261122)


def _xw():
    # Small integers: every intermediate is exact in float32, so the values a print
    # shows can be matched exactly, and sums are distinctive numbers.
    rng = _rng()
    x = rng.integers(-3, 4, size=(4, 3)).astype(np.float32)
    w = rng.integers(-3, 4, size=(3, 2)).astype(np.float32)
    if (x @ w).sum() == 0:
        w[0, 0] += 1
    return x, w


def _scaled(k_values=(1.0, 2.0, 3.0)):
    x, w = _xw()
    return [(x * k, w) for k in k_values]


@dataclass(frozen=True)
class Bug:
    """One planted bug: the function, its inputs per call, and what the correct program would return."""

    name: str = field(metadata={"help": "short name, used as `workload` in records"})
    title: str = field(metadata={"help": "one line for the book"})
    fn: Callable = field(metadata={"help": "the bug, fn(ops, *arrays); the line marked `# planted` holds it"})
    calls: Callable[[], list[tuple]] = field(metadata={"help": "NumPy arguments of each call, in order"})
    check: str = field(metadata={"help": f"how the harness judges it: one of {', '.join(CHECKS)}"})
    ideal: str = field(metadata={"help": "what a developer should get: 'error' or 'works'"})
    intended: Callable | None = field(
        default=None,
        metadata={
            "help": "NumPy version of what the code meant, called with each call's arguments; None if nothing is right"
        },
    )
    inspect_value: Callable | None = field(
        default=None,
        metadata={
            "help": "the intermediate a print, breakpoint or side effect should show, from each call's arguments"
        },
    )

    @property
    def planted(self) -> tuple[str, int]:
        """(file, line) of the planted line."""
        return planted_line(self.fn)


def planted_line(fn) -> tuple[str, int]:
    """The file and line number of the line marked `# planted` in `fn`, or in a helper it names in this module."""
    candidates = [fn] + [
        obj
        for obj in globals().values()
        if inspect.isfunction(obj) and obj.__name__.startswith("_") and obj.__name__ in inspect.getsource(fn)
    ]
    for f in candidates:
        lines, start = inspect.getsourcelines(f)
        for offset, text in enumerate(lines):
            if "# planted" in text:
                return inspect.getsourcefile(f), start + offset
    raise ValueError(f"{fn.__name__} has no line marked '# planted'")


def _shape_calls():
    x, _ = _xw()
    return [(x, np.ones((4, 2), np.float32))]


def _dtype_calls():
    x, w = _xw()
    return [(x, w.astype(np.int32))]


def _nan_calls():
    x, w = _xw()
    return [(x, w)]


def _broadcast_calls():
    x, w = _xw()
    y = np.arange(4, dtype=np.float32)
    return [(x, w[:, :1], y)]


def _index_calls():
    table = np.arange(10, dtype=np.float32).reshape(5, 2) + 1.0
    return [(table, np.array([0, 2, 7], np.int32))]


def _control_calls():
    x, _ = _xw()
    x = np.abs(x) + 1.0
    return [(x,), (-x,)]


def _retrace_calls():
    x = np.arange(1, 25, dtype=np.float32).reshape(6, 4)
    return [(x[:n], float(s)) for n, s in zip(range(1, 7), (0.5, 1.5, 2.5, 3.5, 4.5, 5.5))]


def _sum_of_product(x, w, *_):
    return np.float32((x @ w).sum())


BUGS: dict[str, Bug] = {
    b.name: b
    for b in [
        Bug("shape", "Shape mismatch in a matmul", shape_mismatch, _shape_calls, "raise", "error"),
        Bug(
            "dtype",
            "Int tensor into a float matmul",
            dtype_mismatch,
            _dtype_calls,
            "value",
            "error",
            intended=lambda x, w: x @ w.astype(np.float32),
        ),
        Bug(
            "nan_loss", "NaN from sqrt of a negative, in loss and gradient", nan_in_loss, _nan_calls, "finite", "error"
        ),
        Bug(
            "broadcast",
            "(N, 1) - (N,) silently broadcasts to (N, N)",
            silent_broadcast,
            _broadcast_calls,
            "value",
            "error",
            intended=lambda x, w, y: np.mean(((x @ w)[:, 0] - y) ** 2),
        ),
        Bug("index", "Out-of-range index in an embedding lookup", index_out_of_range, _index_calls, "raise", "error"),
        Bug(
            "control_flow",
            "Python `if` on a tensor's value",
            tensor_control_flow,
            _control_calls,
            "value",
            "works",
            intended=lambda x: x * 2.0 if x.sum() > 0 else -x,
        ),
        Bug(
            "print",
            "Python print of an intermediate",
            python_print,
            _scaled,
            "print",
            "works",
            intended=lambda x, w: x @ w,
            inspect_value=_sum_of_product,
        ),
        Bug(
            "framework_print",
            "The framework's own print (tf.print, jax.debug.print)",
            framework_print,
            _scaled,
            "print",
            "works",
            intended=lambda x, w: x @ w,
            inspect_value=_sum_of_product,
        ),
        Bug(
            "breakpoint",
            "breakpoint() inside the function",
            python_breakpoint,
            _scaled,
            "breakpoint",
            "works",
            intended=lambda x, w: x @ w,
            inspect_value=lambda x, w: x @ w,
        ),
        Bug(
            "retrace",
            "New shapes and Python floats on every call",
            retracing,
            _retrace_calls,
            "retrace",
            "works",
            intended=lambda x, s: np.float32(x.sum() * s),
        ),
        Bug(
            "side_effect",
            "Appending to a Python list inside the function",
            side_effect,
            _scaled,
            "side_effect",
            "works",
            intended=lambda x, w: x @ w,
            inspect_value=_sum_of_product,
        ),
    ]
}
