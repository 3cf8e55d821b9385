"""TensorFlow adapter: eager, tf.function, and tf.function with XLA (jit_compile=True)."""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from fwbench.errors import DeviceUnavailable
from fwbench.frameworks.base import INTER_OP_THREADS, MATMUL_PRECISION, Adapter
from fwbench.workloads.spec import BN_MOMENTUM, NORM_EPS


class Net(tf.Module):
    """Any workload: one tf.Variable per spec weight, in the neutral layout (TF's own: (in, out), HWIO, NHWC).

    __call__(x, training, graph_loop) dispatches on the workload family.
    Batch norm is written as Keras 3 writes it (tf.nn.moments and
    tf.nn.batch_normalization): batch statistics, with the running statistics
    updated in place (momentum 0.1 on the unbiased batch variance, as torch
    does) when `training`; running statistics otherwise. Not the fused kernel
    (tf.compat.v1.nn.fused_batch_norm): under jit_compile=True its gradient
    through a ReLU after a residual add came out wrong by up to 9% (TF 2.21,
    CPU), while this form matches torch, JAX and the float64 reference.
    `graph_loop` makes the RNN loop over tf.range, which autograph turns into
    a tf.while_loop inside tf.function; otherwise it is a Python loop.
    """

    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        init = spec.init_weights()
        self.params = {n: tf.Variable(a, name=n.replace("/", "_")) for n, a in init.items()}
        self.param_list = list(self.params.values())
        self.stats = {}
        for prefix in spec.bn_names():
            c = init[f"{prefix}/gamma"].shape[0]
            self.stats[prefix] = (
                tf.Variable(tf.zeros(c, dtype=spec.dtype), trainable=False),
                tf.Variable(tf.ones(c, dtype=spec.dtype), trainable=False),
            )

    def __call__(self, x, training: bool, graph_loop: bool = False):
        return getattr(self, f"_{self.spec.family}")(x, training, graph_loop)

    def _dense(self, x, prefix):
        # matmul then bias_add: what a Keras Dense layer launches.
        return tf.nn.bias_add(tf.matmul(x, self.params[f"{prefix}/w"]), self.params[f"{prefix}/b"])

    def _mlp(self, x, training, graph_loop):
        n = self.spec.n_layers
        for i in range(n):
            x = self._dense(x, f"dense{i}")
            if i < n - 1:
                x = tf.nn.relu(x)
        return x

    def _conv(self, x, name, stride, pad):
        # Explicit symmetric padding: 'SAME' pads (0, 1) at stride 2 on even sizes, torch and JAX here pad (1, 1).
        padding = [[0, 0], [pad, pad], [pad, pad], [0, 0]] if pad else "VALID"
        return tf.nn.conv2d(x, self.params[name], strides=stride, padding=padding)

    def _bn(self, x, prefix, training):
        gamma, beta = self.params[f"{prefix}/gamma"], self.params[f"{prefix}/beta"]
        running_mean, running_var = self.stats[prefix]
        if not training:
            return tf.nn.batch_normalization(x, running_mean, running_var, beta, gamma, NORM_EPS)
        mean, var = tf.nn.moments(x, axes=[0, 1, 2])
        n = tf.cast(tf.size(x) // tf.shape(x)[-1], x.dtype)
        running_mean.assign((1 - BN_MOMENTUM) * running_mean + BN_MOMENTUM * mean)
        running_var.assign((1 - BN_MOMENTUM) * running_var + BN_MOMENTUM * var * n / (n - 1))
        return tf.nn.batch_normalization(x, mean, var, beta, gamma, NORM_EPS)

    def _cnn(self, x, training, graph_loop):
        x = tf.nn.relu(self._bn(self._conv(x, "stem/conv/w", 1, 1), "stem/bn", training))
        for b in self.spec.blocks():
            p = b.prefix
            r = tf.nn.relu(self._bn(self._conv(x, f"{p}/conv1/w", b.stride, 1), f"{p}/bn1", training))
            r = self._bn(self._conv(r, f"{p}/conv2/w", 1, 1), f"{p}/bn2", training)
            if b.projection:
                x = self._bn(self._conv(x, f"{p}/proj/w", b.stride, 0), f"{p}/proj_bn", training)
            x = tf.nn.relu(r + x)
        return self._dense(tf.reduce_mean(x, axis=[1, 2]), "head")

    def _layer_norm(self, x, prefix):
        mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(var + NORM_EPS) * self.params[f"{prefix}/gamma"] + self.params[
            f"{prefix}/beta"
        ]

    def _transformer(self, x, training, graph_loop):
        s = self.spec
        b, t, d = tf.shape(x)[0], s.seq_len, s.d_model

        def heads(h):
            return tf.transpose(tf.reshape(h, [b, t, s.n_heads, s.d_head]), [0, 2, 1, 3])

        # Causal: scores above the diagonal become -inf, so their probabilities are exactly 0 (as the reference).
        mask = tf.cast(tf.linalg.band_part(tf.ones([t, t]), -1, 0), tf.bool) if s.causal else None
        for p in s.layer_prefixes():
            h = self._layer_norm(x, f"{p}ln1")
            q, k, v = (heads(self._dense(h, f"{p}attn/{part}")) for part in ("q", "k", "v"))
            scores = tf.matmul(q, k, transpose_b=True) * (1.0 / s.d_head**0.5)
            if mask is not None:
                scores = tf.where(mask, scores, tf.constant(float("-inf"), scores.dtype))
            probs = tf.nn.softmax(scores, axis=-1)
            attended = tf.reshape(tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3]), [b, t, d])
            x = x + self._dense(attended, f"{p}attn/out")
            h = self._dense(self._layer_norm(x, f"{p}ln2"), f"{p}mlp/fc1")
            x = x + self._dense(tf.nn.gelu(h, approximate=False), f"{p}mlp/fc2")
        return self._dense(tf.reduce_mean(x, axis=1), "head")

    def _rnn(self, x, training, graph_loop):
        w_ih, w_hh, bias = self.params["rnn/w_ih"], self.params["rnn/w_hh"], self.params["rnn/b"]
        h = tf.zeros([tf.shape(x)[0], self.spec.hidden], dtype=x.dtype)
        # tf.range makes autograph emit a tf.while_loop under tf.function; range() is a Python loop.
        for t in tf.range(self.spec.seq_len) if graph_loop else range(self.spec.seq_len):
            h = tf.tanh(tf.matmul(x[:, t], w_ih) + tf.matmul(h, w_hh) + bias)
        return self._dense(h, "head")


