"""The ONNX route of the porting experiment: the trained source layer written as ONNX, checked in ONNX Runtime, then
handed to each target framework's converter from the package index, where one installs here.

Converters: onnx2torch (ONNX to torch.nn), onnx2tf (ONNX to Keras/TensorFlow), jaxonnxruntime (ONNX run as JAX
functions: JAX, not a flax module). Only jaxonnxruntime is installed (pinned in the lock): pip's dry run against
requirements.lock showed what the other two would need (NOT_INSTALLABLE), and each attempt stores its import error
with that reason, so a missing converter is a finding in the book, never a silent gap.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from fwbench.measure.child import error_of
from fwbench.measure.parity import compare

#: The converter from ONNX into each target framework, by its package-index name.
CONVERTERS = {"torch": "onnx2torch", "tensorflow": "onnx2tf", "jax": "jaxonnxruntime"}

#: Why a converter is not installed here, from `pip install --dry-run -c requirements.lock <name>` and a trial
#: install into a scratch folder (never into the project's environment).
NOT_INSTALLABLE = {
    "onnx2torch": "onnx2torch 1.5.15 requires torchvision; the index's torchvision 0.28.0 (the one for torch 2.13) "
    "is built against CUDA torch and fails to import against torch 2.13.0+cpu (RuntimeError: operator "
    "torchvision::nms does not exist), and a torchvision whose import raises would break every optional "
    "torchvision import in torch's own code",
    "onnx2tf": "onnx2tf 1.28.8 imports tf_keras, which requires the full `tensorflow` 2.21.0 distribution: "
    "installing it would overwrite the installed tensorflow-cpu's files (pip's dry run: tensorflow-2.21.0 "
    "tf_keras-2.21.0 onnx_graphsurgeon-0.6.1 sng4onnx-2.0.1)",
}


def export(source: str, src, path: Path) -> list[str]:
    """Write the trained source layer to `path` as ONNX; the conversion steps taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if source == "torch":
        import torch

        from fwbench.experiments.porting.hooks import torch as hook

        class Layer(torch.nn.Module):  # the layer as its hook calls it: channels-last in and out
            def __init__(self):
                super().__init__()
                self.layer = src.layer

            def forward(self, x):
                return hook._call(src.kind, self.layer, x)

        module = Layer().eval()
        program = torch.onnx.export(module, (torch.from_numpy(src.x),), dynamo=True, verbose=False)
        program.save(str(path))
        return ["torch.onnx.export(dynamo=True)"]
    import tensorflow as tf
    import tf2onnx

    signature = [tf.TensorSpec(src.x.shape, tf.as_dtype(src.x.dtype))]
    if source == "tensorflow":
        fn = tf.function(lambda x: src.layer(x, training=False), input_signature=signature)
        steps = ["tf.function", "tf2onnx.convert.from_function"]
    else:
        from jax.experimental import jax2tf

        src.layer.eval()
        fn = tf.function(jax2tf.convert(lambda x: src.layer(x)), autograph=False, input_signature=signature)
        steps = ["jax2tf.convert", "tf2onnx.convert.from_function"]
    tf2onnx.convert.from_function(fn, input_signature=signature, output_path=str(path))
    return steps


def run_onnxruntime(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {session.get_inputs()[0].name: x})[0])


def convert_and_run(target: str, path: Path, x: np.ndarray, workdir: Path) -> np.ndarray:
    """The ONNX file through `target`'s converter, run on `x` (ImportError where the converter is not installed)."""
    import onnx

    if target == "torch":
        import onnx2torch
        import torch

        with torch.no_grad():
            return onnx2torch.convert(onnx.load(str(path)))(torch.from_numpy(x)).numpy()
    if target == "tensorflow":
        import onnx2tf

        model = onnx2tf.convert(
            input_onnx_file_path=str(path), output_folder_path=str(workdir / "onnx2tf"), non_verbose=True
        )
        return np.asarray(model(x))
    from jaxonnxruntime import backend

    return np.asarray(backend.run_model(onnx.load(str(path)), [x])[0])


def port(source: str, src, targets: list[str], params, scratch: Path) -> list[dict]:
    """One layer kind through ONNX: exported once, checked in ONNX Runtime, then one attempt per target."""
    base = {
        "layer": src.kind,
        "source": source,
        "route": "onnx",
        "steps": [],
        "export_ok": False,
        "tolerance": asdict(params.tolerance()),
        "error": None,
    }
    path = scratch / f"{source}.onnx"
    try:
        base["steps"] = export(source, src, path)
        ort = compare(run_onnxruntime(path, src.x), src.out, params.tolerance())
        base.update(export_ok=ort["passed"], onnxruntime_max_abs_err=ort["max_abs_err"])
    except Exception as exc:
        base.update(error=error_of(exc), stage="export")
        return [{**base, "target": t, "converter": CONVERTERS[t], "outcome": "fails"} for t in targets]
    out = []
    for target in targets:
        name = CONVERTERS[target]
        attempt = {**base, "target": target, "converter": name, "steps": base["steps"] + [name]}
        try:
            got = convert_and_run(target, path, src.x, scratch / target)
        except ImportError as exc:
            attempt.update(
                outcome="fails",
                stage="converter",
                error=error_of(exc),
                finding="converter not installable here: " + NOT_INSTALLABLE.get(name, "not installed"),
            )
        except Exception as exc:
            attempt.update(outcome="fails", stage="convert", error=error_of(exc))
        else:
            attempt.update(compare(got, src.out, params.tolerance()), stage="done")
            attempt["outcome"] = "matches" if attempt["passed"] else "differs"
        out.append(attempt)
    return out
