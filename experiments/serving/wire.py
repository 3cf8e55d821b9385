"""The request and response format every fwbench server speaks: JSON or a binary .npy body, validated strictly.

One format for every runtime, so that in the serving experiment the runtime is
what differs. A request carries a batch of inputs, a response the matching
logits:

- JSON (`application/json`): ``{"inputs": [[...], ...]}`` -> ``{"outputs": [[...], ...]}``.
- binary (`application/x-npy`): the body is one array in NumPy's .npy format,
  float32, read with pickles refused; the response is .npy as well.

Bad input is a `BadRequest` carrying the HTTP status (400 malformed body, 415
unknown content type, 413 batch too large, 422 wrong shape or dtype) and one
clear line; a server answers it and goes on serving.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np

from fwbench.errors import BadRequest

JSON = "application/json"
NPY = "application/x-npy"
#: Format name (as profiles and records write it) -> content type.
FORMATS = {"json": JSON, "npy": NPY}


@dataclass(frozen=True)
class InputSpec:
    """What a model accepts: float32 arrays of shape (batch, *sample_shape)."""

    sample_shape: tuple[int, ...] = field(metadata={"help": "shape of one sample, without the batch dimension"})
    max_batch: int = field(default=256, metadata={"help": "largest batch one request may carry (413 beyond)"})


def content_type(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    return FORMATS[fmt]


def encode_request(x: np.ndarray, fmt: str) -> bytes:
    if content_type(fmt) == JSON:
        return json.dumps({"inputs": np.asarray(x).tolist()}).encode()
    return _npy_bytes(x)


def decode_request(body: bytes, ctype: str, spec: InputSpec) -> np.ndarray:
    """The validated float32 batch in `body`, or BadRequest naming what is wrong."""
    kind = (ctype or "").split(";")[0].strip().lower()
    if kind == JSON:
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(400, f"body is not valid JSON ({exc})") from None
        if not isinstance(doc, dict) or "inputs" not in doc:
            raise BadRequest(400, 'JSON body must be an object with an "inputs" array')
        try:
            x = np.asarray(doc["inputs"], dtype=np.float32)
        except (ValueError, TypeError):
            raise BadRequest(422, '"inputs" must be a rectangular array of numbers') from None
    elif kind == NPY:
        try:
            x = np.load(io.BytesIO(body), allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable body is the client's error
            raise BadRequest(400, f"body is not a .npy array ({type(exc).__name__}: {exc})") from None
        if x.dtype != np.float32:
            raise BadRequest(422, f"dtype {x.dtype} not accepted; send float32")
    else:
        raise BadRequest(415, f"content type {ctype or '(none)'!r} not accepted; send {JSON} or {NPY}")
    want = ("batch", *spec.sample_shape)
    if x.ndim != len(want) or tuple(x.shape[1:]) != spec.sample_shape or x.shape[0] < 1:
        raise BadRequest(422, f"inputs have shape {tuple(x.shape)}; expected {want}")
    if x.shape[0] > spec.max_batch:
        raise BadRequest(413, f"batch of {x.shape[0]} exceeds this server's limit of {spec.max_batch}")
    if not np.all(np.isfinite(x)):
        raise BadRequest(422, "inputs contain NaN or infinity")
    return x


def encode_response(y: np.ndarray, ctype: str) -> tuple[bytes, str]:
    if (ctype or "").split(";")[0].strip().lower() == NPY:
        return _npy_bytes(y), NPY
    return json.dumps({"outputs": np.asarray(y).tolist()}).encode(), JSON


def decode_response(body: bytes, ctype: str) -> np.ndarray:
    if (ctype or "").split(";")[0].strip().lower() == NPY:
        return np.load(io.BytesIO(body), allow_pickle=False)
    return np.asarray(json.loads(body)["outputs"], dtype=np.float32)


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()
