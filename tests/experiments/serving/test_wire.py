"""The wire format: what round-trips, and the one clear 4xx line for each kind of bad request."""

import io
import json

import numpy as np
import pytest

from fwbench.experiments.serving import wire

SPEC = wire.InputSpec((4,), max_batch=8)
X = np.arange(8, dtype=np.float32).reshape(2, 4)


@pytest.mark.parametrize("fmt", ["json", "npy"])
def test_requests_and_responses_round_trip(fmt):
    ctype = wire.content_type(fmt)
    got = wire.decode_request(wire.encode_request(X, fmt), ctype, SPEC)
    assert got.dtype == np.float32 and np.array_equal(got, X)
    body, media = wire.encode_response(X[:, :3], ctype)
    assert media == ctype and np.array_equal(wire.decode_response(body, media), X[:, :3])


def npy(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


@pytest.mark.parametrize(
    "body, ctype, status, words",
    [
        (b"{not json", wire.JSON, 400, "not valid JSON"),
        (b"[1, 2]", wire.JSON, 400, '"inputs"'),
        (json.dumps({"inputs": [[1, 2, 3]]}).encode(), wire.JSON, 422, "shape (1, 3)"),
        (json.dumps({"inputs": [[1, 2, 3, 4], [1, 2]]}).encode(), wire.JSON, 422, "rectangular"),
        (json.dumps({"inputs": [["a", "b", "c", "d"]]}).encode(), wire.JSON, 422, "numbers"),
        (json.dumps({"inputs": [1, 2, 3, 4]}).encode(), wire.JSON, 422, "expected ('batch', 4)"),
        (json.dumps({"inputs": [[0] * 4] * 9}).encode(), wire.JSON, 413, "limit of 8"),
        (json.dumps({"inputs": [[float("nan")] * 4]}).encode(), wire.JSON, 422, "NaN"),
        (npy(X.astype(np.float64)), wire.NPY, 422, "dtype float64"),
        (npy(X.astype(np.int32)), wire.NPY, 422, "send float32"),
        (b"\x93NUMPY garbage", wire.NPY, 400, "not a .npy array"),
        (npy(np.array([{"a": 1}], dtype=object)), wire.NPY, 400, "not a .npy array"),  # pickles are refused
        (b"x", "text/plain", 415, "text/plain"),
        (b"x", "", 415, "(none)"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_problem(body, ctype, status, words):
    with pytest.raises(wire.BadRequest) as info:
        wire.decode_request(body, ctype, SPEC)
    assert info.value.status == status and words in str(info.value)
    assert "\n" not in str(info.value)


def test_content_type_parameters_are_ignored_and_unknown_formats_rejected():
    assert wire.decode_request(wire.encode_request(X, "json"), "application/json; charset=utf-8", SPEC).shape == (2, 4)
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        wire.content_type("xml")
