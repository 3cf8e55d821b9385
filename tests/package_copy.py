"""A throwaway copy of the project (package, profiles, book pages) to edit and run from, as a contributor would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from fwbench.paths import REPO

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "runs")


def make(dest: Path) -> Path:
    """Copy what `python -m fwbench` needs to run and build the book; MathJax is linked, not copied."""
    for folder in ("fwbench", "profiles", "chapters"):
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
    return {p.name for p in (REPO / "fwbench" / "experiments").iterdir() if (p / "experiment.py").is_file()}


def run(copy: Path, *args: str, store: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """`python -m fwbench --store STORE ARGS` with the copy's package first on the path."""
    env = {**os.environ, "PYTHONPATH": str(copy), "FWBENCH_STORE": str(store)}
    return subprocess.run([sys.executable, "-m", "fwbench", "--store", str(store), *args], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=timeout)
