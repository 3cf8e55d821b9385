"""Executors: the local path never imports Ray, a profile's pins name hardware classes (checked, one line each), and
`plan` says which class each pinned job needs. (Jobs on a real Ray cluster: test_ray_executor.py.)"""

import subprocess
import sys

import pytest

from fwbench.errors import MatrixError
from fwbench.matrix.profile import parse_profile
from fwbench.run.plan import Planned, describe

BLOCKS = {
    "eager_vs_graph": {
        "frameworks": ["jax"],
        "variants": ["eager"],
        "workloads": ["mlp"],
        "processes": 1,
        "devices": ["cpu", "cuda"],
    },
    "debugging": {"frameworks": ["jax"], "variants": ["none"], "processes": 1},
}


def test_the_local_path_never_imports_ray():
    code = (
        "import sys, fwbench.cli, fwbench.nightly, fwbench.run.runner, fwbench.run.plan, fwbench.run.executor\n"
        "from fwbench.cli import parser, _executor\n"
        "args = parser().parse_args(['run', '--profile', 'smoke'])\n"
        "assert _executor(args, None) is None\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_pins_give_each_job_the_classes_that_may_run_it():
    jobs = parse_profile(
        {
            "name": "t",
            "experiments": BLOCKS,
            "pins": {
                "devices": {"cuda": ["gpu-h100", "gpu-a100"]},
                "experiments": {"eager_vs_graph": ["gpu-h100", "cpu-epyc"]},
            },
        },
        gpu=True,
    ).jobs
    classes = {(j.experiment, j.device): j.classes for j in jobs}
    assert classes == {
        ("eager_vs_graph", "cpu"): ("cpu-epyc", "gpu-h100"),
        ("eager_vs_graph", "cuda"): ("gpu-h100",),
        ("debugging", "cpu"): (),
    }
    # Where a job runs is not what it runs: pins change no job id (nor key, made from the same parameters).
    plain = parse_profile({"name": "t", "experiments": BLOCKS}, gpu=True).jobs
    assert [j.job_id for j in jobs] == [j.job_id for j in plain]


def test_devices_auto_expands_from_the_view_it_is_given():
    spec = {"name": "t", "experiments": {"eager_vs_graph": {**BLOCKS["eager_vs_graph"], "devices": ["auto"]}}}
    assert {j.device for j in parse_profile(spec, gpu=True).jobs} == {"cpu", "cuda"}
    assert {j.device for j in parse_profile(spec, gpu=False).jobs} == {"cpu"}


@pytest.mark.parametrize(
    "pins, says",
    [
        ("gpu", "pins: expected a mapping"),
        ({"nodes": {}}, "pins.nodes: unknown key"),
        ({"devices": {"auto": ["x"]}}, "pins.devices.auto: unknown device"),
        ({"experiments": {"serving": ["x"]}}, "pins.experiments.serving: unknown experiment"),
        ({"devices": {"cuda": []}}, "expected a non-empty list of hardware classes"),
        ({"devices": {"cuda": ["gpu:h100"]}}, "expected a non-empty list of hardware classes"),
        (
            {"devices": {"cuda": ["gpu-h100"]}, "experiments": {"eager_vs_graph": ["cpu-epyc"]}},
            "eager_vs_graph on cuda: its experiment's and its device's pins share no hardware class",
        ),
    ],
)
def test_bad_pins_are_refused_in_one_line(pins, says):
    with pytest.raises(MatrixError) as refused:
        parse_profile({"name": "t", "experiments": BLOCKS, "pins": pins}, gpu=True)
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_plan_names_the_class_of_each_job_once_a_profile_pins_any():
    jobs = parse_profile(
        {"name": "t", "experiments": BLOCKS, "pins": {"devices": {"cuda": ["gpu-h100"]}}}, gpu=True
    ).jobs
    lines = describe([Planned(j, "run", "new") for j in jobs])
    assert sum("(class gpu-h100)" in line for line in lines) == 1 and sum("(class any)" in line for line in lines) == 2
    assert not any(
        "(class" in line
        for line in describe(
            [Planned(j, "run", "new") for j in parse_profile({"name": "t", "experiments": BLOCKS}).jobs]
        )
    )


def test_the_ray_executor_is_refused_without_an_address(monkeypatch):
    from fwbench.cli import main

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert main(["run", "--profile", "smoke", "--executor", "ray"]) == 2
    assert main(["run", "--profile", "smoke", "--address", "127.0.0.1:6379"]) == 2
