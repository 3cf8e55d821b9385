"""TensorFlow adapter: eager, tf.function, and tf.function with XLA (jit_compile=True)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from fwbench.frameworks.base import Adapter, DeviceUnavailable


class MLP(tf.Module):
    def __init__(self, layers):
        super().__init__()
        self.ws = [tf.Variable(w, name=f"w{i}") for i, (w, _) in enumerate(layers)]
        self.bs = [tf.Variable(b, name=f"b{i}") for i, (_, b) in enumerate(layers)]

    def __call__(self, x):
        for i, (w, b) in enumerate(zip(self.ws, self.bs)):
            x = tf.matmul(x, w) + b
            if i < len(self.ws) - 1:
                x = tf.nn.relu(x)
        return x


def _tf_device(device: str) -> str:
    return "/GPU:0" if device == "cuda" else "/CPU:0"


class TensorFlowAdapter(Adapter):
    name = "tensorflow"
    distribution = "tensorflow-cpu"
    variants = {"eager": "eager", "tf.function": "graph", "tf.function+xla": "graph"}

    def version(self) -> str:
        return tf.__version__

    def configure(self, threads: int) -> dict:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # only settable before the runtime initializes
            pass
        return {"intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
                "onednn": tf.sysconfig.get_build_info().get("is_mkl_build", "unknown")}

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

    def build(self, spec, device: str):
        with tf.device(_tf_device(device)):
            module = MLP(spec.init_weights())
        return {"module": module, "lr": spec.lr, "device": device}

    def weights(self, model):
        m = model["module"]
        return [(w.numpy(), b.numpy()) for w, b in zip(m.ws, m.bs)]

    def to_device(self, array, device):
        with tf.device(_tf_device(device)):
            return tf.identity(tf.convert_to_tensor(array))

    def _wrap(self, fn, variant):
        mode = self.check_variant(variant)
        if mode == "eager":
            return fn
        return tf.function(fn, jit_compile=(variant == "tf.function+xla"))

    def train_step(self, model, variant):
        module, lr = model["module"], model["lr"]
        params = module.trainable_variables

        def step(x, y):
            with tf.GradientTape() as tape:
                logits = module(x)
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
            for p, g in zip(params, tape.gradient(loss, params)):
                p.assign_sub(lr * g)
            return loss

        return self._wrap(step, variant)

    def infer_step(self, model, variant):
        module = model["module"]
        return self._wrap(lambda x: module(x), variant)

    def sync(self, out) -> None:
        # .numpy() blocks until the value exists; on GPU it also copies it back, which a real caller pays too.
        out.numpy()

    def to_numpy(self, value):
        return np.asarray(value.numpy())
