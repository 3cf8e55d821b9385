"""Numerical parity of an exported model's outputs against its source model, and the portability classes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Portability classes of one (source framework, export path, workload), best first.
CLASSES = ("matches", "differs", "fails")


@dataclass(frozen=True)
class Tolerance:
    """float32 outputs match when every element is within atol + rtol * |source| (numpy.allclose's rule)."""

    atol: float = field(default=1e-5, metadata={"help": "absolute tolerance on each logit"})
    rtol: float = field(default=1e-4, metadata={"help": "relative tolerance on each logit, times |source logit|"})

    def __post_init__(self):
        if not (self.atol >= 0 and self.rtol >= 0):
            raise ValueError(f"tolerances must be non-negative, got atol={self.atol!r}, rtol={self.rtol!r}")


def compare(got, want, tol: Tolerance = Tolerance()) -> dict:
    """max_abs_err, max_rel_err and passed for `got` against `want` (the source model's output).

    max_rel_err divides each element's error by |want| floored at atol/rtol, so
    that logits near zero do not blow it up; a shape mismatch or a non-finite
    output fails, its errors undefined (None: the result is stored as JSON).
    """
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return {
            "max_abs_err": None,
            "max_rel_err": None,
            "passed": False,
            "detail": f"shape {got.shape} != {want.shape}",
        }
    if not np.all(np.isfinite(got)):
        return {"max_abs_err": None, "max_rel_err": None, "passed": False, "detail": "non-finite output"}
    err = np.abs(got - want)
    floor = tol.atol / tol.rtol if tol.rtol else 1.0
    passed = bool(np.all(err <= tol.atol + tol.rtol * np.abs(want)))
    return {
        "max_abs_err": float(err.max(initial=0.0)),
        "max_rel_err": float((err / np.maximum(np.abs(want), floor)).max(initial=0.0)),
        "passed": passed,
        "detail": "",
    }


def classify(exported: bool, loaded: bool, ran: bool, parity_passed: bool | None) -> str:
    """'fails' if any of export, load or the first run failed; else 'differs' unless parity passed; else 'matches'."""
    if not (exported and loaded and ran):
        return "fails"
    return "matches" if parity_passed else "differs"
