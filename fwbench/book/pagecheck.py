"""Opens built book pages in headless Chromium and reports what a reader would see broken."""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup

from fwbench.book.browser import chromium_env
from fwbench.errors import PageCheckError

# Where chapters deliberately show stored failures: <details> lists (div.fwbench-tracebacks >
# details > pre.fwbench-tb-full), the debugging chapter's side-by-side columns (div.fwbench-tb) and
# store tables (report.html_table). Text in these may quote tracebacks or role syntax on purpose.
ALLOWED_SELECTOR = ".fwbench-tracebacks, .fwbench-tb, .fwbench-tb-full, table.fwbench-table"
# myst-nb wraps a cell's error output in "output traceback" and its stderr in "output stderr"
# (myst_nb/core/render.py); "output error" is the older jupyter-sphinx spelling.
CELL_ERROR_SELECTOR = ".output.traceback, .output.stderr, .output.error"
ARTICLE_SELECTORS = ["article.bd-article", "div.bd-article", "article", "main"]
# MyST roles that survive as text when a chapter emits markup that is never parsed as MyST.
ROLE_LEFTOVER = re.compile(r"\{(?:doc|ref|numref|eq|term|download|glue(?::\w+)?)\}")
TRACEBACK = "Traceback (most recent call last)"
#: What is not a number, written where a number belongs: NaN or infinity next to a unit or in a range, "never"
#: as one end of a range or a duration, the infinity sign, and e-notation (a reader should not have to decode
#: 2.4e-06). A value that cannot be computed is said in words ("no interval", "did not pay off").
_UNIT = r"(?:steps?|ms|µs|s|x|req/s|MB|GB|%)"
NOT_A_NUMBER = re.compile(
    r"∞|(?<![\w.])(?:nan|NaN|inf|Inf|Infinity)(?![\w])(?=\s*(?:" + _UNIT + r"(?!\w)|[–-]|to\b|vs\b))"
    r"|(?<![\w.])(?:\d[\d.,]*\s*" + _UNIT + r"?\s*(?:[–-]|to)\s*)(?:nan|inf|never)\b"
    r"|\bnever\s+(?:vs\.?|[–-]|to)\s+\S+|\b(?:after|at|of)\s+(?:nan|inf|never)\s+" + _UNIT + r"\b"
    r"|(?<![\w.])\d+(?:\.\d+)?[eE][+-]?\d+(?![\w.])"
)
# Virtual time fast-forwards the page's timers, so a generous budget costs little wall time on a
# quick page and still lets MathJax and the theme's scripts finish before the DOM is dumped.
VIRTUAL_TIME_MS = 10_000
#: The window a reader is assumed to have: what must be seen without scrolling is checked at this size.
VIEWPORT = (1400, 900)


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise PageCheckError(
        "no chromium, chromium-browser or google-chrome on PATH: run `make setup` "
        "(scripts/setup_chromium.sh installs Debian's chromium)"
    )


def headless(page: Path, *action: str, timeout: float = 60.0) -> str:
    """Run headless Chromium on a local page, offline, in a fresh profile; `action` says what to do
    (`--dump-dom`, `--print-to-pdf=FILE`). Returns its stdout."""
    page = Path(page).resolve()
    # Chromium answers a missing file with its own error page and exit status 0.
    if not page.is_file():
        raise PageCheckError(f"no such page: {page}")
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="fwbench-chromium-") as profile:
        cmd = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            # Containers often have a small /dev/shm; Chromium crashes on big pages without this.
            "--disable-dev-shm-usage",
            # A page that reaches for the network fails at once instead of waiting on a timeout.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={VIRTUAL_TIME_MS}",
            *action,
            page.as_uri(),
        ]
        # Own session, so a timeout kills the renderer and GPU helpers too, not just the launcher.
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
            env=chromium_env(profile),
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise PageCheckError(
                f"Chromium did not finish rendering {page.name} within {timeout:g} s (a script that never ends?)"
            ) from None
    if proc.returncode != 0:
        # stderr is mostly D-Bus noise in containers; the last line is the one that says why.
        last = next((line for line in reversed(err.splitlines()) if line.strip()), "no output")
        raise PageCheckError(f"Chromium failed on {page.name} (exit {proc.returncode}): {last.strip()}")
    return out


