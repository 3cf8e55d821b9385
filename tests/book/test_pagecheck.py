"""fwbench.book.pagecheck against real headless Chromium: small pages shaped like the theme's, then the built book."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import pytest

from fwbench.book import pagecheck
from fwbench.book.csp import protect_tree
from fwbench.book.pagecheck import check_book, check_page, find_chromium, render
from fwbench.errors import PageCheckError

pytestmark = pytest.mark.skipif(
    not any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")),
    reason="no Chromium on PATH (scripts/setup_chromium.sh installs it)",
)


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the checks of small pages, as check_book uses one for a whole book: a start per test was
    most of this file's time. Each check opens its own page in it; the tests of starting, stopping and giving up
    use a browser of their own."""
    from fwbench.book.browser import Browser

    with Browser(find_chromium()) as shared:
        yield shared


def png() -> bytes:
    """A valid 1x1 PNG, so Chromium really decodes a figure."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def page(tmp_path: Path, body: str, *, title: str = "A chapter", script: str = "", name: str = "page.html") -> Path:
    """A page shaped like sphinx-book-theme's: the chapter inside main > article.bd-article."""
    (tmp_path / "_images").mkdir(exist_ok=True)
    (tmp_path / "_images" / "fig.png").write_bytes(png())
    path = tmp_path / name
    path.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        "<div class='bd-container'><main id='main-content' class='bd-main' role='main'>"
        "<div class='bd-article-container'><article class='bd-article'><section id='s'><h1>Chapter</h1>"
        f"{body}</section></article></div></main></div>"
        f"<script>{script}</script></body></html>",
        encoding="utf-8",
    )
    return path


FIGURE = "<p>Some text.</p><figure><img src='_images/fig.png' alt='plot'></figure>"
CELL = "<div class='cell docutils container'><div class='cell_output docutils container'>{}</div></div>"
# Exactly what myst-nb 1.x plus Sphinx emit for a cell's error output (checked on a real build).
TRACEBACK_OUTPUT = CELL.format(
    "<div class='output traceback highlight-ipythontb notranslate'><div class='highlight'><pre>"
    "<span class='gt'>-------------------------------------------------------</span>\n"
    "<span class='ne'>ZeroDivisionError</span>            Traceback (most recent call last)\n"
    "Cell In[1], line 1\n----&gt; 1 1/0\n<span class='ne'>ZeroDivisionError</span>: division by zero\n"
    "</pre></div></div>"
)
# How the export and serving chapters list stored failures.
STORED_FAILURE = (
    "<div class='fwbench-tracebacks'><details><summary>torch onnx on mlp, at export: <b>RuntimeError</b>: "
    "boom</summary><pre class='fwbench-tb-full'>Traceback (most recent call last):\n  File \"x.py\", line 1\n"
    "RuntimeError: boom</pre></details></div>"
)


def test_clean_page_with_a_figure_passes(tmp_path, browser):
    assert check_page(page(tmp_path, FIGURE), min_figures=1, browser=browser) == []


def test_too_few_figures_is_reported(tmp_path, browser):
    problems = check_page(page(tmp_path, "<p>No plot here.</p>"), min_figures=1, browser=browser)
    assert problems == ["0 figure(s), expected at least 1"]


def test_missing_image_is_flagged(tmp_path, browser):
    problems = check_page(page(tmp_path, FIGURE + "<img src='_images/gone.png'>"), min_figures=1, browser=browser)
    assert problems == ["image missing or empty: _images/gone.png"]


def test_image_added_by_script_is_counted(tmp_path, browser):
    # Added after load, behind a timer: only counted if Chromium really ran the page's scripts.
    script = (
        "window.addEventListener('load', () => setTimeout(() => {"
        "const i = document.createElement('img'); i.src = '_images/fig.png';"
        "document.querySelector('article').appendChild(i); }, 500));"
    )
    path = page(tmp_path, "<p>Plot comes later.</p>", script=script)
    assert "<img" not in path.read_text()
    assert check_page(path, min_figures=1, browser=browser) == []


def test_cell_traceback_output_is_flagged(tmp_path, browser):
    problems = check_page(page(tmp_path, FIGURE + TRACEBACK_OUTPUT), browser=browser)
    assert problems == [
        "code cell traceback output: ZeroDivisionError Traceback (most recent call last) ... "
        "ZeroDivisionError: division by zero"
    ]


