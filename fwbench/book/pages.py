"""The book's pages: fixed ones plus one chapter per registered experiment, staged from its folder, and the TOC."""

from __future__ import annotations

from pathlib import Path

import yaml

from fwbench.experiments import registry
from fwbench.paths import REPO, SCRATCH

CHAPTERS = REPO / "chapters"
#: Written at every build from the registry; `jupyter-book build --toc` reads it.
TOC = SCRATCH / "book" / "_toc.yml"
#: Where the appendix's notebook pages are staged, relative to the repository (their pages come and go with the store).
APPENDIX_FOLDER = "chapters/appendix/runs"
#: Pages that are not an experiment's, in the book's order after the experiments.
FIXED = {"Verdicts": ["chapters/claims", "chapters/decision"], "All results": ["chapters/results"],
         "Versions": ["chapters/changes", "chapters/history"], "Method": ["chapters/method"]}


def stage_chapters(dest: Path = CHAPTERS) -> list[Path]:
    """Copy each experiment's `chapter.md` to `chapters/<name>.md` (URLs stay `chapters/<name>.html`).

    A copy with the same text is left alone; a staged chapter whose experiment is gone is removed.
    """
    staged = []
    for name, experiment in registry().items():
        target = dest / f"{name}.md"
        text = experiment.chapter_path.read_text()
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
        staged.append(target)
    fixed = {REPO / f"{page}.md" for pages in FIXED.values() for page in pages}
    for stale in dest.glob("*.md"):  # a chapter of an experiment that is gone
        if stale not in staged and stale not in fixed:
            stale.unlink()
    return staged


def toc() -> dict:
    """The table of contents: the introduction, every experiment's chapter in its declared order, then FIXED."""
    parts = [{"caption": "Experiments", "chapters": [{"file": f"chapters/{name}"} for name in registry()]}]
    parts += [{"caption": caption, "chapters": [{"file": f} for f in files]} for caption, files in FIXED.items()]
    parts.append({"caption": "Appendix", "chapters": [{"file": "chapters/appendix/index",
                                                        "sections": [{"glob": f"{APPENDIX_FOLDER}/*"}]}]})
    return {"format": "jb-book", "root": "intro", "parts": parts}


def page_names(appendix: set[str]) -> set[str]:
    """Every page of the book as Sphinx names it (source path without suffix), given the staged appendix pages."""
    book = toc()
    names = {book["root"]} | {chapter["file"] for part in book["parts"] for chapter in part["chapters"]}
    return names | {f"{APPENDIX_FOLDER}/{page}" for page in appendix}


def write_toc(path: Path = TOC) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# Written by fwbench.book.pages from the experiment registry at every build: do not edit.\n"
    path.write_text(text + yaml.safe_dump(toc(), sort_keys=False))
    return path


def html_pages() -> list[str]:
    """Every page a reader opens from the sidebar (the appendix index, not each notebook), as built HTML paths."""
    pages = ["intro.html", *(f"chapters/{name}.html" for name in registry())]
    pages += [f"{f}.html" for files in FIXED.values() for f in files]
    return pages + ["chapters/appendix/index.html"]
