"""Untrusted store content is made inert: sanitized notebooks, escaped Markdown and HTML text."""

import nbformat

from fwbench.report import sanitize

EVIL_HTML = (
    "<b>keep</b><script>alert(1)</script><img src=x onerror=alert(1)><a href='javascript:alert(1)'>l</a>"
    "<iframe src='https://example.org'></iframe><form action='/x'><input></form><table><tr><td>1</td></tr></table>"
)


def test_clean_html_keeps_tables_and_text_and_drops_everything_active():
    out = sanitize.clean_html(EVIL_HTML)
    assert "<b>keep</b>" in out and "<table>" in out and "<td>1</td>" in out
    for bad in ("<script", "onerror", "javascript:", "<iframe", "<form", "<input", "alert(1)</script>"):
        assert bad not in out, bad


def test_md_makes_a_store_string_literal_markdown():
    out = sanitize.md("<img src=x onerror=alert(1)> {doc}`x` [a](javascript:b) *e*\n```{raw} html")
    assert "<" not in out and "\n" not in out
    for syntax in ("`", "{", "[", "*"):
        assert all(out[i - 1] == "\\" for i, ch in enumerate(out) if ch == syntax), syntax


def test_notebook_keeps_what_reads_and_drops_what_runs():
    nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}})
    nb.cells = [
        nbformat.v4.new_markdown_cell("Hello <img src=x onerror=alert(1)> **bold**"),
        nbformat.v4.new_raw_cell("<script>alert(1)</script>", metadata={"format": "text/html"}),
        nbformat.v4.new_code_cell(
            "x",
            outputs=[
                nbformat.v4.new_output("stream", name="stdout", text="printed\n"),
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "text/html": EVIL_HTML,
                        "application/javascript": "alert(1)",
                        "image/svg+xml": "<svg onload=alert(1)/>",
                        "application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                        "image/png": "iVBORw0KGgo=",
                        "text/plain": "<b>plain</b>",
                    },
                ),
                nbformat.v4.new_output("display_data", data={"image/png": "<script>not base64</script>"}),
                nbformat.v4.new_output("error", ename="E", evalue="<b>v</b>", traceback=["tb"]),
            ],
        ),
    ]
    clean = sanitize.notebook(nb)
    nbformat.validate(clean)
    assert "widgets" not in clean.metadata and "widgets" in nb.metadata  # a copy: the stored notebook is untouched
    assert [c.cell_type for c in clean.cells] == ["markdown", "code"]
    assert "onerror" not in clean.cells[0].source and "**bold**" in clean.cells[0].source
    outputs = clean.cells[1].outputs
    assert [o.output_type for o in outputs] == ["stream", "display_data", "error"]
    data = outputs[1].data
    assert set(data) == {"text/html", "image/png", "text/plain"}
    assert "<script" not in data["text/html"] and "<table>" in data["text/html"]
    assert data["text/plain"] == "<b>plain</b>"  # plain text is rendered escaped by the book; kept as it is


def test_stored_markdown_cannot_use_myst_directives_or_roles():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(
                "# Title\n\n```{include} /etc/passwd\n```\n\n:::{raw} html\n<b>x</b>\n:::\n\nsee {doc}`intro`"
            )
        ]
    )
    text = sanitize.notebook(nb).cells[0].source
    assert "```text" in text and "{include}" not in text.split("```text")[0]
    assert "\\:::" in text and "\\{doc\\}`intro`" in text and text.startswith("# Title")


def test_a_stored_notebook_cannot_set_how_the_book_treats_it():
    """MyST-NB takes `mystnb` metadata as the notebook's own settings (execution among them) and the rest as
    front matter: a staged notebook carries fixed metadata, and cells keep only display tags."""
    nb = nbformat.v4.new_notebook(
        metadata={
            "mystnb": {"execution_mode": "force", "execution_excludepatterns": []},
            "myst": {"disable_syntax": []},
            "html_theme": {"x": 1},
            "language_info": {"name": "no-such-lexer"},
        }
    )
    nb.cells = [
        nbformat.v4.new_code_cell(
            "open('pwned', 'w')",
            metadata={
                "mystnb": {"code_prompt_show": "x"},
                "tags": ["hide-input", "raises-exception", "remove-inputx"],
                "jupyter": {},
            },
        )
    ]
    clean = sanitize.notebook(nb)
    nbformat.validate(clean)
    assert dict(clean.metadata) == sanitize.NOTEBOOK_METADATA
    assert dict(clean.cells[0].metadata) == {"tags": ["hide-input"]}
    assert "mystnb" in nb.metadata  # the stored notebook is untouched


def test_a_long_output_is_cut_for_its_page_and_linked_whole():
    """One line of compiler dump once made an appendix page 8 MB: the page shows the start and the end, and a
    link to the whole text."""
    import nbformat

    from fwbench.report import sanitize

    dump = "module @jit { " + "x" * 500_000 + " } // end"
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "dump()",
                outputs=[
                    nbformat.v4.new_output("stream", name="stdout", text=dump),
                    nbformat.v4.new_output(
                        "execute_result",
                        data={"text/plain": dump, "text/html": "<pre>" + dump + "</pre>"},
                        execution_count=1,
                    ),
                    nbformat.v4.new_output("stream", name="stdout", text="short"),
                ],
            )
        ]
    )
    kept = []
    out = sanitize.notebook(nb, lambda text: kept.append(text) or f"whole-{len(kept)}.txt").cells[0].outputs
    texts = [o.get("text") or o.get("data", {}).get("text/plain", "") for o in out]
    assert len(out) == 5 and texts[-1] == "short"
    assert texts[0].startswith("module @jit") and texts[0].endswith("} // end") and "characters cut" in texts[0]
    assert len(texts[0]) < sanitize.MAX_PAGE_OUTPUT * 1.3
    assert "text/html" not in out[2]["data"] and out[1]["data"]["text/html"].count('href="whole-1.txt"') == 1
    assert kept == [dump, dump]
    page = sanitize.notebook(nb)  # without a place for the whole text: cut, no link, still a valid notebook
    nbformat.validate(page)
    assert len(nbformat.writes(page)) < 4 * sanitize.MAX_PAGE_OUTPUT and "one click away" not in nbformat.writes(page)
