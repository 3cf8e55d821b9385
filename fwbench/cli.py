"""Command line: `python -m fwbench plan | run | report | results | book | validate | bundle | import | nightly | history`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from fwbench.errors import InputError, StoreError
from fwbench.store.store import Store

EXIT_OK, EXIT_FAILED_JOBS, EXIT_BAD_INPUT = 0, 1, 2


#: Commands that measure or import may create the store; every other command reads one that must exist.
_CREATING = {"run", "report", "nightly", "import"}


def _store(args) -> Store:
    store = Store(args.store)
    root = store.root
    if root.exists() and not root.is_dir():
        raise StoreError(f"{root}: the store path is a file, not a directory")
    if not root.exists():
        if args.command not in _CREATING:
            raise StoreError(f"{root}: no such store (a mistyped --store? measuring commands create one)")
        parent = next((p for p in root.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise StoreError(f"{root}: cannot create the store: {parent} is a file")
        # Said where it is created (Store.lock), once the command is sure to write: a refused run creates nothing.
    if args.command in _CREATING:
        # Checked here, before the machine lock: a store that cannot be written is the problem to name, even
        # while another runner measures.
        target = root if root.exists() else next((p for p in root.parents if p.exists()), None)
        if target is not None and not os.access(target, os.W_OK | os.X_OK):
            raise StoreError(f"{root}: permission denied: {target} cannot be written")
    return store


def _check_experiments() -> None:
    """Every experiment folder whole and consistent before anything is planned or measured: its declaration, its
    metrics, its claim rules' ids and its notebook's parameters (each a one-line ExperimentError naming the file)."""
    from fwbench.experiments import check_notebooks, metrics, registry
    from fwbench.report.claims import check_rules

    registry()
    metrics()
    check_rules()
    check_notebooks()


def cmd_run(args) -> int:
    _check_experiments()
    from fwbench.matrix.profile import load_profile
    from fwbench.run.runner import RunOptions, run_profile

    profile = load_profile(args.profile)  # validates everything before anything is written
    options = RunOptions(force=args.force, progress=not args.no_progress)
    executor = _executor(args, options)
    summary = run_profile(profile, _store(args), options, executor)
    for failure in summary.failures:
        print(f"fwbench: failed: {failure}", file=sys.stderr)
    print(summary.line())
    return EXIT_FAILED_JOBS if summary.failed else EXIT_OK


def _executor(args, options):
    """Where the jobs run: None for this machine (Ray is then never imported), or a Ray cluster's nodes."""
    if getattr(args, "executor", "local") == "local":
        if getattr(args, "address", None):
            raise InputError("--address is for --executor ray")
        return None
    address = args.address or os.environ.get("RAY_ADDRESS")
    if not address:
        raise InputError("--executor ray needs --address HOST:PORT (the Ray head node's address) or RAY_ADDRESS")
    from fwbench.run.ray_executor import RayExecutor

    return RayExecutor(address, options)


def cmd_plan(args) -> int:
    _check_experiments()
    from fwbench.matrix.profile import load_profile
    from fwbench.run import estimate
    from fwbench.run.plan import describe, plan
    from fwbench.run.runner import RunOptions

    store = Store(args.store)
    if store.root.exists() and not store.root.is_dir():
        raise StoreError(f"{store.root}: the store path is a file, not a directory")
    if not store.root.exists():  # a plan for a store that could never be created is no plan
        parent = next((p for p in store.root.parents if p.exists() or p.is_symlink()), None)
        if parent is None or not parent.is_dir():
            raise StoreError(f"{store.root}: cannot be a store: {parent} is not a directory")
    profile, stored = load_profile(args.profile), []
    executor = _executor(args, RunOptions(force=args.force))
    if executor is not None:  # each class's jobs against the machine its nodes fingerprint as (a Ray task on each node)
        from fwbench.run.plan import describe_classes, plan_classes

        with executor.session():
            targets = executor.targets(profile)
        for line in describe_classes(plan_classes(targets, store, force=args.force)):
            print(line)
        # (Each class's expected minutes are printed by `run`, which knows what its nodes stored.)
        return EXIT_OK
    elsewhere: list = []
    planned = plan(profile, store, force=args.force, stored=stored, elsewhere=elsewhere)
    for line in describe(planned):
        print(line)
    rows = estimate.expected(profile.jobs, {p.job.job_id for p in planned if p.action == "run"}, stored, elsewhere)
    for line in estimate.table(rows):
        print(line)
    warning = estimate.over_budget(rows, profile.budget_min)
    if warning:
        print(warning, file=sys.stderr)
    return EXIT_OK


