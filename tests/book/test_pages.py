"""The book's pages and its committed table of contents, generated from the experiment registry."""

import os
import subprocess
import sys
from pathlib import Path

from fwbench.book import guard, pages
from fwbench.paths import REPO


def test_the_committed_toc_is_the_registrys():
    """_toc.yml is committed like a lock file: when an experiment is added or its order changes, `make toc`
    (or any book build) writes it again, and this test says so until it is committed."""
    assert pages.TOC == REPO / "_toc.yml"
    assert pages.TOC.read_text() == pages.toc_text(), "_toc.yml is out of date: run `make toc` and commit it"
    for name in ("intro", "chapters/eager_vs_graph", "chapters/decision"):
        assert name in pages.toc_text()


def test_jupyter_book_started_by_hand_stops_with_one_line(tmp_path):
    """`jupyter-book build .` at the root builds no half book: it says which command builds it, and exits 2."""
    env = {k: v for k, v in os.environ.items() if k != guard.MARK}
    jupyter_book = Path(sys.executable).parent / "jupyter-book"  # the command a reader types, from this venv
    proc = subprocess.run(
        [str(jupyter_book), "build", ".", "--path-output", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    fwbench_lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("fwbench:")]
    assert proc.returncode == 2 and fwbench_lines == [guard.MESSAGE]
    assert not (tmp_path / "_build" / "html" / "index.html").exists()


def test_no_page_types_the_equivalence_margin():
    """The margin is a constant of the statistics (stats.EQUIVALENCE_MARGIN): a page that types "±5%" goes stale
    the day it changes, so every page writes it from the constant."""
    import re

    sources = [
        REPO / "intro.md",
        *sorted((REPO / "chapters").glob("*.md")),
        *sorted((REPO / "experiments").glob("*/chapter.md")),
    ]
    typed = [
        f"{p.relative_to(REPO)}: {m.group(0)}"
        for p in sources
        for m in re.finditer(r"±\s*\d+(\.\d+)?\s*%", p.read_text())
    ]
    assert typed == []
