"""Every conversion really run: each layer kind trained one step in each source framework and moved into the other
two, on tiny layers; the naive copy beside it; the ONNX route on one layer; the line count and the step kinds."""

import pytest

from fwbench.experiments.porting import converters, measure
from fwbench.experiments.porting.layers import FRAMEWORKS, KINDS, LAYOUT, same_pads, step_kind, straightforward

TINY = measure.Params(train_steps=1, train_batch=4, parity_batch=2)


def test_every_kind_and_pair_has_a_converter_with_known_step_kinds():
    assert converters.missing() == []
    assert len(converters.CONVERTERS) == len(KINDS) * 6
    for conv in converters.CONVERTERS.values():
        assert all(step_kind(s) for s in conv.steps) and conv.lines >= 1


def test_logical_lines_count_statements_not_physical_lines_or_docstrings():
    def sample(w, s):
        """A docstring is not a line of conversion."""
        # nor is a comment
        a = {"x": w["y"].T, "z": w["z"]}
        if a:
            a["q"] = 1
        return a, {}

    assert converters.logical_lines(sample) == 4


def test_straightforward_means_layout_kinds_only():
    assert straightforward([]) and straightforward([f"{k}: x" for k in LAYOUT])
    assert not straightforward(["transpose: x", "epsilon: 1e-3"])
    with pytest.raises(ValueError, match="unknown transformation kind"):
        step_kind("magic: x")


def test_same_padding_is_asymmetric_at_stride_two_on_even_sizes():
    assert same_pads(8, 3, 2) == (0, 1) and same_pads(9, 3, 2) == (1, 1) and same_pads(8, 3, 1) == (1, 1)


@pytest.mark.parametrize("source", FRAMEWORKS)
def test_every_conversion_from_a_source_matches_it(source):
    result = measure.port_all(source, "weights", TINY)
    assert len(result["attempts"]) == len(KINDS) * 2
    bad = [
        (a["layer"], a["target"], a.get("error") or a.get("max_abs_err"))
        for a in result["attempts"]
        if a["outcome"] != "matches"
    ]
    assert bad == []
    assert all(c["passed"] for c in result["checks"]), [c for c in result["checks"] if not c["passed"]]
    assert {a["naive"]["outcome"] for a in result["attempts"]} <= {"matches", "silent-wrong", "refused", "error"}
    metrics = {r["metric"] for r in result["records"]}
    assert {
        "port_ok",
        "naive_ok",
        "naive_silent_wrong",
        "transformations",
        "conversion_lines",
        "straightforward",
        "max_abs_err",
    } <= metrics
    assert {(r["workload"], r["mode"], r["variant"]) for r in result["records"]} == {
        (k, t, "weights") for k in KINDS for t in FRAMEWORKS if t != source
    }


def test_a_forgotten_transpose_on_a_square_kernel_is_silent_and_is_caught():
    """By construction: torch's (out, in) kernel copied into Keras's (in, out) slot fits (square) and is wrong."""
    src = measure.train_source("torch", "dense", TINY)
    assert measure.naive_copy(src, "tensorflow", TINY)["outcome"] == "silent-wrong"
    assert measure.naive_copy(src, "tensorflow", TINY)["passed"] is False


def test_a_converter_that_leaves_an_array_behind_is_a_stored_failure(monkeypatch):
    def forgets_the_bias(w, s):
        return {"linear/kernel": w["0.weight"].T}, {"gelu_approximate": False}

    conv = converters.get("dense", "torch", "jax")
    monkeypatch.setitem(
        converters.CONVERTERS,
        ("dense", "torch", "jax"),
        converters.Converter("dense", "torch", "jax", conv.steps, forgets_the_bias),
    )
    src = measure.train_source("torch", "dense", TINY)
    a = measure.port_one("torch", src, "jax", TINY)
    assert a["outcome"] == "fails" and "linear/bias" in a["error"]["message"]


def test_the_onnx_route_stores_each_target_and_a_missing_converter_as_a_finding(tmp_path):
    result = measure.port_all(
        "torch",
        "onnx",
        measure.Params(layers=("conv2d",), train_steps=1, train_batch=4, parity_batch=2),
        scratch=tmp_path,
    )
    by_target = {a["target"]: a for a in result["attempts"]}
    assert set(by_target) == {"tensorflow", "jax"}
    for a in by_target.values():
        assert a["route"] == "onnx" and a["outcome"] in ("matches", "differs", "fails")
        if a.get("stage") == "converter":
            assert a["finding"].startswith("converter not installable here") and a["error"]["type"]
    assert {r["metric"] for r in result["records"]} >= {"port_ok", "onnx_export_ok"}
