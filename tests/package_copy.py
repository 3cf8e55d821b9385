"""A throwaway copy of the project (package, profiles, book pages) to edit and run from, as a contributor would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from fwbench.paths import REPO

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "runs")


def make(dest: Path) -> Path:
    """Copy what `python -m fwbench` needs to run and build the book; MathJax is linked, not copied."""
    for folder in ("fwbench", "experiments", "profiles", "chapters"):
        shutil.copytree(REPO / folder, dest / folder, ignore=_IGNORE)
    for name in _experiment_names():  # chapters an earlier build staged: the copy stages its own
        (dest / "chapters" / f"{name}.md").unlink(missing_ok=True)
    for name in ("_config.yml", "intro.md", "pyproject.toml"):
        shutil.copy2(REPO / name, dest / name)
    static = REPO / ".fwbench" / "static"
    if static.is_dir():
        (dest / ".fwbench").mkdir()
        (dest / ".fwbench" / "static").symlink_to(static)
    return dest


def _experiment_names() -> set[str]:
    return {p.name for p in (REPO / "experiments").iterdir() if (p / "experiment.py").is_file()}


def env(copy: Path, store: Path) -> dict:
    """The environment of a `python -m fwbench` run from the copy: its package first on the path, and a temporary
    folder of its own, hence a runner lock of its own (fwbench.run.runner takes it in the temporary folder).

    The copy also has its own scratch folder (kernels, caches, in-flight notebooks), so a runner started here
    shares nothing with one started from the project: tests that measure nothing run beside the end-to-end test
    (scripts/run_tests.py) instead of queueing behind it for the machine's lock.
    """
    tmp = copy / ".tmp"
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "PYTHONPATH": str(copy), "FWBENCH_STORE": str(store), "TMPDIR": str(tmp)}


def command(store: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "fwbench", "--store", str(store), *args]


def run(copy: Path, *args: str, store: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """`python -m fwbench --store STORE ARGS` from the copy (see `env`)."""
    return subprocess.run(
        command(store, *args), cwd=copy, env=env(copy, store), capture_output=True, text=True, timeout=timeout
    )


def _notebook_cells(name: str) -> list[tuple[str, list[str]]]:
    """(source, tags) of an experiment notebook as CONTRIBUTING.md's recipe writes it: parameters, process settings,
    the job, save."""
    return [
        (
            'framework = "torch"\ndevice = "cpu"\nworkload = "numbers"\nvariant = "sum"\nthreads = "auto"\n'
            'process = 0\nparams = {}\noutput_path = ""\ncache_dir = ""',
            ["parameters"],
        ),
        ("from fwbench.measure import env\n\nsettings = env.apply(threads=threads, cache_dir=cache_dir or None)", []),
        (
            f"from fwbench.experiments.{name} import measure\nfrom fwbench.measure.job import execute\n\n"
            "result = execute(measure, settings, framework, device, workload, variant, process, params)",
            [],
        ),
        (
            "from fwbench.files import write_json_atomic\n\nif output_path:\n    write_json_atomic(output_path, result)",
            [],
        ),
    ]


def recipe_notebook(name: str) -> str:
    """The notebook CONTRIBUTING.md's recipe asks for, as the file's text: parameters, settings, the job, save."""
    cells = [
        {
            "cell_type": "code",
            "id": f"c{i}",
            "metadata": {"tags": tags},
            "execution_count": None,
            "outputs": [],
            "source": source,
        }
        for i, (source, tags) in enumerate(_notebook_cells(name))
    ]
    return json.dumps(
        {
            "cells": cells,
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {"kernelspec": {"display_name": "fwbench", "language": "python", "name": "fwbench"}},
        }
    )


def add_experiment(copy: Path, name: str, files: dict[str, str]) -> Path:
    """A new experiment folder in the copy holding `files` (name -> text), and the recipe's notebook unless `files`
    brings its own."""
    folder = copy / "experiments" / name
    folder.mkdir()
    for filename, text in {"notebook.ipynb": recipe_notebook(name), **files}.items():
        (folder / filename).write_text(text)
    return folder
