"""TensorFlow: tf.distribute.MultiWorkerMirroredStrategy (ring collectives over gRPC on loopback), a custom loop."""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

from fwbench.frameworks import get_adapter

API = "tf.distribute.MultiWorkerMirroredStrategy (RING) + custom loop in tf.function"


def configure(threads: int) -> dict:
    return get_adapter("tensorflow").configure(threads)


def init_group(rank: int, world: int, ports: list[int], timeout_s: float):
    """The strategy reads the cluster from TF_CONFIG: one loopback port per worker, this one's index."""
    os.environ["TF_CONFIG"] = json.dumps(
        {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports[:world]]}, "task": {"type": "worker", "index": rank}}
    )
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING, timeout_seconds=timeout_s
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    return strategy


def all_reduce(strategy, array: np.ndarray) -> np.ndarray:
    value = tf.constant(array)

    @tf.function
    def reduce():
        return strategy.run(lambda: tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, value))

    return strategy.experimental_local_results(reduce())[0].numpy()


class Trainer:
    """The adapter's mlp module, its variables created in the strategy's scope (mirrored across workers). One step:
    each replica's gradient of its local mean loss, averaged by one all-reduce, then the SGD update applied to the
    mirrored variables in cross-replica context (what Keras 2 optimizers did under a strategy). Without a group: the
    adapter's tf.function step."""

    def __init__(self, spec, strategy, world: int):
        adapter = get_adapter("tensorflow")
        self.adapter = adapter
        if strategy is None:
            self.model = adapter.build(spec, "cpu")
            plain = adapter.train_step(self.model, "tf.function")
            self._step = lambda x, y: plain(x, y)
            self.timed = "forward, GradientTape backward, ResourceApplyGradientDescent; one tf.function"
            return
        with strategy.scope():
            self.model = adapter.build(spec, "cpu")
        params = self.model["module"].param_list
        lr = float(spec.lr)
        module = self.model["module"]

        def apply(strategy_, grads):
            for v, g in zip(params, grads):
                strategy_.extended.update(v, lambda var, d: var.assign_sub(lr * d), args=(g,))

        def replica_step(x, y):
            with tf.GradientTape() as tape:
                logits = module(x, training=True)
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
            ctx = tf.distribute.get_replica_context()
            grads = ctx.all_reduce(tf.distribute.ReduceOp.MEAN, tape.gradient(loss, params))
            ctx.merge_call(apply, args=(grads,))
            return loss

        @tf.function
        def step(x, y):
            return strategy.run(replica_step, args=(x, y))

        self._step = step
        self.strategy = strategy
        self.timed = (
            "strategy.run of forward, GradientTape backward, all-reduce (MEAN) of the gradients, update "
            "of the mirrored variables; one tf.function"
        )

    def prepare(self, x: np.ndarray, y: np.ndarray):
        return tf.constant(x), tf.constant(y)

    def step(self, batch) -> float:
        out = self._step(*batch)
        if hasattr(self, "strategy"):
            out = self.strategy.experimental_local_results(out)[0]
        return float(out.numpy())  # .numpy() waits for the step (and so for its all-reduce)

    def weights(self) -> dict[str, np.ndarray]:
        return {n: np.asarray(v.numpy()) for n, v in self.model["module"].params.items()}


def keras_fit(strategy, spec, x: np.ndarray, y: np.ndarray, steps: int) -> dict:
    """Keras `fit` under the strategy, on this worker's slice: what happens is the result (an exception propagates)."""
    import keras

    with strategy.scope():
        layers = [keras.Input(shape=spec.input_shape)]
        for i, width in enumerate(spec.sizes[1:]):
            layers.append(keras.layers.Dense(width, activation="relu" if i < len(spec.sizes) - 2 else None))
        model = keras.Sequential(layers)
        model.compile(
            optimizer=keras.optimizers.SGD(spec.lr), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(len(x) // steps).repeat()
    history = model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    return {"keras_version": keras.__version__, "loss": [float(v) for v in history.history["loss"]]}


def shutdown(strategy) -> None:
    pass  # the strategy's gRPC server lives as long as the process; the worker exits right after
