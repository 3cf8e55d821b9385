"""The code a job's key covers: its experiment's measuring code, the shared measuring layers and the framework
hooks it uses; never the book's side, the experiment's declaration, or another experiment."""

import pytest

from fwbench.experiments import EXPERIMENTS
from fwbench.paths import REPO
from fwbench.run.jobkey import code_files


def files(experiment: str) -> set[str]:
    e = EXPERIMENTS[experiment]
    return set(code_files(e.measure_module, e.notebook_path))


def test_eager_vs_graph_covers_its_measuring_code_the_adapters_and_the_kernel():
    evg = files("eager_vs_graph")
    # Registries load every member by name: all adapters count; the kernel applies settings first.
    assert {
        "experiments/eager_vs_graph/measure.py",
        "experiments/eager_vs_graph/metrics.py",
        "fwbench/frameworks/torch.py",
        "fwbench/frameworks/jax.py",
        "fwbench/frameworks/tensorflow.py",
        "fwbench/workloads/mlp.py",
        "fwbench/measure/timing.py",
        "fwbench/measure/stats.py",
        "fwbench/run/kernel_launcher.py",
        "fwbench/measure/env.py",
    } <= evg


def test_serving_covers_its_child_processes_plugins_and_the_exporters_it_serves():
    serving = files("serving")
    # A module started as `python -m fwbench.x` (a string) and the server plug-ins count too.
    assert {
        "experiments/serving/frontend.py",
        "experiments/serving/loadgen.py",
        "experiments/serving/servers/torchserve.py",
        "experiments/serving/servers/_torchserve_handler.py",
        "fwbench/runtimes/onnxruntime.py",
        "fwbench/exporters/torch.py",
    } <= serving
    assert {"experiments/debugging/child.py", "experiments/debugging/hooks/jax.py"} <= files("debugging")


@pytest.mark.parametrize("experiment", list(EXPERIMENTS))
def test_a_key_never_covers_the_book_side_the_declaration_or_another_experiment(experiment):
    covered = files(experiment)
    never = [
        p
        for p in covered
        if p.startswith(
            (
                "fwbench/report/",
                "fwbench/book/",
                "fwbench/store/bundle.py",
                "fwbench/cli.py",
                "fwbench/nightly.py",
                "fwbench/matrix/",
            )
        )
    ]
    assert not never, never
    own = REPO / "experiments" / experiment
    book_side = {
        f"experiments/{experiment}/{name}"
        for name in ("tables.py", "plots.py", "claims.py", "chapter.md", "experiment.py")
    }
    assert not covered & book_side
    others = {
        p.relative_to(REPO).as_posix()
        for other in EXPERIMENTS
        if other != experiment
        for p in (REPO / "experiments" / other).rglob("*")
        if p.is_file()
    }
    assert not covered & others, sorted(covered & others)
    assert f"experiments/{experiment}/measure.py" in covered and own.is_dir()


def test_code_files_differ_per_experiment_and_are_stable():
    assert files("eager_vs_graph") == files("eager_vs_graph")
    assert len({frozenset(files(e)) for e in EXPERIMENTS}) == len(EXPERIMENTS)
