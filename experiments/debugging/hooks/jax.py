"""JAX's side of the debugging experiment: its tools, the array API the planted bugs use, its profiler and scalar log."""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

from fwbench.experiments.debugging.harness import Target
from fwbench.experiments.debugging.hooks import log_scalars

#: Debugging tools: tool name -> the modes it changes ("graph" for a switch that turns compilation off).
TOOLS = {"none": "eager,graph", "debug_nans": "eager,graph", "disable_jit": "graph"}


def target(adapter) -> Target:
    """What the harness needs from this framework (fwbench.experiments.debugging.harness.Target)."""
    return Target(
        ops=_DebugOps,
        compile=jax.jit,
        to_numpy=np.asarray,
        asarray=jnp.asarray,
        compile_count=_cache_size,
        tool=_debug_tool,
        compiled_with="jax.jit",
    )


def profiler_trace(logdir, fn):
    jax.profiler.start_trace(logdir)
    try:
        for _ in range(3):
            jax.block_until_ready(fn())
    finally:
        jax.profiler.stop_trace()


def scalar_log(logdir, values):
    # JAX ships no summary writer; tensorboardX is the framework-free one its users reach for.
    from tensorboardX import SummaryWriter

    log_scalars(SummaryWriter(logdir), values)


class _DebugOps:
    """The array API the planted bugs (fwbench.experiments.debugging.bugs) are written against, in JAX's own spelling."""

    matmul = staticmethod(jnp.matmul)
    mean = staticmethod(jnp.mean)
    sqrt = staticmethod(jnp.sqrt)
    sum = staticmethod(jnp.sum)
    value_and_grad = staticmethod(jax.value_and_grad)

    @staticmethod
    def take(table, ids):
        return jnp.take(table, ids, axis=0)  # what flax's nn.Embed does

    @staticmethod
    def debug_print(value):
        jax.debug.print("h.sum() = {}", value)


def _cache_size(fn) -> int:
    return fn._cache_size() if hasattr(fn, "_cache_size") else 0


@contextlib.contextmanager
def _debug_tool(name: str):
    if name == "debug_nans":
        with jax.debug_nans(True):
            yield
    elif name == "disable_jit":
        with jax.disable_jit():
            yield
    elif name == "none":
        yield
    else:
        raise ValueError(f"jax has no debugging tool {name!r}")
