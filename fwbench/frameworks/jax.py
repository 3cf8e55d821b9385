"""JAX adapter: op-by-op dispatch (no jit) and jax.jit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from fwbench.frameworks.base import Adapter, DeviceUnavailable


def _forward(params, x):
    for i, (w, b) in enumerate(params):
        x = x @ w + b
        if i < len(params) - 1:
            x = jax.nn.relu(x)
    return x


def _loss(params, x, y):
    log_probs = jax.nn.log_softmax(_forward(params, x))
    return -jnp.mean(jnp.take_along_axis(log_probs, y[:, None], axis=1))


class JaxAdapter(Adapter):
    name = "jax"
    distribution = "jax"
    variants = {"eager": "eager", "jax.jit": "graph"}

    def configure(self, threads: int) -> dict:
        # XLA:CPU has no thread-count setting; its pool follows the CPU affinity
        # that fwbench.env.apply() pinned to `threads` CPUs.
        return {"intra_op_threads": threads, "thread_control": "cpu affinity"}

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

    def build(self, spec, device: str):
        dev = self._device(device)
        params = [(jax.device_put(w, dev), jax.device_put(b, dev)) for w, b in spec.init_weights()]
        # Functional framework: state lives in a dict the step functions update.
        return {"params": params, "lr": spec.lr, "device": device}

    def weights(self, model):
        return [(np.asarray(w), np.asarray(b)) for w, b in model["params"]]

    def to_device(self, array, device):
        return jax.device_put(array, self._device(device))

    def train_step(self, model, variant):
        mode = self.check_variant(variant)
        lr = model["lr"]

        def update(params, x, y):
            loss, grads = jax.value_and_grad(_loss)(params, x, y)
            return jax.tree.map(lambda p, g: p - lr * g, params, grads), loss

        update = jax.jit(update) if mode == "graph" else update

        def step(x, y):
            model["params"], loss = update(model["params"], x, y)
            # Return the new parameters too, so sync() waits for the update, not only the loss.
            return model["params"], loss

        return step

    def infer_step(self, model, variant):
        mode = self.check_variant(variant)
        forward = jax.jit(_forward) if mode == "graph" else _forward
        return lambda x: forward(model["params"], x)

    def sync(self, out) -> None:
        jax.block_until_ready(out)

    def loss_of(self, out) -> float:
        return float(out[1])  # the train step returns (params, loss)
