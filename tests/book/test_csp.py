"""The pages' Content-Security-Policy: the theme's own scripts run in Chromium, anything else inline does not."""

import shutil

import pytest
from bs4 import BeautifulSoup

from fwbench.book.csp import protect, protect_tree
from fwbench.book.pagecheck import render

THEME = (
    '\n    document.documentElement.dataset.mode = localStorage.getItem("mode") || "";\n'
    '    document.documentElement.dataset.theme = localStorage.getItem("theme") || "";\n  '
)
EVIL_INLINE = "document.title = 'PWNED'; window.pwned = 1;"


def page(extra_head: str = "", body: str = "") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta charset="utf-8" />\n    <title>Safe</title>\n'
        f'  <script data-cfasync="false">{THEME}</script>\n'
        f"  <script>DOCUMENTATION_OPTIONS = {{}};</script>\n"  # not one of the theme's forms
        f"  <script>DOCUMENTATION_OPTIONS.pagename = 'chapters/eager_vs_graph';</script>\n{extra_head}"
        f'  </head>\n  <body>\n    <button onclick="window.print()">print</button>\n{body}\n  </body>\n</html>\n'
    )


def test_theme_scripts_are_allowed_by_hash_and_anything_else_is_named():
    done = protect(page(body=f'<script>{EVIL_INLINE}</script><img src=x onerror="window.pwned=2">'))
    assert done.refused == [
        "inline script: DOCUMENTATION_OPTIONS = {};",
        f"inline script: {EVIL_INLINE}",
        "event handler: window.pwned=2",
    ]
    head = done.html[: done.html.index("<script")]
    meta = BeautifulSoup(head, "html.parser").find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert meta is not None, "the policy must come before the first script"
    assert head.index('charset="utf-8"') < head.index("Content-Security-Policy")
    script_src = next(d for d in meta["content"].split(";") if d.strip().startswith("script-src")).split()
    assert len([s for s in script_src if s.startswith("'sha256-")]) == 3  # two theme scripts, one handler
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert protect(done.html).html == done.html  # idempotent: an incremental build protects a page again


@pytest.mark.skipif(
    not any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")),
    reason="no Chromium on PATH (scripts/setup_chromium.sh installs it)",
)
def test_chromium_runs_the_books_files_and_theme_but_nothing_injected(tmp_path):
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "own.js").write_text("document.documentElement.dataset.own = 'ran';\n")
    hostile = (
        f"<script>{EVIL_INLINE}</script>"
        "<img src=x onerror=\"document.title='PWNED'; window.pwned=2\">"
        "<svg><script>document.title='PWNED'</script></svg>"
        "<a id=go href=\"javascript:document.title='PWNED'\">go</a>"
        "<script>document.getElementById('go').click()</script>"
        "<p id=text>still here</p>"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "page.html").write_text(page('  <script src="../_static/own.js"></script>\n', hostile))
    refused = protect_tree(tmp_path)
    assert list(refused) == ["sub/page.html"]
    dom = BeautifulSoup(render(tmp_path / "sub" / "page.html"), "html.parser")
    assert dom.title.get_text() == "Safe"
    root = dom.find("html")
    assert root.get("data-mode") == "" and root.get("data-theme") == "", "the theme's inline script must run"
    assert root.get("data-own") == "ran", "the book's own script files must run from file:"
    assert dom.find(id="text").get_text() == "still here"
