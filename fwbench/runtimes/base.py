"""The small interface of a runtime that loads an exported artifact and runs inference on NumPy batches."""

from __future__ import annotations

import importlib.metadata
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np


class Runtime(ABC):
    """One way to run an exported model. `load` returns a synchronous NumPy-in, NumPy-out callable.

    Converting the output to NumPy is part of every call: it is what a caller
    needs, and it is the synchronization point (no clock stops before the work ends).
    """

    #: Distributions whose version is recorded (the first one installed).
    distributions: ClassVar[tuple[str, ...]]

    def __init__(self, option: str | None = None):
        self.option = option

    def version(self) -> str:
        for dist in self.distributions:
            try:
                return f"{dist} {importlib.metadata.version(dist)}"
            except importlib.metadata.PackageNotFoundError:
                continue
        return "not installed"

    def prepare(self) -> None:
        """Anything that must happen before the runtime's package is imported (environment variables)."""

    @abstractmethod
    def import_runtime(self) -> None:
        """Import the package(s) the runtime needs; timed apart from loading the artifact."""

    @abstractmethod
    def load(self, artifact: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
        """Load `artifact` and return x -> logits, each call finished and converted to NumPy."""

    def train_step(self, artifact: Path, batch_size: int) -> Callable[[], Any] | None:
        """A training step on the runtime's own model, if it can train (only Keras here); None otherwise."""
        return None
