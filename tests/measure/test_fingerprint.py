"""The fingerprint records what could explain a number, and the machine id is stable."""

from fwbench.measure import fingerprint


def test_fingerprint_has_what_explains_a_number():
    fp = fingerprint.collect()
    hw = fp["hardware"]
    assert hw["cpu_model"] and hw["logical_cpus"] >= 1 and hw["usable_cpus"] >= 1
    assert hw["memory_bytes"] and hw["memory_bytes"] > 0
    assert isinstance(hw["gpus"], list)
    assert fp["python"]["version"].count(".") == 2
    for pkg in ("torch", "jax", "numpy", "papermill"):
        assert pkg in fp["packages"]
    assert "commit" in fp["fwbench"]
    assert fp["machine_id"] == fingerprint.machine_id(fingerprint.hardware())
    # Programs outside Python the serving experiment looks for: a version line, or None where absent.
    assert set(fp["tools"]) == set(fingerprint.TOOLS)
    assert all(v is None or (isinstance(v, str) and v) for v in fp["tools"].values())


def test_unrelated_look_alike_variables_are_not_recorded(monkeypatch):
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", "/x")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    env = fingerprint.collect()["environment"]
    assert "TF_CLI_CONFIG_FILE" not in env and env["OMP_NUM_THREADS"] == "3"


def test_fingerprint_records_the_precision_and_thread_policy():
    from fwbench.frameworks.base import INTER_OP_THREADS, MATMUL_PRECISION

    numerics = fingerprint.collect()["numerics"]
    assert numerics["matmul_precision"] == MATMUL_PRECISION
    assert numerics["inter_op_threads"] == INTER_OP_THREADS
    assert "float32" in numerics["meaning"]
