"""JAX adapter: op-by-op dispatch (no jit) and jax.jit."""

from __future__ import annotations

import os
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from fwbench.errors import DeviceUnavailable
from fwbench.frameworks.base import INTER_OP_THREADS, MATMUL_PRECISION, Adapter
from fwbench.workloads.spec import BN_MOMENTUM, NORM_EPS

# Forward passes: pure functions (spec, params, stats, x, training, graph_loop) -> (logits, new_stats).
# params holds the spec's weights by name in the neutral layout (JAX's own: (in, out), HWIO, NHWC);
# stats holds batch-norm running statistics {prefix: (mean, var)}, updated functionally when training.


def _dense(params, x, prefix):
    return x @ params[f"{prefix}/w"] + params[f"{prefix}/b"]


def _mlp(spec, params, stats, x, training, graph_loop):
    n = spec.n_layers
    for i in range(n):
        x = _dense(params, x, f"dense{i}")
        if i < n - 1:
            x = jax.nn.relu(x)
    return x, stats


def _conv(params, x, name, stride, pad):
    # Explicit symmetric padding, the same as torch's padding=1 (not 'SAME', which pads (0, 1) at stride 2).
    return jax.lax.conv_general_dilated(
        x,
        params[name],
        window_strides=(stride, stride),
        padding=((pad, pad), (pad, pad)),
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )


def _bn(params, stats, new_stats, x, prefix, training):
    """Batch norm; when training, uses batch statistics and records the torch-style running update in new_stats."""
    running_mean, running_var = stats[prefix]
    if training:
        mean, var = jnp.mean(x, axis=(0, 1, 2)), jnp.var(x, axis=(0, 1, 2))
        n = x.shape[0] * x.shape[1] * x.shape[2]
        new_stats[prefix] = (
            (1 - BN_MOMENTUM) * running_mean + BN_MOMENTUM * mean,
            (1 - BN_MOMENTUM) * running_var + BN_MOMENTUM * var * (n / (n - 1)),
        )
    else:
        mean, var = running_mean, running_var
    return (x - mean) * jax.lax.rsqrt(var + NORM_EPS) * params[f"{prefix}/gamma"] + params[f"{prefix}/beta"]


def _cnn(spec, params, stats, x, training, graph_loop):
    new_stats = dict(stats)
    bn = partial(_bn, params, stats, new_stats, training=training)
    x = jax.nn.relu(bn(_conv(params, x, "stem/conv/w", 1, 1), "stem/bn"))
    for b in spec.blocks():
        p = b.prefix
        r = jax.nn.relu(bn(_conv(params, x, f"{p}/conv1/w", b.stride, 1), f"{p}/bn1"))
        r = bn(_conv(params, r, f"{p}/conv2/w", 1, 1), f"{p}/bn2")
        if b.projection:
            x = bn(_conv(params, x, f"{p}/proj/w", b.stride, 0), f"{p}/proj_bn")
        x = jax.nn.relu(r + x)
    return _dense(params, jnp.mean(x, axis=(1, 2)), "head"), new_stats


def _layer_norm(params, x, prefix):
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.var(x, axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + NORM_EPS) * params[f"{prefix}/gamma"] + params[f"{prefix}/beta"]


def _transformer(spec, params, stats, x, training, graph_loop):
    b, t, d = x.shape

    def heads(h):
        return h.reshape(b, t, spec.n_heads, spec.d_head).transpose(0, 2, 1, 3)

    # Causal: scores above the diagonal become -inf, so their probabilities are exactly 0 (as the reference).
    mask = jnp.tril(jnp.ones((t, t), dtype=bool)) if spec.causal else None
    for p in spec.layer_prefixes():
        h = _layer_norm(params, x, f"{p}ln1")
        q, k, v = (heads(_dense(params, h, f"{p}attn/{part}")) for part in ("q", "k", "v"))
        scores = (q @ k.transpose(0, 1, 3, 2)) * (1.0 / spec.d_head**0.5)
        if mask is not None:
            scores = jnp.where(mask, scores, -jnp.inf)
        probs = jax.nn.softmax(scores, axis=-1)
        x = x + _dense(params, (probs @ v).transpose(0, 2, 1, 3).reshape(b, t, d), f"{p}attn/out")
        h = _dense(params, _layer_norm(params, x, f"{p}ln2"), f"{p}mlp/fc1")
        x = x + _dense(
            params, jax.nn.gelu(h, approximate=False), f"{p}mlp/fc2"
        )  # jax.nn.gelu defaults to the tanh form
    return _dense(params, jnp.mean(x, axis=1), "head"), stats


def _rnn(spec, params, stats, x, training, graph_loop):
    w_ih, w_hh, bias = params["rnn/w_ih"], params["rnn/w_hh"], params["rnn/b"]

    def cell(h, x_t):
        return jnp.tanh(x_t @ w_ih + h @ w_hh + bias)

    h = jnp.zeros((x.shape[0], spec.hidden), x.dtype)
    if graph_loop:  # lax.scan over time-major inputs: one loop in the compiled program
        h, _ = jax.lax.scan(lambda h, x_t: (cell(h, x_t), None), h, jnp.swapaxes(x, 0, 1))
    else:  # a Python loop, dispatched op by op
        for t in range(spec.seq_len):
            h = cell(h, x[:, t])
    return _dense(params, h, "head"), stats


def _graph_loop(graph: bool, variant: str) -> bool:
    """Whether the RNN loops with lax.scan rather than a Python loop (unrolled when traced)."""
    return graph and variant != "jax.jit-unrolled"


_FORWARDS = {"mlp": _mlp, "cnn": _cnn, "transformer": _transformer, "rnn": _rnn}


