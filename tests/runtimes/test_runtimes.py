"""The runtime registry: names from files, options after ':', clear errors for unknown names."""

import pytest

from fwbench import exporters, frameworks, runtimes
from fwbench.experiments.serving import hooks as serving_hooks


def test_every_runtime_an_export_path_names_exists():
    for fw in frameworks.names():
        for path, runtime in exporters.paths(fw).items():
            base, _ = runtimes.split(runtime)
            assert base in runtimes.names(), f"{fw} {path} names unknown runtime {runtime!r}"


def test_every_serving_variant_names_a_server_and_a_source_the_adapter_has():
    from fwbench.experiments.serving import servers

    for fw in frameworks.names():
        for variant, how in serving_hooks.variants(fw).items():
            server, _, source = how.partition(":")
            assert server in servers.names(), (fw, variant)
            assert source in frameworks.variants(fw) or source in exporters.paths(fw), (fw, variant)


def test_live_runtime_serves_the_framework_itself(tmp_path):
    import json

    import numpy as np

    from fwbench.workloads import get_workload

    spec = get_workload("mlp")
    artifact = tmp_path / "live.json"
    artifact.write_text(json.dumps({"workload": "mlp", "variant": "jax.jit"}))
    rt = runtimes.get_runtime("live:jax")
    rt.prepare()
    rt.import_runtime()
    run = rt.load(artifact, threads=1)
    x = spec.batch(3, index=1)[0]
    np.testing.assert_allclose(run(x), spec.reference_output(spec.init_weights(), x), atol=1e-4)
    assert rt.version().startswith("jax ")
    with pytest.raises(ValueError, match="framework option"):
        runtimes.get_runtime("live:mxnet").prepare()


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
