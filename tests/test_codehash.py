"""The code a job's key covers: its experiment's measuring code, not the book's."""

from pathlib import Path

from fwbench.codehash import used_files
from fwbench.experiments import EXPERIMENTS
from fwbench.runner import code_hash

PKG = Path(__file__).resolve().parent.parent / "fwbench"


def names(experiment):
    e = EXPERIMENTS[experiment]
    from fwbench.codehash import ALWAYS, _notebook_imports
    files = used_files({e.params.__module__, *ALWAYS, *_notebook_imports(e.notebook_path)})
    return {p.relative_to(PKG).as_posix() for p in files}


def test_each_experiment_covers_its_measuring_code_and_not_the_book():
    evg = names("eager_vs_graph")
    # Registries load every member by name: all adapters count; the kernel applies settings first.
    assert {"experiments/eager_vs_graph.py", "frameworks/torch.py", "frameworks/jax.py", "frameworks/tensorflow.py",
            "workloads/mlp.py", "timing.py", "stats.py", "kernel_launcher.py", "env.py"} <= evg
    for book_side in ("report.py", "plots.py", "claims.py", "book.py", "bundle.py", "versions.py", "cli.py",
                      "experiments/serving.py", "frontend.py"):
        assert book_side not in evg, book_side
    serving = names("serving")
    # A module started as `python -m fwbench.x` (a string) and the server plug-ins count too.
    assert {"frontend.py", "loadgen.py", "servers/torchserve.py", "servers/_torchserve_handler.py",
            "runtimes/onnxruntime.py", "export_child.py"} <= serving
    assert "debug_child.py" in names("debugging")


def test_code_hash_differs_per_experiment_and_is_stable():
    assert code_hash("eager_vs_graph") == code_hash("eager_vs_graph")
    assert len({code_hash(e) for e in EXPERIMENTS}) == len(EXPERIMENTS)
