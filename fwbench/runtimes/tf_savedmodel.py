"""TensorFlow loading a SavedModel directory and calling its serving_default signature."""

from __future__ import annotations

from fwbench.runtimes.base import Runtime


class TFSavedModel(Runtime):
    distributions = ("tensorflow-cpu", "tensorflow")

    def import_runtime(self):
        import tensorflow  # noqa: F401

    def load(self, artifact, threads):
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        loaded = tf.saved_model.load(str(artifact))
        serve = loaded.signatures["serving_default"]
        (arg,) = serve.structured_input_signature[1]  # the signature's one keyword input
        (out,) = serve.structured_outputs

        def run(x):
            return serve(**{arg: tf.constant(x)})[out].numpy()

        run.keep_alive = loaded  # the signature does not own the variables it reads
        return run
