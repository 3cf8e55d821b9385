"""Stops a book build that fwbench did not start (`jupyter-book build .`), with one line saying what to run.

The book's pages are staged from the store and the experiment registry by `python -m fwbench book` (chapters copied
from experiments/, executed notebooks cleaned into the appendix, the current version's manifest for "what changed")
before Jupyter Book runs. Started directly, Jupyter Book would build a half book from whatever an earlier build left,
silently; this Sphinx extension, listed in _config.yml, refuses instead.
"""

from __future__ import annotations

import os
import sys

#: Set by fwbench.book.build for the Jupyter Book process it starts.
MARK = "FWBENCH_BOOK_BUILD"
MESSAGE = (
    "fwbench: this book is built from the results store: run `python -m fwbench book` (or `make book`; "
    "`make report` measures first), not `jupyter-book build .` alone, which would miss the staged chapters"
)


def setup(app):
    if os.environ.get(MARK) != "1":
        # SystemExit, not a Sphinx error: Jupyter Book would wrap that in two tracebacks.
        print(MESSAGE, file=sys.stderr)
        raise SystemExit(2)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
