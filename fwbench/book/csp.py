"""Content-Security-Policy for built pages: only files under the book and the theme's own inline scripts may run.

Escaping and sanitizing keep store text inert where it enters a page; this is the
second wall behind them. After Sphinx writes the HTML, every page gets a CSP meta
tag (first in <head>, before any script) that allows scripts from the book's own
files plus, by SHA-256 hash, each inline script and event handler that matches one
of the theme's known forms below. Anything else inline, wherever it came from, is
left out of the policy, so the browser refuses to run it, and the build names it.
"""

from __future__ import annotations

import base64
import hashlib
import html as htmllib
import re
from dataclasses import dataclass, field
from pathlib import Path

#: The inline scripts Sphinx, sphinx-book-theme, pydata-sphinx-theme, togglebutton and MathJax's
#: configuration write, as exact patterns over the script's whole text (whitespace stripped).
THEME_SCRIPTS = tuple(
    re.compile(p, re.S)
    for p in (
        r'document\.documentElement\.dataset\.mode = localStorage\.getItem\("mode"\) \|\| "";\s*'
        r'document\.documentElement\.dataset\.theme = localStorage\.getItem\("theme"\) \|\| "";',
        r"let toggleHint(?:Show|Hide) = '[A-Za-z ]*';",
        r"let toggleOpenOnPrint = '(?:true|false)';",
        r"var togglebuttonSelector = '[.a-z, -]*';",
        r'window\.MathJax = \{"options": \{"processHtmlClass": "[a-z0-9_|]*"\}\}',
        # pydata-sphinx-theme's search page
        r'// Activate the search field on page load\s*let searchInput = document\.querySelector\("form\.bd-search input"\);'
        r"\s*if \(searchInput\) \{\s*searchInput\.focus\(\);\s*searchInput\.select\(\);\s*"
        r'console\.log\("\[PST\]: Set focus on search field\."\);\s*\}',
        r"DOCUMENTATION_OPTIONS\.pagename = '[A-Za-z0-9_./-]*';",
        r"DOCUMENTATION_OPTIONS\.search_as_you_type = (?:true|false);",
        r"DOCUMENTATION_OPTIONS\.theme_(?:version|switcher_json_url|switcher_version_match|show_version_warning_banner)"
        r" = [^;<>]*;",
    )
)
#: Event-handler attributes the theme puts on its buttons; allowed by hash under 'unsafe-hashes'.
THEME_HANDLERS = frozenset({"window.print()", "toggleFullScreen()"})

_SCRIPT = re.compile(r"<script(?P<attrs>(?:\s[^>]*)?)>(?P<body>.*?)</script>", re.S | re.I)
# Inside a tag only: escaped text that quotes a handler (`&lt;img onerror="..."&gt;`) is not code.
_HANDLER = re.compile(r"""<[a-z][^<>]*?\son[a-z]+\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')""", re.I)
_META = re.compile(r'\n?<meta http-equiv="Content-Security-Policy"[^>]*>', re.I)
_HEAD = re.compile(r"<head(?:\s[^>]*)?>\s*(?:<meta charset=[^>]*>)?", re.I)


@dataclass
class Protected:
    html: str
    refused: list[str] = field(default_factory=list)  # inline code left out of the policy, first 80 chars each


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def policy(script_hashes: list[str], handler_hashes: list[str]) -> str:
    sources = ["'self'", *sorted(set(script_hashes))]
    if handler_hashes:
        sources += ["'unsafe-hashes'", *sorted(set(handler_hashes))]
    # file: pages have an opaque origin in Chromium, so 'self' alone would refuse the book's own files.
    return (
        f"default-src 'self' file: data:; script-src {' '.join(sources)} file:; "
        "style-src 'self' file: 'unsafe-inline'; img-src 'self' file: data:; font-src 'self' file: data:; "
        "object-src 'none'; base-uri 'none'; frame-src 'none'; form-action 'self' file:"
    )


def protect(html: str) -> Protected:
    """The page with its policy in place; an existing fwbench policy is replaced, so this is idempotent."""
    html = _META.sub("", html)
    scripts, handlers, refused = [], [], []
    for m in _SCRIPT.finditer(html):
        if re.search(r"\ssrc\s*=", m.group("attrs"), re.I):
            continue
        body = m.group("body")
        if not body.strip():
            continue
        if any(p.fullmatch(body.strip()) for p in THEME_SCRIPTS):
            scripts.append(_hash(body))
        else:
            refused.append("inline script: " + " ".join(body.split())[:80])
    for m in _HANDLER.finditer(html):
        # The browser hashes the attribute's value after HTML decoding.
        value = htmllib.unescape(m.group("dq") if m.group("dq") is not None else m.group("sq"))
        if value in THEME_HANDLERS:
            handlers.append(_hash(value))
        else:
            refused.append("event handler: " + " ".join(value.split())[:80])
    head = _HEAD.search(html)
    if head is None:  # a redirect stub; a fragment with scripts and no <head> is named
        return Protected(html, refused + (["no <head>: page left without a policy"] if "<script" in html else []))
    # After the charset (which must stay in the first 1024 bytes) and before any script.
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy(scripts, handlers)}">'
    return Protected(html[: head.end()] + "\n" + meta + html[head.end() :], refused)


def protect_tree(html_dir: Path) -> dict[str, list[str]]:
    """Protect every page under `html_dir` in place; returns {page: refused inline code} where any was found."""
    found = {}
    for page in sorted(Path(html_dir).rglob("*.html")):
        if page.relative_to(html_dir).parts[0] == "_static":  # the theme's template fragments, not pages
            continue
        text = page.read_text(encoding="utf-8")
        done = protect(text)
        if done.html != text:
            page.write_text(done.html, encoding="utf-8")
        if done.refused:
            found[page.relative_to(html_dir).as_posix()] = done.refused
    return found
