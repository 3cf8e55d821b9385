"""Deletes what earlier builds left behind: the files of pages the book no longer has, and figures no page shows.

Sphinx drops a page whose source is gone from its index and search, but leaves the page's files where they were,
and never deletes a figure it copied. Over an older book, a job measured again or no longer readable kept its old
notebook page, with its old numbers, at its old address; so did the chapter of an experiment that was removed or
renamed, and the figures of both stayed in `_images/`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

#: The builders' common folders under `_build`; every other folder there is one builder's output.
SHARED = ("jupyter_execute", ".doctrees")

#: Where the build lists the pages it made, so the next build knows which of its files are pages.
RECORD = ".fwbench-pages.json"

#: What the builders name a page's files: <page>.html, its source copy (.md, .ipynb, or either plus .txt), its
#: executed notebook (.ipynb) and its doctree.
_PAGE_FILE = re.compile(r"(?P<page>.+?)\.(?:html|ipynb|ipynb\.txt|md|md\.txt|doctree)")

#: A figure's address in a built page: Sphinx copies every figure into `_images/` under a name of its own.
IMAGE_REF = re.compile(r"_images/([^\"'\s)?#]+)")


def page_of(filename: str) -> str | None:
    """The page an output file belongs to (its name without suffix), or None for a file not named after a page."""
    match = _PAGE_FILE.fullmatch(filename)
    return match["page"] if match else None


def page_folders(build_dir: Path, folder: str) -> list[Path]:
    """Every folder under `build_dir` (an `_build`) where the builds write the files of pages in source `folder`."""
    folders = [build_dir / name / folder for name in SHARED]
    for builder in sorted(build_dir.iterdir()) if build_dir.is_dir() else ():
        if builder.is_dir() and builder.name not in SHARED:
            folders += [builder / folder, builder / "_sources" / folder]
    return folders


def remove_stale_pages(build_dir: Path, pages: set[str], churning: tuple[str, ...] = ()) -> list[Path]:
    """Delete the files earlier builds in `build_dir` wrote for pages not in `pages` (page names as Sphinx knows
    them, e.g. `chapters/serving`); then record `pages` for the next build. Return what was deleted.

    A page is stale if the previous build listed it and this one does not. In each `churning` folder (the
    appendix, whose pages come and go with the store) every page-named file counts, listed or not: a book built
    before the list existed has stale pages there too. A file not named after a page is left alone.
    """
    record = build_dir / RECORD
    try:
        previous = {str(p) for p in json.loads(record.read_text())}
    except (OSError, ValueError, TypeError):  # no book yet, or a list this code did not write
        previous = set()
    listed = {PurePosixPath(p) for p in previous - pages}
    listed = {p for p in listed if p.name and ".." not in p.parts and not p.is_absolute()}
    folders = sorted({str(p.parent) for p in listed} | set(churning))
    stale = {str(p) for p in listed}
    removed = []
    for folder in folders:
        for where in page_folders(build_dir, folder):
            for path in sorted(where.glob("*")) if where.is_dir() else ():
                name = page_of(path.name)
                page = name if folder == "." else f"{folder}/{name}"
                if path.is_file() and name is not None and page not in pages and (folder in churning or page in stale):
                    path.unlink()
                    removed.append(path)
    if build_dir.is_dir():
        record.write_text(json.dumps(sorted(pages)))
    return removed


def remove_unshown_images(builder_dir: Path) -> list[Path]:
    """Delete the figures in `builder_dir/_images` that no built page of that builder shows; return them."""
    images = builder_dir / "_images"
    if not images.is_dir():
        return []
    shown = set()
    for page in builder_dir.rglob("*.html"):
        shown.update(IMAGE_REF.findall(page.read_text(errors="replace")))
    removed = []
    for path in sorted(images.iterdir()):
        if path.is_file() and path.name not in shown:
            path.unlink()
            removed.append(path)
    return removed
