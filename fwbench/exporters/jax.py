"""JAX's export paths for the export experiment: each writes an artifact that a runtime (fwbench.runtimes) loads."""

from __future__ import annotations

import jax

#: Export path -> the runtime that runs its artifact, with an option after ':' ("keras:torch": Keras 3 on this backend).
PATHS = {
    "jax-export": "jax_export",
    "jax2tf-savedmodel": "tf_savedmodel",
    "jax2tf-tflite": "litert",
    "jax2tf-onnx": "onnxruntime",
    "keras3": "keras:jax",
}


def export(model, spec, path, directory, example):
    """Export `model`'s inference along `path` under `directory`: (artifact, conversion steps)."""
    params, stats, forward = model["params"], model["stats"], model["forward"]

    def logits(x):  # weights closed over: they become constants of the exported program
        return forward(params, stats, x, False, True)[0]

    if path == "jax-export":
        shape = jax.export.symbolic_shape(", ".join(["b", *map(str, spec.input_shape)]))
        exported = jax.export.export(jax.jit(logits))(jax.ShapeDtypeStruct(shape, spec.dtype))
        out = directory / "model.jaxexport"
        out.write_bytes(exported.serialize())
        return out, ["jax.export.export", "Exported.serialize"]
    import tensorflow as tf
    from jax.experimental import jax2tf

    from fwbench.exporters import _savedmodel as tf_export

    fn = tf.function(
        jax2tf.convert(logits, polymorphic_shapes=["(b, ...)"]),
        autograph=False,
        input_signature=tf_export.input_signature(spec),
    )
    if path == "jax2tf-savedmodel":
        return tf_export.save(fn, directory), ["jax2tf.convert", "tf.saved_model.save"]
    if path == "jax2tf-tflite":
        saved = tf_export.save(fn, directory)
        return tf_export.to_tflite(saved, directory), [
            "jax2tf.convert",
            "tf.saved_model.save",
            "tf.lite.TFLiteConverter",
        ]
    if path == "jax2tf-onnx":
        return tf_export.to_onnx(fn, spec, directory), ["jax2tf.convert", "tf2onnx.convert.from_function"]
    raise ValueError(f"jax has no export path {path!r}")
