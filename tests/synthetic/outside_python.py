"""A tiny ONNX model the outside-Python tests run in Node and in the browser."""

import numpy as np


def tiny_onnx(path, seed=0):
    """y = x W + b as one Gemm node: weights seeded, inputs with a dynamic batch."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal((6, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return w, b


def with_busy(job: dict, processes, modes=None, other_cpus: float = 0.9, attempts: int = 3) -> dict:
    """The job with every fresh process (or page) guarded (fwbench.measure.quiet): those of `processes` in `modes`
    (every mode: None) measured on a busy machine (other programs at `other_cpus` even after `attempts` runs), the
    rest quiet at the first attempt. One set of flags per process, at the batch of its load record."""
    for r in [r for r in job["records"] if r["metric"] == "load_s"]:
        busy = r["process"] in processes and (modes is None or r["mode"] in modes)
        flags = {
            "busy_block": float(busy),
            "other_cpus": other_cpus if busy else 0.02,
            "block_attempts": attempts if busy else 1,
        }
        job["records"] += [{**r, "metric": m, "value": float(v)} for m, v in flags.items()]
    return job