def cmd_results(args) -> int:
    from fwbench.report import tidy

    runs, problems = _store(args).load(strict=False)
    from fwbench.report.results import Report

    # As the book and `validate` do: a bad file costs only its own job or run, and is named.
    for problem in problems:
        print(f"fwbench: skipped unreadable file: {problem}", file=sys.stderr)
    if problems and args.strict:
        print(f"fwbench: error: {len(problems)} file(s) unreadable; nothing written (--strict)", file=sys.stderr)
        return EXIT_BAD_INPUT
    n = tidy.write(runs, Path(args.output), args.format, derived=tidy.derived_rows(Report(runs)))
    skipped = f"; {len(problems)} unreadable file(s) skipped" if problems else ""
    print(f"fwbench: wrote {n} rows from {len(runs)} runs to {args.output}{skipped}")
    return EXIT_OK


def _import_references(args) -> None:
    """Committed reference bundles join the store first (idempotent), so the book shows them beside this machine."""
    from fwbench.store.bundle import import_references

    if not args.no_reference:
        for line in import_references(_store(args)):
            print(line)


def cmd_book(args) -> int:
    from fwbench.book.build import build

    _import_references(args)
    index = build(Path(args.out), store_root=_store(args).root, builder=args.builder)
    from fwbench.book.size import size_line

    print(f"fwbench: book built: {index}\nfwbench: {size_line(index.parent)}")
    return EXIT_OK


def cmd_report(args) -> int:
    """Run the profile, build the book whatever happened, then say where it is and how the run went."""
    _check_experiments()
    from fwbench.book.build import build
    from fwbench.matrix.profile import load_profile
    from fwbench.run.runner import RunOptions, run_profile

    profile = load_profile(args.profile)
    options = RunOptions(force=args.force, progress=not args.no_progress)
    executor = _executor(args, options)  # a missing --address is said before anything is imported or run
    _import_references(args)
    summary = run_profile(profile, _store(args), options, executor)
    index = build(Path(args.out), store_root=_store(args).root)
    for failure in summary.failures:
        print(f"fwbench: failed: {failure}", file=sys.stderr)
    print(f"fwbench: book: {index}")
    print(summary.line())
    return EXIT_FAILED_JOBS if summary.failed else EXIT_OK


def cmd_validate(args) -> int:
    """Every file of the store: runs and jobs, the import log and the kept report versions; one line per bad file."""
    from fwbench.report.versions import check_reports
    from fwbench.store.bundle import imported_runs, without_provenance

    store = _store(args)
    runs, problems = store.load(strict=False)
    problems += [f"{link}: a symbolic link (a store never follows links; remove it)" for link in store.links()]
    try:
        imported_runs(store)
        # Named, not counted as invalid: a store moved to a new machine holds such runs too.
        for line in without_provenance(store, runs):
            print(f"fwbench: warning: {line}", file=sys.stderr)
    except StoreError as exc:
        problems.append(str(exc))
    problems += check_reports(store)
    for problem in problems:
        print(f"fwbench: invalid: {problem}", file=sys.stderr)
    jobs = sum(len(r.jobs) for r in runs)
    if problems:
        print(f"fwbench: {len(runs)} runs, {jobs} jobs readable; {len(problems)} file(s) invalid")
        return EXIT_BAD_INPUT
    print(f"fwbench: {len(runs)} runs, {jobs} jobs, all valid")
    return EXIT_OK


def cmd_bundle(args) -> int:
    from fwbench.store.bundle import pack

    machines = ["*"] if args.all else args.machine
    skipped: list[str] = []
    index = pack(_store(args), Path(args.output), machines, skipped)
    for problem in skipped:
        print(f"fwbench: skipped unreadable file: {problem}", file=sys.stderr)
    jobs = sum(sum(f.startswith("jobs/") for f in r["files"]) for r in index["runs"].values())
    print(
        f"fwbench: bundled {len(index['runs'])} run(s) ({jobs} jobs) of "
        f"{', '.join(f'{label} ({mid})' for mid, label in sorted(index['machines'].items()))} into {args.output}"
    )
    return EXIT_OK


def cmd_import(args) -> int:
    from fwbench.store.bundle import import_bundle

    for path in args.bundle:
        print(import_bundle(_store(args), Path(path)).line(path))
    return EXIT_OK


def cmd_nightly(args) -> int:
    _check_experiments()
    from fwbench.nightly import NightlyOptions, nightly
    from fwbench.run.runner import RunOptions

    executor = _executor(args, RunOptions(force=args.force, progress=not args.no_progress))
    return nightly(
        _store(args),
        NightlyOptions(
            profile=args.profile,
            out=Path(args.out),
            book_out=Path(args.book_out),
            force=args.force,
            reference=not args.no_reference,
            progress=not args.no_progress,
            executor=executor,
        ),
    )


