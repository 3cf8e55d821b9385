"""The book's size line: total, target, and the largest parts."""

from fwbench.book import size


def test_the_size_line_names_the_largest_parts_and_says_when_over_the_target(tmp_path, monkeypatch):
    (tmp_path / "_static" / "mathjax").mkdir(parents=True)
    (tmp_path / "_static" / "mathjax" / "tex.js").write_bytes(b"x" * 3 * 2**20)
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "a.html").write_bytes(b"x" * 2**20)
    (tmp_path / "index.html").write_bytes(b"x" * 100)
    (tmp_path / "linked.js").symlink_to(tmp_path / "_static" / "mathjax" / "tex.js")  # not counted twice
    assert size.total(tmp_path) == 4 * 2**20 + 100
    assert list(size.parts(tmp_path))[:2] == ["_static/mathjax", "chapters/a.html"]
    line = size.size_line(tmp_path)
    assert line.startswith("book: 4.0 MB (target 25 MB); largest: _static/mathjax 3.0 MB, chapters/a.html 1.0 MB")
    monkeypatch.setattr(size, "TARGET_BYTES", 2**20)
    assert "OVER the target" in size.size_line(tmp_path)


def test_source_maps_leave_the_book_and_nothing_else_does(tmp_path):
    (tmp_path / "_static" / "scripts").mkdir(parents=True)
    (tmp_path / "_static" / "scripts" / "theme.js").write_text("x")
    (tmp_path / "_static" / "scripts" / "theme.js.map").write_bytes(b"m" * 1000)
    (tmp_path / "page.map.html").write_text("a page, not a map")
    assert size.strip_source_maps(tmp_path) == 1000
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["page.map.html", "theme.js"]
