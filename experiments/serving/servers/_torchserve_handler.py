"""TorchServe handler (archived with the model): fwbench's wire format and validation, any fwbench runtime inside.

TorchServe imports this file in its Python worker and calls the module-level
`handle(data, context)` with one entry per HTTP request (several when it batches).
The model is loaded on the first call from the archive's `fwbench_serving.json`:
runtime name, sample shape, threads. Each request gets its own answer: logits
in the format it was sent in, or its own 4xx with one clear line.
"""

import json

_state = {}


def _load(context):
    from pathlib import Path

    from fwbench.experiments.serving import wire
    from fwbench.runtimes import load_timed

    model_dir = Path(context.system_properties["model_dir"])
    cfg = json.loads((model_dir / "fwbench_serving.json").read_text())
    artifact = model_dir / context.manifest["model"]["serializedFile"]
    _state["run"] = load_timed(cfg["runtime"], artifact, int(cfg["threads"])).run
    _state["spec"] = wire.InputSpec(tuple(cfg["sample_shape"]), int(cfg["max_request_batch"]))


def _decode(req, ctype, spec):
    from fwbench.experiments.serving import wire

    body = req.get("body", req.get("data"))
    if isinstance(body, dict):  # TorchServe already parsed a JSON body
        return wire.decode_request(json.dumps(body).encode(), wire.JSON, spec), wire.JSON
    if isinstance(body, str):
        body = body.encode()
    if body is None:
        raise wire.BadRequest(400, "empty request body")
    return wire.decode_request(bytes(body), ctype or wire.JSON, spec), ctype


def handle(data, context):
    import numpy as np

    from fwbench.experiments.serving import wire

    if data is None:
        return None
    if "run" not in _state:
        _load(context)
    spec = _state["spec"]
    out = [None] * len(data)
    inputs, owners, types = [], [], []
    for i, req in enumerate(data):
        ctype = context.get_request_header(i, "Content-Type") or context.get_request_header(i, "content-type") or ""
        try:
            x, kind = _decode(req, ctype, spec)
        except wire.BadRequest as exc:
            context.set_response_status(exc.status, str(exc), idx=i)
            context.set_response_content_type(i, wire.JSON)
            out[i] = json.dumps({"error": str(exc)})
            continue
        inputs.append(x)
        owners.append(i)
        types.append(kind)
    if inputs:
        y = np.asarray(_state["run"](np.concatenate(inputs) if len(inputs) > 1 else inputs[0]))
        start = 0
        for i, x, kind in zip(owners, inputs, types):
            body, media = wire.encode_response(y[start : start + len(x)], kind)
            start += len(x)
            context.set_response_content_type(i, media)
            out[i] = body if media == wire.NPY else body.decode()
    return out
