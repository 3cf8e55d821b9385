"""Builds the Jupyter Book from the current store: stages executed notebooks for the appendix, then runs jupyter-book."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

from fwbench.book import csp, guard, pages, size, stale
from fwbench.errors import BookError
from fwbench.files import write_json_atomic
from fwbench.measure.fingerprint import git_commit
from fwbench.paths import REPO, SCRATCH
from fwbench.report import sanitize, versions
from fwbench.report.results import Report
from fwbench.run.kernel import jupyter_env
from fwbench.store.store import Store

APPENDIX_RUNS = REPO / pages.APPENDIX_FOLDER
MATHJAX = SCRATCH / "static" / "mathjax" / "tex-chtml.js"
#: The whole text of appendix outputs too long for their page (fwbench.report.sanitize.MAX_PAGE_OUTPUT), served
#: from _static; each file holds at most MAX_WHOLE_OUTPUT characters so that one dump cannot swell the book.
OUTPUTS = SCRATCH / "static" / "outputs"
MAX_WHOLE_OUTPUT = 500_000


#: What a book is built from besides the store: the package (chapters' code, sanitizer, templates), the pages,
#: the book's configuration and the pinned environment.
BOOK_INPUTS = ("fwbench", "experiments", "chapters", "intro.md", "_config.yml", "_toc.yml", "requirements.lock")


def inputs_digest(manifest: dict, env: dict, store: Store) -> str:
    """A digest of everything a build's pages depend on: the store's runs (content hashes) and verdicts, the
    version stamp, the newest kept version (what "what changed" compares with), the settings passed to the
    chapters, and every file of BOOK_INPUTS except the appendix notebooks staged from the store."""
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {
                "manifest": {k: v for k, v in manifest.items() if k != "created"},
                "env": {k: v for k, v in sorted(env.items()) if k.startswith("FWBENCH_")},
                "kept": sorted(p.name for p in versions.reports_dir(store).glob("*.json"))[-1:],
            },
            sort_keys=True,
            default=str,
        ).encode()
    )
    for name in BOOK_INPUTS:
        root = REPO / name
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file() and APPENDIX_RUNS not in path.parents and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def report_version() -> str:
    """Date plus the project's commit, stamped on every build."""
    commit = git_commit()
    short = commit["commit"][:10] + ("+dirty" if commit.get("dirty") else "")
    return f"{dt.date.today().isoformat()} ({short})"


