"""Every exception fwbench raises on purpose, in one hierarchy, so a caller knows what each kind means.

- `InputError`: something a user gave (profile, store, bundle, path) is wrong. Commands print one
  line naming the problem and exit 2; nothing stored is changed.
- `Unavailable`: this machine lacks what a job needs (a device, a server). The runner stores the job
  as skipped with the reason; it is not a failure.
- `BuildError`: a step of building or checking the book failed (exit 1 from the command).
"""

from __future__ import annotations


class FwbenchError(Exception):
    """Base of every exception fwbench raises on purpose."""


class InputError(FwbenchError):
    """Bad input from the user: named in one line, exit 2, nothing stored is lost or rewritten."""


class StoreError(InputError):
    """A file in the store is missing, unreadable, or does not match the schema."""


class BundleError(StoreError):
    """A bundle is not a bundle, is damaged, fails validation, or conflicts with the store."""


class MatrixError(InputError, ValueError):
    """A profile names something unknown or gives a value of the wrong type."""


class ExperimentError(InputError, TypeError):
    """An experiment folder is incomplete or inconsistent (its declaration, metrics or claim rules): named in one
    line at `plan` and `run` time, before anything is measured."""


class Unavailable(FwbenchError, RuntimeError):
    """This machine cannot run the job; the runner records it as skipped (matched by class name in the kernel)."""


class DeviceUnavailable(Unavailable):
    """The framework cannot see the requested device (e.g. CUDA with a CPU-only build)."""


class ServerUnavailable(Unavailable):
    """The server cannot run on this machine (not installed, no binary on PATH); the reason is the message."""


class BuildError(FwbenchError, RuntimeError):
    """Building or checking the book failed."""


class BookError(BuildError):
    """jupyter-book (or a prerequisite such as MathJax) failed."""


class PageCheckError(BuildError):
    """Chromium is missing or could not render a page."""


class BadRequest(FwbenchError, ValueError):
    """A request a serving experiment's server refuses; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
