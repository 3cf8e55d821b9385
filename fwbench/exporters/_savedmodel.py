"""TensorFlow-side export steps shared by every source that reaches a tf.function (TF itself, JAX via jax2tf)."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf


def input_signature(spec) -> list[tf.TensorSpec]:
    """One input `x` of the workload's sample shape with a dynamic batch dimension."""
    return [tf.TensorSpec([None, *spec.input_shape], spec.dtype, name="x")]


def save(fn, directory: Path, **keep) -> Path:
    """Write `fn` (a tf.function with an input signature) as a SavedModel whose serving_default is `fn`.

    `keep` names objects the SavedModel must track (a tf.Module's variables).
    """
    holder = tf.Module()
    holder.serve = fn
    for name, value in keep.items():
        setattr(holder, name, value)
    out = directory / "saved_model"
    tf.saved_model.save(holder, str(out), signatures={"serving_default": fn})
    return out


def to_tflite(saved_model: Path, directory: Path) -> Path:
    """Convert a SavedModel to a TFLite (LiteRT) flatbuffer with TensorFlow's converter, default options (float32)."""
    out = directory / "model.tflite"
    out.write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(saved_model)).convert())
    return out


def to_onnx(fn, spec, directory: Path) -> Path:
    """Convert a tf.function to ONNX with tf2onnx (its default opset)."""
    import tf2onnx  # imported here: only the ONNX paths need it

    out = directory / "model.onnx"
    tf2onnx.convert.from_function(fn, input_signature=input_signature(spec), output_path=str(out))
    return out
