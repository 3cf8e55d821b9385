"""How big a built book is, and where its bytes go: a reader downloads it, a CI job archives it every night."""

from __future__ import annotations

from pathlib import Path

#: The book built from a quick run plus the committed references stays under this (issue 37): MathJax, the
#: appendix notebooks and the screenshots are most of it, each kept small on purpose.
TARGET_BYTES = 25 * 2**20


def parts(html_dir: Path, depth: int = 2) -> dict[str, int]:
    """Bytes per folder (or file) down to `depth` levels below the book's root, largest first."""
    html_dir = Path(html_dir)
    out: dict[str, int] = {}
    for path in html_dir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            rel = path.relative_to(html_dir).parts
            key = "/".join(rel[:depth]) if len(rel) > depth else "/".join(rel)
            out[key] = out.get(key, 0) + path.stat().st_size
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def total(html_dir: Path) -> int:
    return sum(p.stat().st_size for p in Path(html_dir).rglob("*") if p.is_file() and not p.is_symlink())


def size_line(html_dir: Path, top: int = 3) -> str:
    """'book: 21.0 MB (target 25 MB); largest: _static/mathjax 7.8 MB, ...' with a warning word when over it."""
    size = total(html_dir)
    largest = ", ".join(f"{k} {v / 2**20:.1f} MB" for k, v in list(parts(html_dir).items())[:top])
    over = "OVER the target: " if size > TARGET_BYTES else ""
    return f"book: {size / 2**20:.1f} MB ({over}target {TARGET_BYTES / 2**20:.0f} MB)" + (
        f"; largest: {largest}" if largest else ""
    )


def strip_source_maps(html_dir: Path) -> int:
    """Delete the themes' source maps (`*.map` under _static: 3.4 MB of a 28 MB book) and return the bytes freed.
    Only a developer's tools ever fetch them, to show the themes' own sources; a reader's browser never does."""
    freed = 0
    for path in Path(html_dir, "_static").rglob("*.map"):
        if path.is_file() and not path.is_symlink():
            freed += path.stat().st_size
            path.unlink()
    return freed