def render(path, timeout: float = 60.0) -> str:
    """The page's DOM after its scripts ran, as Chromium serialises it."""
    out = headless(path, "--dump-dom", timeout=timeout)
    if not out.strip():
        raise PageCheckError(f"Chromium rendered nothing for {Path(path).name}")
    return out


def _first_line(text: str, limit: int = 160) -> str:
    # Tracebacks open with a rule of dashes: quote the first line that says something.
    line = next((" ".join(ln.split()) for ln in text.splitlines() if re.search(r"\w", ln)), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _local_image(src: str, page_dir: Path) -> Path | None:
    parts = urlsplit(src)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme or parts.netloc:
        return None
    return (page_dir / unquote(parts.path)).resolve()


#: What the layout check measures in the page, after its scripts ran: tables wider than the article column
#: (hidden ones, e.g. in a closed <details>, and tables marked as deliberately scrollable are skipped), and table
#: cells showing a bare NaN/None/inf or a number in e-notation.
LAYOUT_JS = r"""(() => {
  const art = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
  const column = art.getBoundingClientRect().width;
  const wide = [], missing = [], enote = [];
  const name = (t) => (t.querySelector("th") || t.querySelector("td") || {textContent: "?"}).textContent.trim().slice(0, 40);
  for (const t of art.querySelectorAll("table")) {
    if (t.checkVisibility() && !t.closest(".fwbench-scrolls") && t.scrollWidth > column + 2) {
      wide.push(`${name(t)} (${t.scrollWidth} px in a ${Math.round(column)} px column)`);
    }
    for (const td of t.querySelectorAll("td")) {
      const x = td.textContent.trim();
      if (/^-?(nan|NaN|None|inf|Infinity)(\s+\S+)?$/.test(x)) missing.push(x);
      if (/^-?\d+(\.\d+)?[eE][+-]\d+(\s+\S+)?$/.test(x)) enote.push(x);
    }
  }
  const tops = {};
  for (const id of FIRST_SCREEN) {
    const el = document.getElementById(id);
    tops[id] = el ? el.getBoundingClientRect().top + window.scrollY : null;
  }
  return {column, wide, missing: missing.slice(0, 5), enote: enote.slice(0, 5), tops,
          html: document.documentElement.outerHTML};
})()"""


def _dom_and_layout(page: Path, browser, first_screen: tuple[str, ...], screenshot: Path | None) -> dict:
    browser.open(page)
    result = browser.evaluate(LAYOUT_JS.replace("FIRST_SCREEN", json.dumps(list(first_screen))))
    if screenshot is not None:
        browser.screenshot(screenshot)
    return result


def check_page(
    path,
    min_figures: int = 0,
    allowed_selector: str = ALLOWED_SELECTOR,
    timeout: float = 60.0,
    require_csp: bool = False,
    browser=None,
    screenshot: Path | None = None,
    first_screen: tuple[str, ...] = (),
) -> list[str]:
    """Problems a reader would see on the rendered page, one line each; [] when it is fine.

    The page is opened in headless Chromium at 1400x900 (`browser`, a fwbench.book.browser.Browser, is reused
    when given); `screenshot` saves its first screen; every element id in `first_screen` must start within it.
    """
    from fwbench.book.browser import Browser

    page = Path(path).resolve()
    if not page.is_file():
        return [f"page missing: {page}"]
    chromium = find_chromium()  # a machine without Chromium is a setup error, not a page problem
    try:
        if browser is None:
            with Browser(chromium, timeout=timeout) as own:
                seen = _dom_and_layout(page, own, first_screen, screenshot)
        else:
            seen = _dom_and_layout(page, browser, first_screen, screenshot)
    except PageCheckError as exc:
        return [
            f"Chromium did not finish rendering {page.name} within {timeout:g} s: {exc}"
            if "did not answer in time" in str(exc)
            else str(exc)
        ]
    soup = BeautifulSoup(seen["html"], "html.parser")
    problems = []
    for table in seen["wide"]:
        problems.append(f"table wider than the content column: {table}")
    if seen["missing"]:
        problems.append(f"table cell(s) showing a missing value: {', '.join(seen['missing'])}")
    if seen["enote"]:
        problems.append(f"table cell(s) in e-notation: {', '.join(seen['enote'])}")
    for element, top in seen["tops"].items():
        if top is None:
            problems.append(f"#{element} is not on the page")
        elif top >= VIEWPORT[1]:
            problems.append(f"#{element} starts at {top:.0f} px, below the first screen ({VIEWPORT[1]} px)")

    if require_csp and soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"}) is None:
        problems.append("no Content-Security-Policy meta tag (fwbench.book.csp adds it after the build)")

    title = soup.title.get_text(strip=True) if soup.title else ""
    if not title or "<no title>" in title:
        problems.append(f"page title is {title or 'missing'!r}")

    article = next((found for sel in ARTICLE_SELECTORS if (found := soup.select_one(sel))), None)
    if article is None or not article.get_text(strip=True):
        problems.append("no main article content (article.bd-article / main)")
        article = article or soup.body or soup

    figures = 0
    for img in article.find_all("img"):
        src = (img.get("src") or "").strip()
        if src.startswith("data:"):
            figures += bool(src.partition(",")[2])  # an inline figure counts when it has a payload
            continue
        file = _local_image(src, page.parent) if src else None
        if file is None:
            problems.append(f"image is not a local file: {src or '(no src)'}")
        elif not file.is_file() or file.stat().st_size == 0:
            problems.append(f"image missing or empty: {src}")
        else:
            figures += 1
    if figures < min_figures:
        problems.append(f"{figures} figure(s), expected at least {min_figures}")

    for el in article.select(CELL_ERROR_SELECTOR):
        kind = next((c for c in ("traceback", "stderr", "error") if c in el.get("class", [])), "error")
        # Only the <pre>: sphinx-copybutton adds a "Copy to clipboard" button beside it at load.
        text = (el.find("pre") or el).get_text()
        quote = _first_line(text)
        if kind == "traceback":
            last = _first_line("\n".join(reversed(text.splitlines())))
            quote += f" ... {last}" if last != quote else ""
        problems.append(f"code cell {kind} output: {quote}")

    for el in article.select(".system-message, .problematic"):
        problems.append(f"docutils/Sphinx message rendered: {_first_line(el.get_text(' '))}")
    for el in article.select("span.xref"):
        if el.find_parent("a") is None:
            problems.append(f"unresolved reference: {_first_line(el.get_text())}")
    # MyST keeps an unresolved [text](#target) as a link to an anchor that is not there.
    ids = {el["id"] for el in soup.select("[id]")}
    for a in article.select("a.reference.internal[href]"):
        target = urlsplit(a["href"])
        if target.scheme or target.netloc:
            continue
        if target.path and not (page.parent / unquote(target.path)).is_file():
            problems.append(f"link to a missing page: {a['href']}")
        elif not target.path and target.fragment and unquote(target.fragment) not in ids:
            problems.append(f"link to a missing anchor: {a['href']} ({_first_line(a.get_text())})")

    # Text checks skip what chapters show on purpose, and code the authors wrote as code.
    scrubbed = copy.copy(article)
    for el in scrubbed.select(", ".join(filter(None, [allowed_selector, CELL_ERROR_SELECTOR, "script", "style"]))):
        el.extract()  # extract, not decompose: a match may sit inside one already taken out
    text = scrubbed.get_text("\n")
    for line in text.splitlines():
        if TRACEBACK in line:
            problems.append(f"raw traceback in page text: {_first_line(line)}")
            break
    for el in scrubbed.select("code.literal"):
        el.extract()
    leftovers = sorted(set(ROLE_LEFTOVER.findall(scrubbed.get_text(" "))))
    if leftovers:
        problems.append(f"unparsed MyST role(s) in page text: {', '.join(leftovers)}")
    # Numbers are checked in prose and in tables alike; code, tracebacks and error texts are what they are.
    numbers = copy.copy(article)
    for el in numbers.select(
        ", ".join(
            [
                CELL_ERROR_SELECTOR,
                ".fwbench-tracebacks, .fwbench-tb, .fwbench-tb-full",
                "script",
                "style",
                "pre",
                "code",
                "td.error, td.message",
            ]
        )
    ):
        el.extract()
    bad = sorted({m.group(0).strip() for m in NOT_A_NUMBER.finditer(numbers.get_text(" "))})
    if bad:
        problems.append(f"not a number where a number belongs: {', '.join(repr(b) for b in bad[:6])}")
    return problems


#: Elements of the first page that a reader must see without scrolling.
FIRST_SCREEN = {"intro.html": ("fwbench-machines", "pick-per-job")}
#: Where the first screens go: beside the book, not in it (a book checked and then published must not carry them).
SCREENSHOTS = "screenshots"


def screenshot_dir(html_dir) -> Path:
    """`<html_dir>/../screenshots`: for `_build/html`, `_build/screenshots`."""
    return Path(html_dir).resolve().parent / SCREENSHOTS


def check_book(html_dir, pages: dict[str, int], **kwargs) -> dict[str, list[str]]:
    """check_page for each page (relative to html_dir) with its minimum figure count, in one browser; a built
    book's pages must carry their Content-Security-Policy, and each page's first screen is saved beside the book
    (`screenshot_dir`) for review."""
    from fwbench.book.browser import Browser

    root = Path(html_dir)
    kwargs.setdefault("require_csp", True)
    timeout = kwargs.get("timeout", 60.0)
    results = {}
    browser = None
    try:
        for rel, min_figures in pages.items():
            if browser is None:
                browser = Browser(find_chromium(), *VIEWPORT, timeout=timeout).__enter__()
            shot = screenshot_dir(root) / (rel.replace("/", "__").removesuffix(".html") + ".png")
            results[rel] = check_page(
                root / rel,
                min_figures,
                browser=browser,
                screenshot=shot,
                first_screen=FIRST_SCREEN.get(rel, ()),
                **kwargs,
            )
            if any(p.startswith("Chromium") for p in results[rel]):  # a stuck page takes its browser with it
                browser.__exit__(None, None, None)
                browser = None
    finally:
        if browser is not None:
            browser.__exit__(None, None, None)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fwbench.book.pagecheck", description=__doc__)
    parser.add_argument("html_dir", type=Path, help="the built book, e.g. _build/html")
    parser.add_argument(
        "pages",
        nargs="*",
        help="pages relative to html_dir, PAGE or PAGE:MIN_FIGURES (default: every chapter that exists, no minimum)",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per page render")
    args = parser.parse_args(argv)
    if args.pages:
        pages = {}
        for spec in args.pages:
            rel, _, n = spec.partition(":")
            pages[rel] = int(n) if n else 0
    else:
        from fwbench.book.pages import html_pages

        pages = {rel: 0 for rel in html_pages() if (args.html_dir / rel).is_file()}
        if not pages:
            print(f"no chapter pages under {args.html_dir}", file=sys.stderr)
            return 1
    try:
        find_chromium()
    except PageCheckError as exc:
        print(exc, file=sys.stderr)
        return 2
    start = time.perf_counter()
    results = check_book(args.html_dir, pages, timeout=args.timeout)
    bad = 0
    for rel, problems in results.items():
        print(f"{rel}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        for p in problems:
            print(f"  - {p}")
        bad += bool(problems)
    print(
        f"{len(results)} page(s) in {time.perf_counter() - start:.1f} s; first screens in {screenshot_dir(args.html_dir)}"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
