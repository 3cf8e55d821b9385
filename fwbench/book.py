"""Builds the Jupyter Book from the current store: stages executed notebooks for the appendix, then runs jupyter-book."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from fwbench.fingerprint import git_commit
from fwbench.kernel import jupyter_env
from fwbench.report import Report
from fwbench.runner import SCRATCH

REPO = Path(__file__).resolve().parent.parent
APPENDIX_RUNS = REPO / "chapters" / "appendix" / "runs"
MATHJAX = SCRATCH / "static" / "mathjax" / "tex-chtml.js"


class BookError(RuntimeError):
    pass


def report_version() -> str:
    """Date plus the project's commit, stamped on every build."""
    commit = git_commit()
    short = commit["commit"][:10] + ("+dirty" if commit.get("dirty") else "")
    return f"{dt.date.today().isoformat()} ({short})"


def stage_appendix(report: Report, dest: Path = APPENDIX_RUNS) -> int:
    """Copy the executed notebook behind every result the book shows into the appendix, titled."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    count = 0
    for run, job in report.latest:
        src = run.notebook(job["job_id"])
        if not src.is_file():
            continue
        nb = nbformat.read(src, as_version=4)
        title = (f"# {job['framework']} {job['variant']}: {job['workload']} on {job['device']} "
                 f"({run.manifest['machine_label']})\n\nRun `{run.run_id}`, status **{job['status']}**. "
                 "This is the notebook exactly as papermill executed it.")
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(title))
        for i, cell in enumerate(nb.cells):  # fresh ids: the inserted cell must not collide
            cell["id"] = f"fwbench-{i}"
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{run.manifest['machine_id']}-{job['job_id']}") + ".ipynb"
        nbformat.write(nb, dest / name)
        count += 1
    return count


def build(out: Path = REPO, store_root: Path | None = None, builder: str = "html") -> Path:
    """Build the book into `out/_build/<builder>`; return the index page."""
    if not MATHJAX.is_file():
        raise BookError(f"{MATHJAX} is missing: run `make setup` (MathJax is served locally, not from a CDN)")
    env = dict(os.environ)
    if store_root is not None:
        env["FWBENCH_STORE"] = str(Path(store_root).resolve())
    env.update(jupyter_env(SCRATCH / "jupyter"))
    env["FWBENCH_REPORT_VERSION"] = report_version()
    env.pop("MPLBACKEND", None)  # a non-inline backend would silently drop every figure

    report = Report.load(store_root)
    stage_appendix(report)
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", "--all", "-W", "-n", "--keep-going",
           "--builder", builder, "--path-output", str(Path(out).resolve()), str(REPO)]
    proc = subprocess.run(cmd, env=env, cwd=REPO)
    if proc.returncode != 0:
        raise BookError(f"jupyter-book build failed (exit {proc.returncode}); see the log above")
    index = Path(out).resolve() / "_build" / builder / "index.html"
    return index
