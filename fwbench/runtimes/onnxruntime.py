"""ONNX Runtime (CPU execution provider) running a .onnx file."""

from __future__ import annotations

from fwbench.runtimes.base import Runtime


class OnnxRuntime(Runtime):
    distributions = ("onnxruntime", "onnxruntime-gpu")

    def import_runtime(self):
        import onnxruntime  # noqa: F401

    def load(self, artifact, threads):
        import onnxruntime as ort

        options = ort.SessionOptions()
        # The same thread count as every framework; one inter-op thread, as a single model needs.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(artifact), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})[0]