class JaxAdapter(Adapter):
    name = "jax"
    distribution = "jax"
    variants = {"eager": "eager", "jax.jit": "graph", "jax.jit-unrolled": "graph"}
    family_variants = {"jax.jit-unrolled": ["rnn"]}
    timed = {
        "eager": {
            "compiled scope": "nothing: op by op (each primitive, or jnp/jax.nn function that is itself jitted, dispatched alone)",
            "update": "jax.tree.map(p - lr * g), one op per leaf (as JAX's tutorials write SGD)",
            "layers": "jnp and jax.nn functions",
            "rnn loop": "Python loop",
        },
        "jax.jit": {
            "compiled scope": "whole train step: value_and_grad, update; parameters and statistics donated",
            "update": "tree.map inside the jitted step (XLA-fused)",
            "layers": "XLA-fused",
            "rnn loop": "lax.scan",
        },
        "jax.jit-unrolled": {
            "compiled scope": "whole train step, as jax.jit",
            "update": "tree.map inside the jitted step",
            "layers": "XLA-fused",
            "rnn loop": "unrolled (Python loop traced into the program)",
        },
    }

    def configure(self, threads: int) -> dict:
        # XLA:CPU has no thread-count setting; its pool follows the CPU affinity
        # that fwbench.measure.env.apply() pinned to `threads` CPUs. It runs one op at a time per executable
        # (no inter-op pool to set).
        jax.config.update("jax_default_matmul_precision", MATMUL_PRECISION)
        return {
            "intra_op_threads": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else threads,
            "inter_op_threads": INTER_OP_THREADS,
            "thread_control": "cpu affinity",
            "matmul_precision": str(jax.config.jax_default_matmul_precision),
        }

    def _device(self, device: str):
        platform = "gpu" if device == "cuda" else "cpu"
        try:
            return jax.devices(platform)[0]
        except RuntimeError:
            raise DeviceUnavailable(f"jax sees no {platform} device (install a CUDA-enabled jaxlib)") from None

    def device_info(self, device: str) -> dict:
        if device not in ("cpu", "cuda"):
            raise DeviceUnavailable(f"jax adapter does not support device {device!r}")
        d = self._device(device)
        return {"device_name": getattr(d, "device_kind", str(d)), "platform": d.platform}

    def peak_device_memory_bytes(self, device: str) -> int | None:
        # XLA keeps no resettable peak: this is the peak since the process started.
        if device == "cpu":
            return None
        stats = self._device(device).memory_stats() or {}
        return int(stats["peak_bytes_in_use"]) if "peak_bytes_in_use" in stats else None

    def build(self, spec, device: str):
        dev = self._device(device)
        init = spec.init_weights()
        params = {n: jax.device_put(a, dev) for n, a in init.items()}
        stats = {}
        for prefix in spec.bn_names():
            c = init[f"{prefix}/gamma"].shape[0]
            stats[prefix] = (jax.device_put(np.zeros(c, spec.dtype), dev), jax.device_put(np.ones(c, spec.dtype), dev))
        # Functional framework: state lives in a dict the step functions update.
        return {
            "params": params,
            "stats": stats,
            "forward": partial(_FORWARDS[spec.family], spec),
            "lr": spec.lr,
            "device": device,
        }

    def weights(self, model):
        return {n: np.asarray(a) for n, a in model["params"].items()}

    def to_device(self, array, device):
        return jax.device_put(array, self._device(device))

    def train_step(self, model, variant):
        graph = self.check_variant(variant) == "graph"
        lr, forward, loop = model["lr"], model["forward"], _graph_loop(graph, variant)

        def loss_fn(params, stats, x, y):
            logits, new_stats = forward(params, stats, x, training=True, graph_loop=loop)
            log_probs = jax.nn.log_softmax(logits)
            return -jnp.mean(jnp.take_along_axis(log_probs, y[:, None], axis=1)), new_stats

        def update(params, stats, x, y):
            (loss, new_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, stats, x, y)
            return jax.tree.map(lambda p, g: p - lr * g, params, grads), new_stats, loss

        # Donated parameters and statistics let XLA write the update into their buffers, as torch and TF update in place.
        compiled = jax.jit(update, donate_argnums=(0, 1)) if graph else update

        def step(x, y):
            before = jax.tree.leaves(model["params"])[0]
            model["params"], model["stats"], loss = compiled(model["params"], model["stats"], x, y)
            if graph:
                model["donated"] = "donated" if before.is_deleted() else "not donated"
            # Return the new parameters too, so sync() waits for the update, not only the loss.
            return model["params"], model["stats"], loss

        # Eager dispatches the top-level operations of the step's program one by one: count them there.
        step.count_ops = lambda x, y: len(jax.make_jaxpr(update)(model["params"], model["stats"], x, y).eqns)
        return step

    def infer_step(self, model, variant, shapes="static"):
        # jax.jit traces and compiles once per input shape: static by construction.
        graph = self.check_variant(variant) == "graph"
        forward, loop = model["forward"], _graph_loop(graph, variant)

        def infer(params, stats, x):
            return forward(params, stats, x, training=False, graph_loop=loop)[0]

        compiled = jax.jit(infer) if graph else infer
        step = lambda x: compiled(model["params"], model["stats"], x)  # noqa: E731
        step.count_ops = lambda x: len(jax.make_jaxpr(infer)(model["params"], model["stats"], x).eqns)
        step.compiled = compiled
        return step

    def eager_ops(self, step, *args) -> int | None:
        return step.count_ops(*args) if hasattr(step, "count_ops") else None

    def buffer_donation(self, model) -> str:
        return model.get("donated", "new arrays every step (functional update)")

    def sync(self, out) -> None:
        jax.block_until_ready(out)

    def loss_of(self, out) -> float:
        return float(out[-1])  # the train step returns (params, stats, loss)
