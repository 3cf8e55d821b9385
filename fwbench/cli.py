"""Command line: `python -m fwbench run | results | book | validate`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fwbench.store import Store, StoreError

EXIT_OK, EXIT_FAILED_JOBS, EXIT_BAD_INPUT = 0, 1, 2


def _store(args) -> Store:
    return Store(args.store)


def cmd_run(args) -> int:
    from fwbench.matrix import load_profile
    from fwbench.runner import RunOptions, run_profile

    profile = load_profile(args.profile)  # validates everything before anything is written
    summary = run_profile(profile, _store(args), RunOptions(force=args.force, progress=not args.no_progress))
    for failure in summary.failures:
        print(f"fwbench: failed: {failure}", file=sys.stderr)
    print(summary.line())
    return EXIT_FAILED_JOBS if summary.failed else EXIT_OK


def cmd_results(args) -> int:
    from fwbench import tidy

    runs, _ = _store(args).load(strict=True)
    n = tidy.write(runs, Path(args.output), args.format)
    print(f"fwbench: wrote {n} rows from {len(runs)} runs to {args.output}")
    return EXIT_OK


def cmd_book(args) -> int:
    from fwbench.book import build

    index = build(Path(args.out), store_root=_store(args).root, builder=args.builder)
    print(f"fwbench: book built: {index}")
    return EXIT_OK


def cmd_report(args) -> int:
    """Run the profile, build the book whatever happened, then say where it is and how the run went."""
    from fwbench.book import build
    from fwbench.matrix import load_profile
    from fwbench.runner import RunOptions, run_profile

    profile = load_profile(args.profile)
    summary = run_profile(profile, _store(args), RunOptions(force=args.force, progress=not args.no_progress))
    index = build(Path(args.out), store_root=_store(args).root)
    for failure in summary.failures:
        print(f"fwbench: failed: {failure}", file=sys.stderr)
    print(f"fwbench: book: {index}")
    print(summary.line())
    return EXIT_FAILED_JOBS if summary.failed else EXIT_OK


def cmd_validate(args) -> int:
    runs, _ = _store(args).load(strict=True)
    print(f"fwbench: {len(runs)} runs, {sum(len(r.jobs) for r in runs)} jobs, all valid")
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fwbench", description="Measure PyTorch, TensorFlow and JAX; build the report.")
    p.add_argument("--store", default=None, help="results store directory (default: $FWBENCH_STORE or ./results)")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute a profile's jobs with papermill into the store")
    run.add_argument("--profile", default="quick", help="profile name under experiments/profiles/ or a YAML path")
    run.add_argument("--force", action="store_true", help="re-run jobs even if a stored result has the same inputs")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.set_defaults(func=cmd_run)

    rep = sub.add_parser("report", help="run a profile, then build the book (what `make report` does)")
    rep.add_argument("--profile", default="quick", help="profile name under experiments/profiles/ or a YAML path")
    rep.add_argument("--force", action="store_true", help="re-run jobs even if a stored result has the same inputs")
    rep.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    rep.add_argument("--out", default=".", help="directory that receives _build/html/")
    rep.set_defaults(func=cmd_report)

    res = sub.add_parser("results", help="export every stored record in long (tidy) format")
    res.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    res.add_argument("-o", "--output", required=True, help="file to write")
    res.set_defaults(func=cmd_results)

    book = sub.add_parser("book", help="build the Jupyter Book from the store")
    book.add_argument("--out", default=".", help="directory that receives _build/<builder>/")
    book.add_argument("--builder", choices=["html", "singlehtml"], default="html")
    book.set_defaults(func=cmd_book)

    val = sub.add_parser("validate", help="check every file in the store against the schema")
    val.set_defaults(func=cmd_validate)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (StoreError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"fwbench: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RuntimeError as exc:  # BookError and friends: a build step failed, not bad input
        print(f"fwbench: error: {exc}", file=sys.stderr)
        return EXIT_FAILED_JOBS