def cmd_history(args) -> int:
    from fwbench.report.history import Selection, history_table
    from fwbench.report.results import Report

    report = Report.load(_store(args).root)
    for problem in report.problems:  # as the book does: what could not be read is said, not silently dropped
        print(f"fwbench: warning: skipping unreadable file: {problem}", file=sys.stderr)
    table = history_table(report, Selection(args.framework, args.workload, args.variant, args.phase, args.batch))
    if table.empty:
        print("fwbench: no stored results for that selection", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(table.to_string(index=False))
    return EXIT_OK


def _measuring_flags(p: argparse.ArgumentParser, profile: str) -> None:
    """The flags every command that measures takes."""
    p.add_argument("--profile", default=profile, help="profile name under profiles/ or a YAML path")
    p.add_argument("--force", action="store_true", help="re-run jobs even if a stored result has the same inputs")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _executor_flags(p: argparse.ArgumentParser) -> None:
    """Where a measuring command's jobs run."""
    p.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="local: this machine, one job at a time (default); ray: the measuring nodes of a Ray cluster, "
        "one job per node at a time (README, 'Many machines')",
    )
    p.add_argument(
        "--address",
        default=None,
        help="with --executor ray: the head node's address, HOST:PORT (default: $RAY_ADDRESS)",
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fwbench", description="Measure PyTorch, TensorFlow and JAX; build the report."
    )
    p.add_argument("--store", default=None, help="results store directory (default: $FWBENCH_STORE or ./results)")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute a profile's jobs with papermill into the store")
    _measuring_flags(run, "quick")
    _executor_flags(run)
    run.set_defaults(func=cmd_run)

    rep = sub.add_parser("report", help="run a profile, then build the book (what `make report` does)")
    _measuring_flags(rep, "quick")
    _executor_flags(rep)
    rep.add_argument("--out", default=".", help="directory that receives _build/html/")
    rep.add_argument("--no-reference", action="store_true", help="do not import the committed reference bundles")
    rep.set_defaults(func=cmd_report)

    pla = sub.add_parser("plan", help="dry run: every job of a profile, reused or to run, and which input changed")
    _measuring_flags(pla, "quick")
    _executor_flags(pla)
    pla.set_defaults(func=cmd_plan)

    res = sub.add_parser("results", help="export every stored record in long (tidy) format")
    res.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    res.add_argument("-o", "--output", required=True, help="file to write")
    res.add_argument(
        "--strict",
        action="store_true",
        help="write nothing and exit 2 if any stored file is unreadable (default: skip and name it)",
    )
    res.set_defaults(func=cmd_results)

    book = sub.add_parser("book", help="build the Jupyter Book from the store")
    book.add_argument("--out", default=".", help="directory that receives _build/<builder>/")
    book.add_argument("--builder", choices=["html", "singlehtml"], default="html")
    book.add_argument("--no-reference", action="store_true", help="do not import the committed reference bundles")
    book.set_defaults(func=cmd_book)

    val = sub.add_parser("validate", help="check every file in the store against the schema")
    val.set_defaults(func=cmd_validate)

    bun = sub.add_parser("bundle", help="pack this machine's runs into one archive of data files")
    bun.add_argument("-o", "--output", required=True, help="bundle file to write (*.fwbundle)")
    bun.add_argument("--machine", action="append", help="machine id to pack (repeatable; default: this machine)")
    bun.add_argument("--all", action="store_true", help="pack every machine's runs")
    bun.set_defaults(func=cmd_bundle)

    imp = sub.add_parser("import", help="validate bundles and add their runs to the store")
    imp.add_argument("bundle", nargs="+", help="bundle file(s) written by `fwbench bundle`")
    imp.set_defaults(func=cmd_import)

    nig = sub.add_parser(
        "nightly",
        help="run a profile (cached), build the book and its PDF, compare with the "
        "previous version; exit 3 on a significant regression",
    )
    _measuring_flags(nig, "full")
    _executor_flags(nig)
    nig.add_argument("--out", default="_build/nightly", help="directory for the PDF, summary and bundle")
    nig.add_argument("--book-out", default=".", help="directory that receives _build/html/ and _build/singlehtml/")
    nig.add_argument("--no-reference", action="store_true", help="do not import the committed reference bundles")
    nig.set_defaults(func=cmd_nightly)

    his = sub.add_parser("history", help="one timing over every stored run: per machine, date and framework version")
    his.add_argument("--framework", required=True)
    his.add_argument("--workload", required=True)
    his.add_argument("--variant", required=True)
    his.add_argument("--phase", default="train", help="train or infer")
    his.add_argument("--batch", type=int, default=None, help="batch size (default: the largest measured)")
    his.set_defaults(func=cmd_history)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (InputError, ValueError, KeyError) as exc:  # bad input of any kind: one line, exit 2
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(
            f"fwbench: error: {str(message).splitlines()[0] if str(message) else type(exc).__name__}", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    except OSError as exc:  # a store or file we cannot write or read: permissions, a file in the way, a full disk
        where = exc.filename or getattr(args, "store", None) or "the store"
        print(f"fwbench: error: {where}: {exc.strerror or type(exc).__name__}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RuntimeError as exc:  # BookError and friends: a build step failed, not bad input
        print(f"fwbench: error: {exc}", file=sys.stderr)
        return EXIT_FAILED_JOBS
