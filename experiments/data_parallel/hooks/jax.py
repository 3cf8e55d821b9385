"""JAX: jax.distributed.initialize with gloo CPU collectives, one CPU device per process, a jitted step over a
global mesh (batch sharded, parameters replicated: XLA inserts the gradient all-reduce)."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from fwbench.frameworks import get_adapter
from fwbench.frameworks.jax import _FORWARDS

API = "jax.distributed.initialize + jax_cpu_collectives_implementation=gloo + jit over a global Mesh"


def configure(threads: int) -> dict:
    # Read by the CPU client when the backend starts, so before any computation; gloo is this version's default,
    # set explicitly so that a change of default cannot change what is measured.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    settings = get_adapter("jax").configure(threads)
    return {**settings, "cpu_collectives": jax.config.jax_cpu_collectives_implementation}


def init_group(rank: int, world: int, ports: list[int], timeout_s: float):
    """Rank 0 hosts the coordination service on ports[0]; gloo's TCP pairs are set up through it."""
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{ports[0]}",
        num_processes=world,
        process_id=rank,
        initialization_timeout=max(1, int(timeout_s)),
    )
    devices = jax.devices()
    if len(devices) != world:
        raise RuntimeError(f"expected {world} global CPU devices after jax.distributed.initialize, got {len(devices)}")
    return Mesh(np.array(devices), ("data",))


def all_reduce(mesh, array: np.ndarray) -> np.ndarray:
    stacked = jax.make_array_from_process_local_data(NamedSharding(mesh, P("data")), array[None])
    total = jax.jit(lambda a: a.sum(axis=0), out_shardings=NamedSharding(mesh, P()))(stacked)
    return np.asarray(total.addressable_data(0))


class Trainer:
    """The adapter's mlp forward and SGD update in one jitted step; with a mesh, parameters replicated and the
    batch sharded along it, so the global mean loss's gradient needs XLA's cross-process all-reduce. Without one,
    the adapter's jax.jit step."""

    def __init__(self, spec, mesh, world: int):
        adapter = get_adapter("jax")
        self.mesh = mesh
        if mesh is None:
            self.model = adapter.build(spec, "cpu")
            plain = adapter.train_step(self.model, "jax.jit")
            self._step = lambda x, y: plain(x, y)[2]
            self.timed = "value_and_grad, SGD update; one jax.jit, parameters donated"
            return
        # The adapter's forward; its build would place the weights on global device 0, another process's here.
        forward, lr = partial(_FORWARDS[spec.family], spec), spec.lr
        replicated, sharded = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
        self.params = {n: jax.make_array_from_process_local_data(replicated, a) for n, a in spec.init_weights().items()}
        self.sharded = sharded

        def loss_fn(params, x, y):
            logits, _ = forward(params, {}, x, training=True, graph_loop=True)
            log_probs = jax.nn.log_softmax(logits)
            return -jnp.mean(jnp.take_along_axis(log_probs, y[:, None], axis=1))

        def update(params, x, y):
            loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
            return jax.tree.map(lambda p, g: p - lr * g, params, grads), loss

        compiled = jax.jit(update, donate_argnums=(0,), out_shardings=(replicated, replicated))

        def step(x, y):
            self.params, loss = compiled(self.params, x, y)
            return loss

        self._step = step
        self.timed = (
            "value_and_grad over the global batch (sharded over the processes), XLA's all-reduce of the "
            "gradients, SGD update; one jax.jit, parameters replicated and donated"
        )

    def prepare(self, x: np.ndarray, y: np.ndarray):
        if self.mesh is None:
            return jax.device_put(x), jax.device_put(y)
        return (
            jax.make_array_from_process_local_data(self.sharded, x),
            jax.make_array_from_process_local_data(self.sharded, y),
        )

    def step(self, batch) -> float:
        loss = self._step(*batch)
        if self.mesh is not None:
            jax.block_until_ready(self.params)
            return float(np.asarray(loss.addressable_data(0)))
        jax.block_until_ready(self.model["params"])
        return float(loss)

    def weights(self) -> dict[str, np.ndarray]:
        if self.mesh is None:
            return {n: np.asarray(a) for n, a in self.model["params"].items()}
        return {n: np.asarray(a.addressable_data(0)) for n, a in self.params.items()}


def shutdown(mesh) -> None:
    if mesh is not None:
        jax.distributed.shutdown()
