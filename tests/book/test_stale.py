"""What earlier builds left behind: files of pages the book no longer has, and figures no page shows, are deleted."""

import json

from fwbench.book import pages, stale

APPENDIX = pages.APPENDIX_FOLDER

#: Where the builders put a page's files (relative to `_build`), in the forms each writes.
FILES = {
    "html/{d}": ["{p}.html"],
    "html/_sources/{d}": ["{p}.ipynb", "{p}.ipynb.txt", "{p}.md"],
    "jupyter_execute/{d}": ["{p}.ipynb"],
    ".doctrees/{d}": ["{p}.doctree"],
    "singlehtml/{d}": ["{p}.html"],
}


def built(root, folder, *names):
    """Write every file the builders write for pages `names` of source folder `folder`; return their paths."""
    paths = []
    for where, patterns in FILES.items():
        for name in names:
            for pattern in patterns:
                path = root / where.format(d=folder) / pattern.format(p=name)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("x")
                paths.append(path)
    return paths


def files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != stale.RECORD)


def test_an_appendix_page_no_longer_staged_loses_every_file_even_without_a_record_of_earlier_builds(tmp_path):
    kept, gone = (f"m-eager_vs_graph-jax-cpu-mlp-eager_jax.jit-3465ae-p{p}" for p in (0, 1))
    keep = built(tmp_path, APPENDIX, kept)
    drop = built(tmp_path, APPENDIX, gone)
    figure = tmp_path / "html" / APPENDIX / "figure_0_1.png"  # not named after a page: not the build's to judge
    figure.write_text("x")
    removed = stale.remove_stale_pages(tmp_path, {f"{APPENDIX}/{kept}"}, churning=(APPENDIX,))
    assert sorted(removed) == sorted(drop)
    assert files(tmp_path) == sorted(str(p.relative_to(tmp_path)) for p in [*keep, figure])
    assert stale.remove_stale_pages(tmp_path / "nothing-built-yet", {kept}) == []


def test_a_chapter_the_last_build_had_and_this_one_lacks_is_deleted_and_nothing_else_outside_the_appendix(tmp_path):
    """A removed or renamed experiment's chapter leaves the book; pages no build listed are not the build's."""
    built(tmp_path, "chapters", "serving", "old_experiment", "claims")
    built(tmp_path, ".", "intro", "search")  # search.html: Sphinx's own page, never listed
    before = {"intro", "chapters/serving", "chapters/old_experiment", "chapters/claims"}
    assert stale.remove_stale_pages(tmp_path, before) == []  # the first build with a record: nothing to compare
    assert json.loads((tmp_path / stale.RECORD).read_text()) == sorted(before)
    left = files(tmp_path)
    removed = stale.remove_stale_pages(tmp_path, before - {"chapters/old_experiment"})
    assert removed and all(p.name.startswith("old_experiment.") for p in removed)
    assert files(tmp_path) == [f for f in left if "old_experiment." not in f]
    assert "html/search.html" in files(tmp_path)


def test_a_record_naming_paths_outside_the_build_or_not_a_list_of_names_deletes_nothing_outside_it(tmp_path):
    outside = tmp_path / "precious.html"
    outside.write_text("x")
    build = tmp_path / "_build"
    built(build, "chapters", "serving")
    (build / stale.RECORD).write_text(json.dumps(["../precious", "/etc/passwd", "chapters/../../precious"]))
    assert stale.remove_stale_pages(build, {"chapters/serving"}) == []
    (build / stale.RECORD).write_text("{not json")
    assert stale.remove_stale_pages(build, {"chapters/serving"}) == []
    assert outside.is_file() and len(files(build)) == len(FILES) + 2  # html/_sources holds three forms


def test_figures_no_built_page_shows_are_deleted_and_every_shown_one_kept(tmp_path):
    html = tmp_path / "html"
    (html / "_images").mkdir(parents=True)
    for name in ("shown-in-chapter.png", "shown-in-appendix.svg", "orphan.png"):
        (html / "_images" / name).write_text("x")
    (html / "chapters" / "appendix" / "runs").mkdir(parents=True)
    (html / "chapters" / "serving.html").write_text('<img alt="" src="../_images/shown-in-chapter.png" />')
    (html / "chapters" / "appendix" / "runs" / "p.html").write_text(
        "<img src='../../../_images/shown-in-appendix.svg?v=1'>"
    )
    removed = stale.remove_unshown_images(html)
    assert [p.name for p in removed] == ["orphan.png"]
    assert sorted(p.name for p in (html / "_images").iterdir()) == ["shown-in-appendix.svg", "shown-in-chapter.png"]
    assert stale.remove_unshown_images(tmp_path / "no-book") == []
