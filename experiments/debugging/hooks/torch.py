"""PyTorch's side of the debugging experiment: its tools, the array API the planted bugs use, its profiler and scalar log."""

from __future__ import annotations

import contextlib
import os

import torch
import torch.nn.functional as F

from fwbench.experiments.debugging.harness import Target
from fwbench.experiments.debugging.hooks import log_scalars

#: Debugging tools: tool name -> the modes it changes ("graph" for a switch that turns compilation off).
TOOLS = {"none": "eager,graph", "detect_anomaly": "eager,graph"}


def target(adapter) -> Target:
    """What the harness needs from this framework (fwbench.experiments.debugging.harness.Target)."""
    return Target(
        ops=_DebugOps,
        compile=torch.compile,
        to_numpy=adapter.to_numpy,
        asarray=lambda a: torch.from_numpy(a.copy()),
        compile_count=_graphs_compiled,
        tool=_debug_tool,
        compiled_with="torch.compile",
    )


def preload() -> None:
    """Import what torch.compile loads at its first call (dynamo, inductor), once, before any case.

    In a fork server this is paid once instead of in every case (about 2.5 s each on a 2-core VM),
    and it keeps the compiler's import out of a graph case's time to surface, as the other
    frameworks' compilers are imported with the framework. It imports only: no thread or
    compile worker starts (checked in tests/experiments/debugging/test_hooks.py).
    """
    import torch._dynamo  # noqa: F401
    import torch._inductor.compile_fx  # noqa: F401


def profiler_trace(logdir, fn):
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            fn()
    prof.export_chrome_trace(os.path.join(logdir, "trace.json"))


def scalar_log(logdir, values):
    from torch.utils.tensorboard import SummaryWriter  # needs the separate `tensorboard` package

    log_scalars(SummaryWriter(logdir), values)


class _DebugOps:
    """The array API the planted bugs (fwbench.experiments.debugging.bugs) are written against, in torch's own spelling."""

    matmul = staticmethod(torch.matmul)
    mean = staticmethod(torch.mean)
    sqrt = staticmethod(torch.sqrt)
    sum = staticmethod(torch.sum)

    @staticmethod
    def take(table, ids):
        return F.embedding(ids, table)  # what nn.Embedding calls

    @staticmethod
    def debug_print(value):
        print("h.sum() =", value)  # torch has no in-graph print op: Python print is its tool

    @staticmethod
    def value_and_grad(f):
        def value_and_grad_f(w):
            w = w.detach().requires_grad_(True)
            with torch.enable_grad():
                loss = f(w)
                (grad,) = torch.autograd.grad(loss, w)
            return loss.detach(), grad

        return value_and_grad_f


def _graphs_compiled(_fn) -> int:
    # Process-wide count of graphs dynamo handed to the backend; the harness takes differences.
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


@contextlib.contextmanager
def _debug_tool(name: str):
    if name == "detect_anomaly":
        with torch.autograd.detect_anomaly():
            yield
    elif name == "none":
        yield
    else:
        raise ValueError(f"torch has no debugging tool {name!r}")
