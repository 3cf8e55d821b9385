"""Makes untrusted store content inert before it reaches a page: notebooks for the appendix, text for Markdown and HTML.

Everything in the store may come from a bundle someone else made: notebook outputs and markdown
cells, machine labels, versions, error texts. Three layers keep it data:

- the book's MyST parser has raw HTML switched off (`_config.yml`: `myst_disable_syntax`), so
  Markdown, whoever wrote it, cannot carry markup;
- `notebook()` cleans an executed notebook before it is staged: only plain text, PNG/JPEG images,
  and HTML/Markdown that went through an allow-list sanitizer (nh3, the Ammonia crate) survive;
  scripts, widgets, SVG, raw cells and attachments are dropped, and the notebook's and cells'
  metadata are replaced by fixed values (MyST-NB reads per-notebook settings from metadata, which
  could switch execution of a stored notebook's code on at build time);
- `md()` and `html()` escape a store string at the point a chapter puts it into Markdown or HTML.
"""

from __future__ import annotations

import copy
import html as _html
import re

import nbformat
import nh3

#: What a sanitized HTML fragment may keep: text structure, tables (pandas output), images by http(s).
ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "col",
    "colgroup",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "*": {"class"},
}
URL_SCHEMES = {"http", "https"}
#: Output kinds a staged notebook keeps; everything else (JavaScript, widgets, SVG, LaTeX, ...) is dropped.
SAFE_MIME = ("text/plain", "image/png", "image/jpeg", "text/html", "text/markdown")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
#: Characters that start Markdown or MyST syntax (emphasis, links, roles, targets, tables, code, HTML).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~$:=-])")


def clean_html(text: str) -> str:
    """An untrusted HTML fragment with only allow-listed tags, attributes and URL schemes left."""
    return nh3.clean(
        str(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def html(value) -> str:
    """A store string as HTML text (every markup character escaped)."""
    return _html.escape(str(value), quote=True)


def md(value) -> str:
    """A store string as literal Markdown text: markup characters escaped, so it can only ever read as itself."""
    text = _html.escape(str(value), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


#: MyST syntax that would make the book build act on a stored notebook's Markdown: fenced and colon-fenced
#: directives (`{raw}`, `{include}`, `{eval-rst}`, ...) and roles (`{role}`text``).
_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})([^\n]*)$", re.M)
_COLON_FENCE = re.compile(r"^([ \t]*)(:{3,})", re.M)
_ROLE = re.compile(r"\{([^{}\n]*)\}(?=`)")


def inert_myst(text: str) -> str:
    """Markdown with every directive turned into a plain text code block and every role escaped.

    A directive in a stored notebook would run at build time (`{include}` reads a file, `{raw}` writes
    markup); as a code block its text still shows. Fence info strings are replaced, not escaped, since
    CommonMark unescapes them.
    """
    text = _FENCE.sub(lambda m: f"{m.group(1)}{m.group(2)}text" if m.group(3).strip() else m.group(0), text)
    text = _COLON_FENCE.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return _ROLE.sub(lambda m: "\\{" + m.group(1) + "\\}", text)


def _clean_output(output: dict) -> dict | None:
    kind = output.get("output_type")
    if kind == "stream":
        return {"output_type": "stream", "name": output.get("name", "stdout"), "text": str(output.get("text", ""))}
    if kind == "error":
        return {
            "output_type": "error",
            "ename": str(output.get("ename", "")),
            "evalue": str(output.get("evalue", "")),
            "traceback": [str(line) for line in output.get("traceback", [])],
        }
    if kind not in ("display_data", "execute_result"):
        return None
    data = {}
    for mime, value in (output.get("data") or {}).items():
        if mime not in SAFE_MIME:
            continue
        text = "".join(value) if isinstance(value, list) else str(value)
        if mime in ("image/png", "image/jpeg"):
            if _BASE64.fullmatch(text):
                data[mime] = text
        elif mime == "text/plain":
            data[mime] = text
        else:
            data[mime] = clean_html(text)
    if not data:
        return None
    cleaned = {"output_type": kind, "data": data, "metadata": {}}
    if kind == "execute_result":
        cleaned["execution_count"] = output.get("execution_count")
    return cleaned


#: The only notebook metadata a staged notebook carries. Anything a bundle put there would reach the build:
#: MyST-NB applies `mystnb` keys as the notebook's own settings (execution included) and passes the rest on
#: as front matter, and an unknown lexer name fails the warnings-as-errors build.
NOTEBOOK_METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python", "pygments_lexer": "ipython3"},
}
#: Cell tags a staged notebook keeps (MyST-NB's display tags); other cell metadata is dropped.
_TAG = re.compile(r"(remove|hide)-(cell|input|output|stderr)")