def test_cell_stderr_output_is_flagged(tmp_path, browser):
    body = FIGURE + CELL.format(
        "<div class='output stderr highlight-myst-ansi notranslate'><div class='highlight'>"
        "<pre>FutureWarning: the default will change\n  warnings.warn(</pre></div></div>"
    )
    assert check_page(page(tmp_path, body), browser=browser) == [
        "code cell stderr output: FutureWarning: the default will change"
    ]


def test_stored_error_shown_on_purpose_is_not_flagged(tmp_path, browser):
    body = FIGURE + CELL.format(f"<div class='output text_html'>{STORED_FAILURE}</div>")
    assert check_page(page(tmp_path, body), browser=browser) == []


def test_traceback_text_outside_the_allowed_marker_is_flagged(tmp_path, browser):
    path = page(
        tmp_path,
        FIGURE + STORED_FAILURE.replace("fwbench-tracebacks", "something-else").replace("fwbench-tb-full", "plain"),
    )
    problems = check_page(path, browser=browser)
    assert problems == ["raw traceback in page text: Traceback (most recent call last):"]
    # The marker is configurable: a chapter using another wrapper can say so.
    assert check_page(path, allowed_selector=".something-else", browser=browser) == []


def test_system_message_is_flagged(tmp_path, browser):
    body = FIGURE + (
        "<aside class='system-message'><p class='system-message-title'>System Message: ERROR/3</p>"
        '<p>Unknown directive type "glu".</p></aside>'
    )
    assert check_page(page(tmp_path, body), browser=browser) == [
        'docutils/Sphinx message rendered: System Message: ERROR/3 Unknown directive type "glu".'
    ]


def test_literal_role_text_is_flagged(tmp_path, browser):
    body = FIGURE + "<p>See {doc}`method` and {glue:text}`x` for details.</p>"
    assert check_page(page(tmp_path, body), browser=browser) == [
        "unparsed MyST role(s) in page text: {doc}, {glue:text}"
    ]


def test_role_syntax_written_as_inline_code_is_fine(tmp_path, browser):
    body = FIGURE + "<p>Write <code class='docutils literal notranslate'><span class='pre'>{doc}</span></code>.</p>"
    assert check_page(page(tmp_path, body), browser=browser) == []


def test_unresolved_references_are_flagged(tmp_path, browser):
    # Sphinx leaves an unresolved {ref}/{doc} as a bare span.xref; MyST keeps [x](#nope) as a dead anchor.
    body = FIGURE + (
        "<p>See <span class='xref std std-ref'>nolabel</span> and "
        "<a class='reference internal' href='#nope'><span class='xref myst'>x</span></a> and "
        "<a class='reference internal' href='#s'><span class='std std-ref'>fine</span></a>.</p>"
    )
    assert check_page(page(tmp_path, body), browser=browser) == [
        "unresolved reference: nolabel",
        "link to a missing anchor: #nope (x)",
    ]


def test_missing_title_and_article_are_flagged(tmp_path, browser):
    path = tmp_path / "bare.html"
    path.write_text("<html><head><title>&lt;no title&gt; &#8212; book</title></head><body><p>x</p></body></html>")
    assert check_page(path, browser=browser) == [
        "page title is '<no title> — book'",
        "no main article content (article.bd-article / main)",
    ]


def test_check_book_reports_per_page_and_missing_pages(tmp_path):
    html = tmp_path / "html"
    html.mkdir()
    page(html, FIGURE, name="good.html")
    page(html, "<p>none</p>", name="bare.html")
    protect_tree(html)
    page(html, FIGURE, name="unprotected.html")  # written after the build's CSP pass
    result = check_book(html, {"good.html": 1, "bare.html": 1, "gone.html": 0, "unprotected.html": 1})
    assert result["good.html"] == []
    assert result["bare.html"] == ["0 figure(s), expected at least 1"]
    assert result["gone.html"] == [f"page missing: {html / 'gone.html'}"]
    # The first screens go beside the book, never into it (a checked book is published as it is).
    assert (tmp_path / "screenshots" / "good.png").stat().st_size > 0
    assert not any(p.suffix == ".png" and "_images" not in p.parts for p in html.rglob("*"))
    assert result["unprotected.html"] == [
        "no Content-Security-Policy meta tag (fwbench.book.csp adds it after the build)"
    ]


def test_cli_exit_status(tmp_path, capsys):
    page(tmp_path, FIGURE, name="good.html")
    protect_tree(tmp_path)
    assert pagecheck.main([str(tmp_path), "good.html:1"]) == 0
    assert pagecheck.main([str(tmp_path), "good.html:2"]) == 1
    assert "expected at least 2" in capsys.readouterr().out