def _graph_loop(mode: str, variant: str) -> bool:
    """Whether the RNN loops with a graph construct (tf.while_loop) rather than a Python loop."""
    return mode == "graph" and variant != "tf.function-unrolled"


def _tf_device(device: str) -> str:
    return "/GPU:0" if device == "cuda" else "/CPU:0"


class TensorFlowAdapter(Adapter):
    name = "tensorflow"
    distribution = "tensorflow-cpu"
    variants = {"eager": "eager", "tf.function": "graph", "tf.function-unrolled": "graph", "tf.function+xla": "graph"}
    family_variants = {"tf.function-unrolled": ["rnn"]}
    timed = {
        "eager": {
            "compiled scope": "nothing: op by op",
            "update": "ResourceApplyGradientDescent, one fused op per variable",
            "layers": "matmul + bias_add (as Keras Dense), moments + batch_normalization (as Keras 3)",
            "rnn loop": "Python loop",
        },
        "tf.function": {
            "compiled scope": "whole train step: forward, loss, GradientTape backward, update",
            "update": "ResourceApplyGradientDescent in the graph",
            "layers": "as eager, in one graph (Grappler-optimised)",
            "rnn loop": "tf.while_loop (autograph over tf.range)",
        },
        "tf.function-unrolled": {
            "compiled scope": "whole train step, as tf.function",
            "update": "ResourceApplyGradientDescent in the graph",
            "layers": "as eager, in one graph",
            "rnn loop": "unrolled (Python loop traced into the graph)",
        },
        "tf.function+xla": {
            "compiled scope": "whole train step, compiled by XLA (jit_compile=True)",
            "update": "ResourceApplyGradientDescent, lowered by XLA",
            "layers": "XLA-fused",
            "rnn loop": "tf.while_loop, lowered to an XLA while",
        },
    }

    def version(self) -> str:
        return tf.__version__

    def configure(self, threads: int) -> dict:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(INTER_OP_THREADS)
        except RuntimeError:  # only settable before the runtime initializes; the check reads what is in effect
            pass
        # TF32 is on by default and would round float32 matmuls on Ampere+ GPUs; "highest" means off.
        tf.config.experimental.enable_tensor_float_32_execution(MATMUL_PRECISION != "highest")
        onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
        return {
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "matmul_precision": "high (TF32)"
            if tf.config.experimental.tensor_float_32_execution_enabled()
            else "highest",
            "onednn": f"TF_ENABLE_ONEDNN_OPTS={onednn}" if onednn is not None else "build default (on for x86 Linux)",
        }

    def device_info(self, device: str) -> dict:
        if device == "cpu":
            return {"device_name": "cpu"}
        if device == "cuda":
            gpus = tf.config.list_physical_devices("GPU")
            if not gpus:
                raise DeviceUnavailable("tensorflow sees no GPU (tensorflow-cpu build or no CUDA)")
            details = tf.config.experimental.get_device_details(gpus[0])
            return {"device_name": details.get("device_name", gpus[0].name)}
        raise DeviceUnavailable(f"tensorflow adapter does not support device {device!r}")

    def reset_peak_device_memory(self, device: str) -> None:
        if device == "cuda":
            tf.config.experimental.reset_memory_stats("GPU:0")

    def peak_device_memory_bytes(self, device: str) -> int | None:
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"]) if device == "cuda" else None

    def build(self, spec, device: str):
        with tf.device(_tf_device(device)):
            module = Net(spec)
        return {"module": module, "lr": spec.lr, "device": device}

    def weights(self, model):
        return {n: v.numpy() for n, v in model["module"].params.items()}

    def to_device(self, array, device):
        with tf.device(_tf_device(device)):
            return tf.identity(tf.convert_to_tensor(array))

    def _wrap(self, fn, variant):
        mode = self.check_variant(variant)
        if mode == "eager":
            return fn
        return tf.function(fn, jit_compile=(variant == "tf.function+xla"))

    def train_step(self, model, variant):
        module = model["module"]
        params = module.param_list
        graph_loop = _graph_loop(self.check_variant(variant), variant)
        lr = tf.constant(model["lr"], dtype=params[0].dtype)

        def step(x, y):
            with tf.GradientTape() as tape:
                logits = module(x, training=True, graph_loop=graph_loop)
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
            # The fused SGD kernel (what tf.compat.v1's GradientDescentOptimizer runs): one op per variable.
            for p, g in zip(params, tape.gradient(loss, params)):
                tf.raw_ops.ResourceApplyGradientDescent(var=p.handle, alpha=lr, delta=g)
            return loss

        return self._wrap(step, variant)

    def infer_step(self, model, variant, shapes="static"):
        # Without an input_signature tf.function traces one graph per input shape: static by construction.
        module = model["module"]
        graph_loop = _graph_loop(self.check_variant(variant), variant)
        return self._wrap(lambda x: module(x, training=False, graph_loop=graph_loop), variant)

    def eager_ops(self, step, *args) -> int:
        from tensorflow.python.framework import op_callbacks

        count = [0]

        def counted(*_args, **_kwargs):
            count[0] += 1

        op_callbacks.add_op_callback(counted)  # called once per op an eager call executes
        try:
            self.sync(step(*args))
        finally:
            op_callbacks.remove_op_callback(counted)
        return count[0]

    def sync(self, out) -> None:
        # .numpy() blocks until the value exists; on GPU it also copies it back, which a real caller pays too.
        out.numpy()

    def to_numpy(self, value):
        return np.asarray(value.numpy())