#: Terminal colour codes, whole or cut short (an escape, then what remains of its parameters and final letter).
_ANSI = re.compile(r"\x1b(?:\[[0-9;]*[A-Za-z]?)?|^\[?[0-9;]+m")
#: Longest text output an appendix page shows whole. One line of StableHLO dump once made a page 8 MB; a page
#: shows this many characters from the start and a quarter as many from the end, the whole text one click away.
MAX_PAGE_OUTPUT = 20_000


def _cut(text: str, keep_whole) -> tuple[str, str | None]:
    """`text` as a page shows it: whole if short, else its start and end with how much was cut; and the link
    `keep_whole(text)` gives to the whole text (None where there is none)."""
    if len(text) <= MAX_PAGE_OUTPUT:
        return text, None
    head, tail = MAX_PAGE_OUTPUT, MAX_PAGE_OUTPUT // 4
    link = keep_whole(text) if keep_whole else None
    note = f"\n\n[... {len(text) - head - tail:,} characters cut for this page" + (
        "; the whole output is one click away below ...]\n\n" if link else " ...]\n\n"
    )
    # Colour codes go from what is cut: a cut through one leaves a lone escape that no lexer accepts.
    return _ANSI.sub("", text[:head]) + note + _ANSI.sub("", text[-tail:]), link


def _shorten(output: dict, keep_whole) -> list[dict]:
    """A cleaned output with long text cut (see MAX_PAGE_OUTPUT), followed by a link to the whole text."""
    links = []
    if output["output_type"] == "stream":
        output["text"], link = _cut(output["text"], keep_whole)
        links.append(link)
    elif output["output_type"] == "error":
        text, link = _cut("\n".join(output["traceback"]), keep_whole)
        output["traceback"] = text.split("\n")
        links.append(link)
    else:
        data = output["data"]
        if "text/html" in data and len(data["text/html"]) > MAX_PAGE_OUTPUT:
            del data["text/html"]  # cut markup would not be markup: the plain text stands in for it
            data.setdefault("text/plain", "")
        for mime in ("text/plain", "text/markdown"):
            if mime in data:
                data[mime], link = _cut(data[mime], keep_whole)
                links.append(link)
    out = [output]
    for link in filter(None, links):
        out.append(
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {
                    "text/html": clean_html(f'<p><a href="{html(link)}">the whole output (text file)</a></p>'),
                    "text/plain": f"the whole output: {link}",
                },
            }
        )
    return out


def notebook(nb, keep_whole=None):
    """A copy of an executed notebook that renders inert: see the module's docstring for what survives. Text
    outputs longer than MAX_PAGE_OUTPUT are cut; `keep_whole(text)`, if given, keeps the whole text somewhere the
    page can link to and returns that link."""
    nb = copy.deepcopy(nb)
    nb.metadata = nbformat.from_dict(copy.deepcopy(NOTEBOOK_METADATA))
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "raw":  # raw cells reach the page as they are
            continue
        cell.pop("attachments", None)
        tags = cell.get("metadata", {}).get("tags")
        cell["metadata"] = nbformat.from_dict(
            {"tags": [t for t in tags if isinstance(t, str) and _TAG.fullmatch(t)]} if isinstance(tags, list) else {}
        )
        if cell.cell_type == "markdown":
            cell.source = inert_myst(clean_html(cell.source))
        elif cell.cell_type == "code":
            cleaned = [o for o in (_clean_output(dict(out)) for out in cell.get("outputs", [])) if o]
            cell.outputs = [nbformat.from_dict(o) for c in cleaned for o in _shorten(c, keep_whole)]
        cells.append(cell)
    nb.cells = cells
    return nb
