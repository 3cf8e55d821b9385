"""TensorFlow's variants of the serving experiment."""

#: Variant (the runtime as readers know it) -> "server:source": server is a module of
#: fwbench.experiments.serving.servers, source an inference variant (served live) or an export path.
VARIANTS = {
    "tf-savedmodel": "frontend:savedmodel",
    "litert": "frontend:tflite",
    "onnxruntime": "frontend:tf2onnx",
    "tf-serving": "tfserving:savedmodel",
}
