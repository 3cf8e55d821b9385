"""The jupyter-book wrapper: how pages are dealt to Sphinx's workers, and how many workers."""

import pytest

from fwbench.book import jb


def test_every_page_is_read_once_and_the_chapters_spread_over_the_batches():
    appendix = [f"chapters/appendix/runs/n{i:02d}" for i in range(48)]
    chapters = [
        "chapters/changes",
        "chapters/claims",
        "chapters/debugging",
        "chapters/eager_vs_graph",
        "chapters/export",
        "chapters/serving",
        "intro",
    ]
    names = sorted(appendix + chapters)
    chunks = jb.dealt_chunks(names, nproc=2)
    assert sorted(n for c in chunks for n in c) == names
    holding = [sum(n in chapters for n in c) for c in chunks]
    assert max(holding) - min(holding) <= 1  # no batch holds all the executed pages
    assert jb.dealt_chunks([], nproc=2) == []
    assert jb.dealt_chunks(["intro"], nproc=4) == [["intro"]]


@pytest.mark.parametrize("wanted, expected", [("3", 3), ("0", None), ("many", None), ("", None)])
def test_workers_from_the_environment_or_the_usable_cpus(monkeypatch, wanted, expected):
    import os

    monkeypatch.setenv("FWBENCH_BOOK_JOBS", wanted)
    assert jb.jobs() == (expected or max(1, min(4, len(os.sched_getaffinity(0)))))
