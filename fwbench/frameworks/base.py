"""The small interface every framework adapter implements: build a workload, run a step eagerly and compiled, synchronize, configure threads and devices, report its version. What one experiment alone needs lives in that experiment's hooks."""

from __future__ import annotations

import importlib.metadata
from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar

import numpy as np

#: Modes a variant can belong to.
MODES = ("eager", "graph")

#: Float32 matmul precision every adapter sets, in torch's words: full IEEE float32 products, no TF32 or
#: bfloat16 passes. On a CPU it changes nothing unless oneDNN would otherwise down-convert.
MATMUL_PRECISION = "highest"

#: Intra-op threads are the profile's `threads`; inter-op pools get one thread, so that no framework runs
#: several multi-threaded ops at once where another runs them one after the other.
INTER_OP_THREADS = 1


class Adapter(ABC):
    """One framework. Subclasses set the class attributes and implement the methods.

    A model is whatever the adapter needs to hold (parameters and modules); the
    experiment only passes it back to the adapter.
    """

    #: Name used in profiles and records.
    name: ClassVar[str]
    #: Distribution whose version is recorded as the framework version.
    distribution: ClassVar[str]
    #: variant name -> mode ("eager" or "graph"), in the order they are reported.
    variants: ClassVar[dict[str, str]]
    #: Variants that exist only on some devices: variant -> those devices (e.g. CUDA graphs need "cuda").
    #: A profile's cell of such a variant on another device is not expanded at all.
    device_variants: ClassVar[dict[str, list[str]]] = {}
    #: Variants that exist only for some workload families: variant -> those families (e.g. an unrolled
    #: RNN loop beside the loop construct). Other cells of such a variant are not expanded.
    family_variants: ClassVar[dict[str, list[str]]] = {}
    #: Variants measured in some phases only: variant -> those phases (e.g. a variant that differs from
    #: another only in how it trains). Others run in every phase.
    variant_phases: ClassVar[dict[str, list[str]]] = {}
    #: What each variant's timed step is, for the "what is timed" table: variant -> {"compiled scope": ...,
    #: "update": ..., "rnn loop": ...}. Facts measured at run time (ops, donation, threads) come with the result.
    timed: ClassVar[dict[str, dict[str, str]]] = {}

    def version(self) -> str:
        return importlib.metadata.version(self.distribution)

    @abstractmethod
    def configure(self, threads: int) -> dict:
        """Set intra-op threads to `threads`, inter-op to INTER_OP_THREADS and matmul precision to
        MATMUL_PRECISION; return what is in effect, read back from the framework (the experiment checks it)."""

    @abstractmethod
    def device_info(self, device: str) -> dict:
        """Describe `device` ("cpu" or "cuda") as the framework sees it; raise DeviceUnavailable if it can't."""

    @abstractmethod
    def build(self, spec, device: str) -> Any:
        """Build `spec` on `device` from `spec.init_weights()`, so every framework starts identical."""

    @abstractmethod
    def weights(self, model) -> dict[str, np.ndarray]:
        """The model's current weights as NumPy, with the keys and neutral layout of `spec.init_weights()`."""

    @abstractmethod
    def to_device(self, array: np.ndarray, device: str) -> Any:
        """Copy a NumPy array onto the device as the framework's tensor."""

    @abstractmethod
    def train_step(self, model, variant: str) -> Callable[[Any, Any], Any]:
        """A function (x, y) -> out doing forward, backward and an SGD update in place; `loss_of(out)` is the loss."""

    @abstractmethod
    def infer_step(self, model, variant: str, shapes: str = "static") -> Callable[[Any], Any]:
        """A function x -> logits (forward only, no gradient bookkeeping).

        shapes="static": a compiled variant specialises its graph to each input shape (a new batch size
        compiles anew). Other policies are those of `shape_policies`.
        """

    def fresh_compiler_caches(self) -> None:
        """Forget every compiled function of this process, so the next compile starts from nothing in memory."""

    def shape_policies(self, variant: str) -> list[str]:
        """Shape policies `infer_step` offers for `variant`; beyond "static", e.g. torch's "automatic" dynamic shapes."""
        self.check_variant(variant)
        return ["static"]

    def eager_ops(self, step: Callable, *args) -> int | None:
        """Operators one call of an eager step launches (forward, backward and update), counted by the
        framework's own dispatch hook; None where it cannot count."""
        return None

    def buffer_donation(self, model) -> str:
        """Whether the last compiled training step reused its input parameter buffers ("donated"), updated
        them in place ("in place"), or allocated new ones ("not donated")."""
        return "in place"

    @abstractmethod
    def sync(self, out) -> None:
        """Block until the computation that produced `out` has finished."""

    def reset_peak_device_memory(self, device: str) -> None:
        """Start a new peak of device memory for `device` (no-op on CPU and where the framework cannot)."""

    def peak_device_memory_bytes(self, device: str) -> int | None:
        """Peak device memory in use since the last reset (or process start), or None on CPU."""
        return None

    def to_numpy(self, value) -> np.ndarray:
        return np.asarray(value)

    def loss_of(self, out) -> float:
        """The loss held in a train step's output."""
        return float(self.to_numpy(out))

    def check_variant(self, variant: str) -> str:
        if variant not in self.variants:
            raise ValueError(f"{self.name} has no variant {variant!r}; known: {', '.join(self.variants)}")
        return self.variants[variant]
