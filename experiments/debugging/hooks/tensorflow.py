"""TensorFlow's side of the debugging experiment: its tools, the array API the planted bugs use, its profiler and scalar log."""

from __future__ import annotations

import contextlib
import sys

import tensorflow as tf

from fwbench.experiments.debugging.harness import Target

#: Debugging tools: tool name -> the modes it changes ("graph" for a switch that turns compilation off).
TOOLS = {"none": "eager,graph", "check_numerics": "eager,graph", "run_functions_eagerly": "graph"}


def target(adapter) -> Target:
    """What the harness needs from this framework (fwbench.experiments.debugging.harness.Target)."""
    return Target(
        ops=_DebugOps,
        compile=tf.function,
        to_numpy=adapter.to_numpy,
        asarray=tf.convert_to_tensor,
        compile_count=_tracing_count,
        tool=_debug_tool,
        compiled_with="tf.function",
    )


def profiler_trace(logdir, fn):
    tf.profiler.experimental.start(logdir)
    try:
        for _ in range(3):
            fn()
    finally:
        tf.profiler.experimental.stop()


def scalar_log(logdir, values):
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
        for step, v in enumerate(values):
            tf.summary.scalar("loss", v, step=step)
    writer.close()


class _DebugOps:
    """The array API the planted bugs (fwbench.experiments.debugging.bugs) are written against, in TensorFlow's own spelling."""

    matmul = staticmethod(tf.linalg.matmul)
    mean = staticmethod(tf.reduce_mean)
    sqrt = staticmethod(tf.sqrt)
    sum = staticmethod(tf.reduce_sum)

    @staticmethod
    def take(table, ids):
        return tf.nn.embedding_lookup(table, ids)

    @staticmethod
    def debug_print(value):
        tf.print("h.sum() =", value, output_stream=sys.stdout)

    @staticmethod
    def value_and_grad(f):
        def value_and_grad_f(w):
            with tf.GradientTape() as tape:
                tape.watch(w)
                loss = f(w)
            return loss, tape.gradient(loss, w)

        return value_and_grad_f


def _tracing_count(fn) -> int:
    return fn.experimental_get_tracing_count() if hasattr(fn, "experimental_get_tracing_count") else 0


@contextlib.contextmanager
def _debug_tool(name: str):
    if name == "check_numerics":
        tf.debugging.enable_check_numerics()
        try:
            yield
        finally:
            tf.debugging.disable_check_numerics()
    elif name == "run_functions_eagerly":
        tf.config.run_functions_eagerly(True)
        try:
            yield
        finally:
            tf.config.run_functions_eagerly(False)
    elif name == "none":
        yield
    else:
        raise ValueError(f"tensorflow has no debugging tool {name!r}")
