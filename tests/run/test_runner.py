"""Job keys: what makes a stored result reusable (the runner's papermill runs are tested end to end in test_integration)."""

from fwbench.matrix.profile import parse_profile
from fwbench.run.inputs import job_key

ENV = {"machine_id": "m", "python": "3.11", "packages": {"torch": "2.13.0"}, "environment": {}, "threads": 2}
TOOLS = {"java": "openjdk 17", "tensorflow_model_server": None, "taskset": "taskset 2.38"}


def jobs():
    p = parse_profile({"name": "t", "experiments": {
        "serving": {"frameworks": ["tensorflow"], "variants": ["tf-serving"]},
        "eager_vs_graph": {"frameworks": ["jax"], "variants": ["eager"], "workloads": ["mlp"], "processes": 1}}})
    return {j.experiment: j for j in p.jobs}


def test_installing_a_server_changes_only_the_keys_of_experiments_that_use_it():
    j = jobs()
    installed = {**TOOLS, "tensorflow_model_server": "TensorFlow ModelServer: 2.21.0"}
    assert job_key(j["serving"], ENV, "c", TOOLS) != job_key(j["serving"], ENV, "c", installed)
    assert job_key(j["eager_vs_graph"], ENV, "c", TOOLS) == job_key(j["eager_vs_graph"], ENV, "c", installed)


def test_keys_follow_code_environment_and_parameters():
    j = jobs()["eager_vs_graph"]
    base = job_key(j, ENV, "c", TOOLS)
    assert base == job_key(j, dict(ENV), "c", dict(TOOLS))
    assert base != job_key(j, ENV, "other code", TOOLS)
    assert base != job_key(j, {**ENV, "packages": {"torch": "2.14.0"}}, "c", TOOLS)
    assert base != job_key(j, {**ENV, "threads": 1}, "c", TOOLS)
