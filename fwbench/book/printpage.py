"""The page the nightly's PDF is printed from: the single-page book without the executed notebooks themselves, which
are most of its bytes and of Chromium's time (they stay in the HTML book's appendix and in the store)."""

from __future__ import annotations

import re
from pathlib import Path

#: Where Sphinx's single-page builder starts each executed notebook of the appendix: an anchor, then its section.
_NOTEBOOK = re.compile(r'<span id="document-chapters/appendix/runs/[^"]*"></span>')
_TAG = re.compile(r"<(/?)(section|div)\b")
_APPENDIX_HEADING = re.compile(r'id="appendix-the-executed-notebooks">\s*<h\d>.*?</h\d>', re.S)
_REFRESH = re.compile(r'<meta http-equiv="refresh" content="0; url=([^"]+)"', re.I)

NOTE = (
    "<p><strong>In this PDF the notebooks themselves are left out:</strong> the table lists every one of them, "
    "and the HTML book's appendix shows each as it ran.</p>"
)


def _notebook_end(html: str, start: int, next_anchor: int) -> int:
    """Where the notebook that starts at `start` ends: at the next notebook's anchor, or at the first closing tag
    that closes what encloses it (a notebook is its title section plus its own sections, side by side)."""
    depth = 0
    for tag in _TAG.finditer(html, start, next_anchor):
        depth += -1 if tag.group(1) else 1
        if depth < 0:
            return tag.start()
    return next_anchor


def without_notebooks(html: str) -> tuple[str, int]:
    """The page with every appendix notebook cut out and a note in their place; how many were cut."""
    anchors = [m.start() for m in _NOTEBOOK.finditer(html)]
    pieces, at = [], 0
    for i, start in enumerate(anchors):
        pieces.append(html[at:start])
        at = _notebook_end(html, start, anchors[i + 1] if i + 1 < len(anchors) else len(html))
    page = "".join(pieces) + html[at:]
    if anchors:
        page = _APPENDIX_HEADING.sub(lambda m: m.group(0) + NOTE, page, count=1)
    return page, len(anchors)


def print_page(single: Path) -> Path:
    """`print.html` beside the single-page build's page (`single`, or the page its index redirects to), made for
    printing: the notebooks cut out. Its links and assets resolve as the original's do."""
    single = Path(single)
    text = single.read_text(encoding="utf-8")
    target = _REFRESH.search(text)
    if target and "/" not in target.group(1):
        single = single.parent / target.group(1)
        text = single.read_text(encoding="utf-8")
    page, _ = without_notebooks(text)
    out = single.parent / "print.html"
    out.write_text(page, encoding="utf-8")
    return out
