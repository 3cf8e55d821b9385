"""The PDF's print page: the single-page book with every executed notebook cut out, nothing else."""

import re

from fwbench.book.printpage import NOTE, print_page, without_notebooks


def notebook(name: str) -> str:
    """One notebook as Sphinx's single-page builder writes it: an anchor, its title section, then its own sections
    beside it (with a nested one, and escaped markup in an output)."""
    return (
        f'<span id="document-chapters/appendix/runs/{name}"></span><section id="{name}">\n<h3>{name}</h3>\n'
        f'<p>papermill ran it</p>\n</section>\n<section id="{name}-body"><h3>Body</h3><div class="cell">'
        f"<pre>&lt;/section&gt;&lt;/div&gt;</pre></div><section><h4>inner</h4></section></section>\n"
    )


PAGE = (
    '<html><head></head><body><div class="bd-article"><section id="method"><h2>Method</h2><p>kept</p></section>\n'
    '<div class="toctree-wrapper compound">\n'
    '<span id="document-chapters/appendix/index"></span><section id="appendix-the-executed-notebooks">\n'
    '<h2>Appendix: the executed notebooks<a class="headerlink" href="#x">#</a></h2>\n<p>The list.</p>'
    '<table><tr><td><a href="runs/a.html">notebook</a></td></tr></table>\n'
    '<div class="toctree-wrapper compound">\n' + notebook("a") + notebook("b") + "</div>\n</section>\n</div>\n"
    "<footer>after</footer></div></body></html>"
)


def balance(html: str, tag: str) -> int:
    return len(re.findall(rf"<{tag}\b", html)) - len(re.findall(rf"</{tag}>", html))


def test_every_notebook_is_cut_and_the_rest_is_left_as_it_was():
    page, cut = without_notebooks(PAGE)
    assert cut == 2 and "papermill ran it" not in page and "inner" not in page and "Body" not in page
    assert page.replace(NOTE, "") == PAGE.replace(notebook("a") + notebook("b"), "")
    assert "</h2>" + NOTE in page and "<p>kept</p>" in page and "<footer>after</footer>" in page
    assert balance(page, "section") == balance(page, "div") == 0
    assert without_notebooks("<p>no appendix</p>") == ("<p>no appendix</p>", 0)


def test_the_print_page_is_written_beside_the_page_the_index_redirects_to(tmp_path):
    (tmp_path / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=intro.html" />')
    (tmp_path / "intro.html").write_text(PAGE)
    printed = print_page(tmp_path / "index.html")
    assert printed == tmp_path / "print.html" and "papermill ran it" not in printed.read_text()
    assert (tmp_path / "intro.html").read_text() == PAGE  # the HTML book keeps its notebooks
