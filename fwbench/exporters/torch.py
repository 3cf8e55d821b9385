"""PyTorch's export paths for the export experiment: each writes an artifact that a runtime (fwbench.runtimes) loads."""

from __future__ import annotations

import torch

from fwbench.frameworks.torch import Inference

#: Export path -> the runtime that runs its artifact, with an option after ':' ("keras:torch": Keras 3 on this backend).
PATHS = {
    "torch.export": "torch_export",
    "onnx-dynamo": "onnxruntime",
    "onnx-legacy": "onnxruntime",
    "torchscript-trace": "torchscript",
    "torchscript-script": "torchscript",
    "executorch": "executorch",
    "torch-mobile": "torch_mobile",
    "keras3": "keras:torch",
}


def export(model, spec, path, directory, example):
    """Export `model`'s inference along `path` under `directory`: (artifact, conversion steps)."""
    module = Inference(model["module"]).eval()
    x = torch.from_numpy(example)
    # Batch is declared dynamic the way each exporter asks for it; whether other
    # sizes then run is measured, not assumed.
    batch = torch.export.Dim("batch", min=1, max=65536)
    with torch.no_grad():
        if path == "torch.export":
            program = torch.export.export(module, (x,), dynamic_shapes=({0: batch},))
            torch.export.save(program, directory / "model.pt2")
            return directory / "model.pt2", ["torch.export.export", "torch.export.save"]
        if path == "onnx-dynamo":
            onnx_program = torch.onnx.export(
                module, (x,), dynamo=True, dynamic_shapes=({0: batch},), input_names=["x"], output_names=["logits"]
            )
            onnx_program.save(str(directory / "model.onnx"))
            return directory / "model.onnx", ["torch.onnx.export(dynamo=True)"]
        if path == "onnx-legacy":
            torch.onnx.export(
                module,
                (x,),
                str(directory / "model.onnx"),
                dynamo=False,
                input_names=["x"],
                output_names=["logits"],
                dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
            )
            return directory / "model.onnx", ["torch.onnx.export(dynamo=False)"]
        if path == "executorch":
            # PyTorch's edge path: torch.export, lowered to the XNNPACK CPU delegate, a .pte program.
            from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
            from executorch.exir import to_edge_transform_and_lower

            program = torch.export.export(module, (x,), dynamic_shapes=({0: batch},))
            lowered = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()]).to_executorch()
            (directory / "model.pte").write_bytes(lowered.buffer)
            return directory / "model.pte", [
                "torch.export.export",
                "to_edge_transform_and_lower(XNNPACK)",
                "to_executorch",
            ]
        if path == "torch-mobile":
            # The older mobile path (lite interpreter), deprecated in favour of ExecuTorch but still shipped.
            traced = torch.jit.trace(module, (x,))
            traced._save_for_lite_interpreter(str(directory / "model.ptl"))
            return directory / "model.ptl", ["torch.jit.trace", "_save_for_lite_interpreter"]
        if path in ("torchscript-trace", "torchscript-script"):
            scripted = torch.jit.trace(module, (x,)) if path == "torchscript-trace" else torch.jit.script(module)
            scripted.save(str(directory / "model.pt"))
            return directory / "model.pt", [f"torch.jit.{path.split('-')[1]}", "ScriptModule.save"]
    raise ValueError(f"torch has no export path {path!r}")
