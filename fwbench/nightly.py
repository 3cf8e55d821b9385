"""The nightly build: measure (cached), build the book and its PDF, compare with the previous version, summarize."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fwbench.files import write_json_atomic
from fwbench.store.store import Store

EXIT_OK, EXIT_FAILED_JOBS, EXIT_REGRESSION = 0, 1, 3


@dataclass(frozen=True)
class NightlyOptions:
    """What one night runs and where it leaves its products."""

    profile: str = field(default="full", metadata={"help": "profile to run (cached: only changed jobs execute)"})
    out: Path = field(default=Path("_build/nightly"), metadata={"help": "directory for the PDF, summary and bundle"})
    book_out: Path = field(
        default=Path("."), metadata={"help": "directory that receives _build/html and _build/singlehtml"}
    )
    force: bool = field(default=False, metadata={"help": "re-run every job even if a stored result matches"})
    reference: bool = field(default=True, metadata={"help": "import the committed reference bundles first"})
    progress: bool = field(default=True, metadata={"help": "show the runner's progress bar"})
    executor: object = field(
        default=None,
        metadata={
            "help": "where the jobs run: None for this machine, or a fwbench.run.ray_executor.RayExecutor (its bundle "
            "then holds the runs of every machine the cluster measured)"
        },
    )


def print_pdf(html: Path, pdf: Path, timeout_s: float = 300) -> Path:
    """Print a single-page HTML build to PDF with headless Chromium, offline, from its print page
    (fwbench.book.printpage: the executed notebooks, most of its bytes and of Chromium's time, left out)."""
    from fwbench.book.pagecheck import headless
    from fwbench.book.printpage import print_page

    pdf.parent.mkdir(parents=True, exist_ok=True)
    headless(print_page(html), "--no-pdf-header-footer", f"--print-to-pdf={pdf.resolve()}", timeout=timeout_s)
    if not pdf.is_file() or pdf.stat().st_size == 0:
        raise RuntimeError(f"Chromium did not print {html} to PDF")
    return pdf


def summary_text(changes, run_line: str, pdf: Path | None) -> str:
    """The few lines a maintainer reads in the morning."""
    c = changes
    lines = [
        f"fwbench nightly: report version {c.current['version']}",
        f"runner: {run_line}",
        f"compared with: {c.previous['version'] if c.previous else 'no earlier version with other runs'}",
        f"runs added: {len(c.added)}; verdicts changed: {len(c.verdicts)}; timing cells compared: {c.compared}; "
        f"moved beyond noise: {len(c.moves)} ({len(c.regressions)} slower)",
    ]
    for _, v in c.verdicts.iterrows():
        lines.append(f"  verdict {v['claim']}: {v['before']} -> {v['now']}")
    for _, m in c.moves.iterrows():
        lines.append(
            f"  {m['direction'].upper()}: {m['machine']} {m['framework']} {m['variant']} {m['workload']} "
            f"{m['phase']} b{m['batch']}: {m['before_s'] * 1e3:.3g} -> {m['now_s'] * 1e3:.3g} ms "
            f"(x{m['ratio']:.2f}, interval x{m['ci_low']:.2f}-x{m['ci_high']:.2f})"
        )
    if pdf:
        lines.append(f"pdf: {pdf}")
    lines.append("REGRESSION" if len(c.regressions) else "no significant regression")
    return "\n".join(lines) + "\n"


def nightly(store: Store, options: NightlyOptions = NightlyOptions()) -> int:
    from fwbench.book.build import build
    from fwbench.matrix.profile import load_profile
    from fwbench.report import versions
    from fwbench.run.runner import RunOptions, run_profile
    from fwbench.store.bundle import import_references, pack, this_machine_id

    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    if options.reference:
        for line in import_references(store):
            print(line)
    summary = run_profile(
        load_profile(options.profile),
        store,
        RunOptions(force=options.force, progress=options.progress),
        options.executor,
    )
    print(summary.line())
    for failure in summary.failures:
        print(f"fwbench: failed: {failure}")
    build(options.book_out, store_root=store.root)  # keeps this version's manifest in the store
    single = build(options.book_out, store_root=store.root, builder="singlehtml", record=False)
    pdf = print_pdf(single, out / "report.pdf")
    current = versions.history(store)[-1]
    changes = versions.compare(store, current, versions.previous(store, current))
    # A cluster's night bundles every machine it measured; a local night, this machine.
    machines = sorted(summary.machines) if options.executor is not None else None
    bundle = out / (f"{this_machine_id()}.fwbundle" if machines is None else "cluster.fwbundle")
    skipped: list[str] = []
    try:
        pack(store, bundle, machines, skipped=skipped)
        for problem in skipped:
            print(f"fwbench: bundle: skipped unreadable file: {problem}")
    except Exception as exc:  # a night with no runs of this machine still reports
        print(f"fwbench: no bundle: {exc}")
        bundle = None
    text = summary_text(changes, summary.line(), pdf)
    (out / "summary.txt").write_text(text)
    write_json_atomic(
        out / "summary.json",
        {
            **changes.to_json(),
            "runner": summary.line(),
            "failed_jobs": summary.failures,
            "pdf": str(pdf),
            "bundle": str(bundle) if bundle else None,
        },
    )
    print(text, end="")
    if len(changes.regressions):
        return EXIT_REGRESSION
    return EXIT_FAILED_JOBS if summary.failed else EXIT_OK