def appendix_name(run, job: dict) -> str:
    """The appendix page of a job's notebook, without suffix (built as chapters/appendix/runs/<name>.html)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{run.manifest['machine_id']}-{job['job_id']}")


def stage_appendix(report: Report, dest: Path = APPENDIX_RUNS, outputs: Path = OUTPUTS) -> set[str]:
    """Copy the executed notebook behind every result the book shows into the appendix, titled; return the
    staged pages' names (without suffix).

    A notebook already staged with the same content is left alone (its mtime too),
    so an incremental build re-renders only the appendix pages that changed.
    """
    dest.mkdir(parents=True, exist_ok=True)
    wanted, files = set(), set()
    outputs.mkdir(parents=True, exist_ok=True)
    for run, job in report.latest:
        src = run.notebook(job["job_id"])
        if not src.is_file() and not src.is_symlink():
            continue

        def keep_whole(text, base=appendix_name(run, job), mine=[]):  # noqa: B006 (one list per job, on purpose)
            """The whole of a long output as a text file the page links to (served from _static)."""
            name = f"{base}-{len(mine)}.txt"
            mine.append(name)
            if len(text) > MAX_WHOLE_OUTPUT:
                text = text[:MAX_WHOLE_OUTPUT] + (
                    f"\n[... {len(text) - MAX_WHOLE_OUTPUT:,} more characters: the run's "
                    "notebook in the store (or its bundle) holds them all ...]\n"
                )
            if not (outputs / name).is_file() or (outputs / name).read_text() != text:
                (outputs / name).write_text(text)
            files.add(name)
            return f"../../../_static/{outputs.name}/{name}"

        try:
            nb = sanitize.notebook(
                nbformat.reads(json.dumps(run.read_notebook(job["job_id"])), as_version=4), keep_whole
            )
        except Exception as exc:  # an unreadable notebook loses its page, not the book
            print(f"fwbench: warning: appendix: {src}: not a readable notebook ({type(exc).__name__})", file=sys.stderr)
            continue
        md = sanitize.md
        process = job.get("process")
        which = (
            f", process {int(process) + 1}" + (" (cold caches)" if int(process) == 0 else "")
            if isinstance(process, int)
            else ""
        )
        title = (
            f"# {md(job['framework'])} {md(job['variant'])}: {md(job['workload'])} on {md(job['device'])}{which} "
            f"({md(run.manifest['machine_label'])})\n\nRun {md(run.run_id)}, status **{md(job['status'])}**. "
            "This is the notebook as papermill executed it, with anything that could run in a browser "
            "(scripts, widgets, raw HTML) removed."
        )
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(title))
        for i, cell in enumerate(nb.cells):  # fresh ids: the inserted cell must not collide
            cell["id"] = f"fwbench-{i}"
        name = appendix_name(run, job) + ".ipynb"
        text = nbformat.writes(nb)
        if not (dest / name).is_file() or (dest / name).read_text() != text:
            (dest / name).write_text(text)
        wanted.add(name)
    for old in dest.glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    for old in outputs.glob("*.txt"):
        if old.name not in files:
            old.unlink()
    return {name[: -len(".ipynb")] for name in wanted}


def chapter_sources() -> list[Path]:
    """The pages that read the store: re-executed on every build, whatever Sphinx thinks changed."""
    return [REPO / "intro.md", *sorted((REPO / "chapters").glob("*.md")), REPO / "chapters" / "appendix" / "index.md"]


def stage_pages() -> Path:
    """Experiment chapters copied into the book and the TOC written, both from the registry; returns the TOC."""
    pages.stage_chapters()
    return pages.write_toc()


def build(out: Path = REPO, store_root: Path | None = None, builder: str = "html", record: bool = True) -> Path:
    """Build the book into `out/_build/<builder>`; return the index page.

    With `record`, a successful build keeps its version manifest in the store's
    `reports/`, which the next version's "what changed" page compares against.
    """
    if not MATHJAX.is_file():
        raise BookError(f"{MATHJAX} is missing: run `make setup` (MathJax is served locally, not from a CDN)")
    env = dict(os.environ)
    if store_root is not None:
        env["FWBENCH_STORE"] = str(Path(store_root).resolve())
    env.update(jupyter_env(SCRATCH / "jupyter"))
    version = report_version()
    env["FWBENCH_REPORT_VERSION"] = version
    env[guard.MARK] = "1"  # the pages are staged below: the build may run (fwbench.book.guard)
    env.pop("MPLBACKEND", None)  # a non-inline backend would silently drop every figure

    store = Store(store_root)
    report = Report.load(store.root)
    staged = stage_appendix(report)
    toc = stage_pages()
    # Computed once here and read by the "what changed" page, so the page and the kept manifest agree.
    manifest = versions.current_manifest(store, report, version, git_commit())
    manifest_path = SCRATCH / "current-report.json"
    write_json_atomic(manifest_path, manifest)
    env["FWBENCH_REPORT_MANIFEST"] = str(manifest_path)
    html_dir = Path(out).resolve() / "_build" / builder
    stamp = html_dir.parent / f".fwbench-{builder}-inputs"
    digest = inputs_digest(manifest, env, store)  # a stamp per builder; the parsed pages' stamp is shared
    if (html_dir / "index.html").is_file() and stamp.is_file() and stamp.read_text() == digest:
        # Same store, code, pages and environment as the book already there: every page would come out the
        # same, so nothing is executed or written, and no new version is kept.
        print(f"fwbench: the book in {html_dir} was built from these same inputs: nothing to rebuild")
        return html_dir / "index.html"
    stamp.unlink(missing_ok=True)  # a build that fails half-way must not look finished next time
    # Sphinx's parsed pages (doctrees) are shared by the builders. Left by a build from these same inputs (the
    # nightly's single-page build right after the HTML one), they are written out again without executing a
    # chapter twice: the PDF then shows exactly the HTML book's numbers.
    doctrees = Path(out).resolve() / "_build" / ".fwbench-doctrees-inputs"
    same_doctrees = doctrees.is_file() and doctrees.read_text() == digest
    doctrees.unlink(missing_ok=True)
    if not same_doctrees:
        # Incremental: unchanged appendix notebooks are not rendered again, but every chapter is re-read (and so
        # re-executed against the current store), so no page can show a stale number.
        for page in chapter_sources():
            page.touch()
    cmd = [
        sys.executable,
        "-m",
        "fwbench.book.jb",
        "build",
        "-W",
        "-n",
        "--keep-going",
        "--builder",
        builder,
        "--toc",
        str(toc),
        "--path-output",
        str(Path(out).resolve()),
        str(REPO),
    ]
    proc = subprocess.run(cmd, env=env, cwd=REPO)
    if proc.returncode != 0:
        raise BookError(f"jupyter-book build failed (exit {proc.returncode}); see the log above")
    # What older builds left (pages no longer in the book, figures no page shows) must not stay reachable.
    stale.remove_stale_pages(html_dir.parent, pages.page_names(staged), churning=(pages.APPENDIX_FOLDER,))
    stale.remove_unshown_images(html_dir)
    size.strip_source_maps(html_dir)
    if builder in ("html", "singlehtml"):
        for page, refused in csp.protect_tree(html_dir).items():
            # Left out of the page's policy, so the browser will not run it; named here so it gets looked at.
            print(
                f"fwbench: warning: {page}: inline code outside the theme's known forms is blocked: "
                f"{refused[0]}" + (f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""),
                file=sys.stderr,
            )
    if record:
        versions.save(store, manifest)
    # Digested again after saving: the next build's "what changed" compares with the version kept just now.
    digest = inputs_digest(manifest, env, store)
    stamp.write_text(digest)
    doctrees.write_text(digest)
    index = html_dir / "index.html"
    return index
