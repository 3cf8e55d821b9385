"""The runtime registry: names from files, options after ':', clear errors for unknown names."""

import pytest

from fwbench import frameworks, runtimes


def test_every_runtime_an_export_path_names_exists():
    for fw in frameworks.names():
        for path, runtime in frameworks.export_paths(fw).items():
            base, _ = runtimes.split(runtime)
            assert base in runtimes.names(), f"{fw} {path} names unknown runtime {runtime!r}"


def test_split_and_option():
    assert runtimes.split("keras:jax") == ("keras", "jax")
    assert runtimes.split("onnxruntime") == ("onnxruntime", None)
    assert runtimes.get_runtime("keras:jax").option == "jax"


def test_unknown_runtime_is_a_key_error_naming_the_known_ones():
    with pytest.raises(KeyError, match="unknown runtime 'nope'; known: .*onnxruntime"):
        runtimes.get_runtime("nope")


def test_keras_needs_a_known_backend():
    with pytest.raises(ValueError, match="backend option"):
        runtimes.get_runtime("keras:mxnet").prepare()
