"""TensorFlow's export paths for the export experiment: each writes an artifact that a runtime (fwbench.runtimes) loads."""

from __future__ import annotations

import tensorflow as tf

#: Export path -> the runtime that runs its artifact, with an option after ':' ("keras:torch": Keras 3 on this backend).
PATHS = {
    "savedmodel": "tf_savedmodel",
    "keras-savedmodel": "tf_savedmodel",
    "tflite": "litert",
    "tf2onnx": "onnxruntime",
    "keras3": "keras:tensorflow",
}


def export(model, spec, path, directory, example):
    """Export `model`'s inference along `path` under `directory`: (artifact, conversion steps)."""
    from fwbench.exporters import _savedmodel as tf_export

    module = model["module"]
    # The graph loop (tf.while_loop) is what a deployed RNN runs; autograph needs it to be tf.range.
    fn = tf.function(
        lambda x: module(x, training=False, graph_loop=True), input_signature=tf_export.input_signature(spec)
    )
    if path == "savedmodel":
        return tf_export.save(fn, directory, net=module), ["tf.saved_model.save"]
    if path == "tflite":
        saved = tf_export.save(fn, directory, net=module)
        return tf_export.to_tflite(saved, directory), ["tf.saved_model.save", "tf.lite.TFLiteConverter"]
    if path == "tf2onnx":
        return tf_export.to_onnx(fn, spec, directory), ["tf2onnx.convert.from_function"]
    if path == "keras-savedmodel":
        import keras

        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(
                f"Keras is on the {keras.backend.backend()!r} backend; "
                "Model.export to a SavedModel needs KERAS_BACKEND=tensorflow"
            )
        from fwbench.runtimes import _keras_model as keras_model

        out = directory / "saved_model"
        keras_model.build(spec).export(str(out), format="tf_saved_model", verbose=False)
        return out, ["keras_model.build", "Model.export(format='tf_saved_model')"]
    raise ValueError(f"tensorflow has no export path {path!r}")
