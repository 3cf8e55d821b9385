"""Runs the `jupyter-book` command line with Sphinx reading (and so executing) pages in parallel processes.

    python -m fwbench.book.jb build ...        # the arguments of `jupyter-book`

Jupyter Book 1.x passes no parallel setting to Sphinx, while most of a build is executing the chapters
(each a kernel that imports pandas and seaborn and reads the store) one after another. The build hands
Sphinx `FWBENCH_BOOK_JOBS` worker processes (default: the usable CPUs, at most 4). Every extension the
book loads declares itself safe for parallel reading except sphinx-multitoc-numbering, which
sphinx-external-toc always loads: it only replaces how section numbers are assigned, which Sphinx does in
the main process after the parallel read, so it is declared safe here (otherwise Sphinx reads serially
and warns, which fails the warnings-as-errors build). Sphinx hands each worker a run of consecutive
page names, which would put every chapter (they sort after the appendix notebooks) in one worker; the
pages are dealt out in turn instead.
"""

from __future__ import annotations

import functools
import os
import sys

#: How long a chapter's kernel may take to answer (nbclient's default is 60 s).
KERNEL_STARTUP_S = 300


def jobs() -> int:
    wanted = os.environ.get("FWBENCH_BOOK_JOBS", "")
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return max(1, min(4, len(os.sched_getaffinity(0))))


def dealt_chunks(names, nproc: int, maxbatch: int = 10) -> list[list]:
    """Sphinx's batches of pages for its workers, each page dealt to the next batch in turn (at least 4 per
    worker), so the executed pages spread over the workers instead of sitting in one batch."""
    if not names:
        return []
    count = min(len(names), max(4 * nproc, -(-len(names) // maxbatch)))
    return [list(names[i::count]) for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    import jupyter_book.cli.main as cli
    import jupyter_book.sphinx
    import sphinx.builders
    import sphinx_multitoc_numbering

    def multitoc_setup(app, _setup=sphinx_multitoc_numbering.setup):
        return {**(_setup(app) or {}), "parallel_read_safe": True, "parallel_write_safe": True}

    sphinx_multitoc_numbering.setup = multitoc_setup
    sphinx.builders.make_chunks = dealt_chunks  # the name the builders' parallel read and write call
    # Kernels start in parallel workers, on a machine that may be busy (a test suite beside the build):
    # give a kernel longer than nbclient's 60 s to answer before the page counts as failed.
    from nbclient import NotebookClient

    def client_init(self, *args, _init=NotebookClient.__init__, **kwargs):
        kwargs.setdefault("startup_timeout", KERNEL_STARTUP_S)
        _init(self, *args, **kwargs)

    NotebookClient.__init__ = client_init

    # The CLI imports build_sphinx from this module when it builds: the one it finds takes our jobs.
    jupyter_book.sphinx.build_sphinx = functools.partial(jupyter_book.sphinx.build_sphinx, jobs=jobs())
    return (
        cli.main(args=list(sys.argv[1:] if argv is None else argv), prog_name="jupyter-book", standalone_mode=False)
        or 0
    )


if __name__ == "__main__":
    sys.exit(main())
