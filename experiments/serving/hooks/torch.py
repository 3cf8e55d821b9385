"""PyTorch's variants of the serving experiment."""

#: Variant (the runtime as readers know it) -> "server:source": server is a module of
#: fwbench.experiments.serving.servers, source an inference variant (served live) or an export path.
VARIANTS = {
    "torch-eager": "frontend:eager",
    "torch.export": "frontend:torch.export",
    "torchscript": "frontend:torchscript-trace",
    "onnxruntime": "frontend:onnx-dynamo",
    "torchserve": "torchserve:torchscript-trace",
}
