"""LiteRT (formerly TensorFlow Lite) interpreter running a .tflite flatbuffer: ai-edge-litert, else tf.lite."""

from __future__ import annotations

from fwbench.runtimes.base import Runtime


def _interpreter_class():
    # ai-edge-litert is the runtime edge apps ship; tf.lite.Interpreter is deprecated in its favour.
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    return Interpreter


class LiteRT(Runtime):
    distributions = ("ai-edge-litert", "tensorflow-cpu", "tensorflow")

    def import_runtime(self):
        _interpreter_class()

    def load(self, artifact, threads):
        interpreter = _interpreter_class()(model_path=str(artifact), num_threads=threads)
        interpreter.allocate_tensors()
        state = {"shape": tuple(interpreter.get_input_details()[0]["shape"])}

        def run(x):
            # A new batch size is a resize plus a new allocation, once; the same size reuses them.
            if x.shape != state["shape"]:
                interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], x.shape)
                interpreter.allocate_tensors()
                state["shape"] = x.shape
            interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
            interpreter.invoke()
            return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()

        return run