def test_find_chromium_says_what_to_run(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(PageCheckError, match=r"make setup") as err:
        find_chromium()
    assert "\n" not in str(err.value) and isinstance(err.value, RuntimeError)


def test_render_gives_up_on_a_page_that_never_finishes(tmp_path):
    path = page(tmp_path, "<p>spin</p>", script="while (true) {}")
    with pytest.raises(PageCheckError, match="did not finish rendering"):
        render(path, timeout=2)
    assert check_page(path, timeout=2)[0].startswith("Chromium did not finish rendering")


def test_render_refuses_a_missing_file(tmp_path):
    # Chromium itself would render its error page and exit 0.
    with pytest.raises(PageCheckError, match="no such page"):
        render(tmp_path / "nope.html")


def test_layout_problems_a_reader_would_see(tmp_path, browser):
    wide = (
        "<table><tr>"
        + "".join(f"<td>column_with_a_long_unbreakable_name_{i}</td>" for i in range(30))
        + "</tr></table>"
    )
    values = "<table><tr><th>a</th><th>b</th><th>c</th></tr><tr><td>nan</td><td>2.749e+04</td><td>1.36e+03 ms</td><td>01e7c83b52</td></tr></table>"
    scrolls = "<div class='fwbench-scrolls'>" + wide + "</div><details><summary>x</summary>" + wide + "</details>"
    path = page(tmp_path, FIGURE + wide + values + scrolls + "<div style='height:2000px'></div><p id='late'>x</p>")
    problems = check_page(path, first_screen=("late", "s", "gone"), screenshot=tmp_path / "shot.png", browser=browser)
    assert len([p for p in problems if p.startswith("table wider than the content column")]) == 1
    assert "table cell(s) showing a missing value: nan" in problems
    assert "table cell(s) in e-notation: 2.749e+04, 1.36e+03 ms" in problems  # not the commit 01e7c83b52
    assert any(p.startswith("#late starts at") and "below the first screen (900 px)" in p for p in problems)
    assert "#gone is not on the page" in problems and not any(p.startswith("#s ") for p in problems)
    shot = (tmp_path / "shot.png").read_bytes()
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 1000


def test_chromiums_temporary_files_live_and_die_with_its_profile(tmp_path):
    # Killed or not, Chromium used to leave an org.chromium.Chromium.* folder in /tmp per start.
    from fwbench.book.browser import Browser

    with Browser(find_chromium()) as browser:
        browser.open(page(tmp_path, "<p>hi</p>"))
        profile = Path(browser._profile.name)
        assert list(profile.glob("org.chromium.Chromium.*"))
    assert not profile.exists()


def test_a_page_that_redirects_while_it_settles_is_followed_to_where_it_went(tmp_path):
    from fwbench.book.browser import Browser

    # The redirect fires after the load event, while the settle wait runs: the race the book's index.html
    # (a meta refresh to intro.html) lost once under a busy test suite.
    (tmp_path / "a.html").write_text(
        "<html><head><title>a</title></head><body>"
        "<script>setTimeout(() => location.href = 'b.html', 50)</script></body></html>"
    )
    (tmp_path / "b.html").write_text("<html><head><title>b</title></head><body>arrived</body></html>")
    with Browser(find_chromium()) as browser:
        browser.open(tmp_path / "a.html", settle_ms=500)
        assert browser.evaluate("[document.title, document.body.textContent]") == ["b", "arrived"]


def test_what_is_not_a_number_is_flagged_in_prose_and_tables(tmp_path, browser):
    """The reader's audit found "pays off after nan steps", "0.0 µs – never", "0.00-∞" and one number in
    e-notation on one page and plain on another: each fails the page; the same words in prose or code do not."""
    body = FIGURE + (
        "<p>Compiling pays off after nan steps; first call 0.0 µs – never.</p>"
        "<table class='fwbench-table'><tr><td>0.00-∞</td><td>2.4e-06 s</td></tr></table>"
    )
    problems = check_page(page(tmp_path, body), browser=browser)
    assert problems[0] == "table cell(s) in e-notation: 2.4e-06 s" and len(problems) == 2
    assert problems[1].startswith("not a number where a number belongs")
    for bad in ("after nan steps", "0.0 µs – never", "∞", "2.4e-06"):
        assert repr(bad) in problems[1], bad
    fine = FIGURE + (
        "<p>The loss is nan when the bug fires; we never reuse imported runs; 0.0000024 s.</p>"
        "<pre>x = float('inf')  # 1e-06</pre>"
    )
    assert check_page(page(tmp_path, fine, name="fine.html"), browser=browser) == []
