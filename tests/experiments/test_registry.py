"""Mistakes in an experiment folder are named in one line at `plan` time, never found later as a silent gap or a
traceback: a declaration whose name is not its folder's, a metric documented twice differently, a rule whose
claim id claims.yml does not list."""

import pytest

import package_copy

MISTAKES = {
    "notebook parameter": (
        "experiments/porting/notebook.ipynb",
        '"threads = \\"auto\\"\\n",',
        "",
        "experiments/porting/notebook.ipynb: its parameters cell does not declare 'threads'",
    ),
    "name": (
        "experiments/eager_vs_graph/experiment.py",
        'name="eager_vs_graph"',
        'name="eager_vs_graf"',
        "EXPERIMENT.name is 'eager_vs_graf', not the folder's name",
    ),
    "metric": (
        "experiments/eager_vs_graph/metrics.py",
        "METRICS: dict[str, Metric] = {",
        'METRICS: dict[str, Metric] = {\n    "step_time_median_s": Metric("s", "something else"),',
        "metric 'step_time_median_s' is documented twice",
    ),
    "rule id": (
        "experiments/eager_vs_graph/claims.py",
        '@rule(\n    "E1",',
        '@rule(\n    "E99",',
        "a rule for claim 'E99', which fwbench/report/claims.yml does not list",
    ),
}


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    return package_copy.make(tmp_path_factory.mktemp("registry") / "copy")


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_mistake_in_an_experiment_folder_is_one_line_at_plan_time(copy, tmp_path, mistake):
    rel, old, new, message = MISTAKES[mistake]
    path = copy / rel
    original = path.read_text()
    assert old in original
    path.write_text(original.replace(old, new, 1))
    try:
        proc = package_copy.run(copy, "plan", "--profile", "smoke", store=tmp_path / "store")
    finally:
        path.write_text(original)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("fwbench: error:")]
    assert len(lines) == 1 and message in lines[0] and rel in lines[0], proc.stderr


def test_the_notebook_check_knows_every_parameter_the_runner_passes():
    from fwbench.experiments import NOTEBOOK_PARAMETERS
    from fwbench.matrix.profile import load_profile

    job = load_profile("smoke").jobs[0]
    # fwbench.run.runner.execute_job adds where to write the result and the compiler cache.
    assert set(NOTEBOOK_PARAMETERS) == {*job.notebook_parameters(), "output_path", "cache_dir"}
