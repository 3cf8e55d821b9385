"""Keras 3 on the backend named by the option ("keras:jax"), running the one Keras definition of fwbench.runtimes._keras_model."""

from __future__ import annotations

import json
import os

from fwbench.runtimes.base import Runtime


class Keras(Runtime):
    distributions = ("keras",)

    def prepare(self):
        if self.option not in ("tensorflow", "torch", "jax"):
            raise ValueError(f"keras runtime needs a backend option (tensorflow, torch, jax), got {self.option!r}")
        # Keras reads its backend once, at import; this process imports it after this line.
        os.environ["KERAS_BACKEND"] = self.option

    def version(self):
        return f"{super().version()} on {self.option}"

    def import_runtime(self):
        import keras

        if keras.backend.backend() != self.option:
            raise RuntimeError(f"Keras was imported on {keras.backend.backend()!r}, not {self.option!r}")

    def _model(self, artifact):
        from fwbench.runtimes import _keras_model as keras_model
        from fwbench.workloads import get_workload

        return keras_model.build(get_workload(json.loads(artifact.read_text())["workload"]))

    def load(self, artifact, threads):
        model = self._model(artifact)
        # predict_on_batch is Keras's own inference entry point: compiled where the backend
        # compiles by default (XLA on jax and tensorflow), NumPy out on every backend.
        return model.predict_on_batch

    def train_step(self, artifact, batch_size):
        import keras

        from fwbench.workloads import get_workload

        spec = get_workload(json.loads(artifact.read_text())["workload"])
        model = self._model(artifact)
        model.compile(
            optimizer=keras.optimizers.SGD(spec.lr), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        x, y = spec.batch(batch_size)
        # train_on_batch returns the loss as a Python float: the step has finished.
        return lambda: model.train_on_batch(x, y)
