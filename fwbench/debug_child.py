"""Entry point of one bug-injection case's own process: settings first, then the framework, then the case.

    python -m fwbench.debug_child --framework torch --bug shape --mode graph --tool none --out case.json
    python -m fwbench.debug_child --framework torch --survey scalar_log --out survey.json

Kept apart from fwbench.debug_harness because thread settings must be applied
before numpy or any framework is imported, and the harness imports numpy.
"""

from __future__ import annotations

import argparse
import sys
import tempfile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fwbench.debug_child", description=__doc__.splitlines()[0])
    parser.add_argument("--framework", required=True)
    parser.add_argument("--bug", help="planted bug to run (see fwbench.bugs.BUGS)")
    parser.add_argument("--mode", choices=["eager", "graph"], default="eager")
    parser.add_argument("--tool", default="none")
    parser.add_argument("--survey", help="instead of a bug: a tooling-survey item (profiler_trace, scalar_log)")
    parser.add_argument("--threads", default="auto")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    threads = int(args.threads) if args.threads.isdigit() else args.threads

    from fwbench import env

    env.apply(threads)
    from fwbench.bugs import BUGS
    from fwbench.frameworks import debug_tools, get_adapter, names
    from fwbench.store import write_json_atomic

    problem = None
    if args.framework not in names():
        problem = f"unknown framework {args.framework!r}; known: {', '.join(names())}"
    elif args.survey is None and args.bug not in BUGS:
        problem = f"unknown bug {args.bug!r}; known: {', '.join(BUGS)}"
    elif args.tool not in debug_tools(args.framework):
        problem = f"{args.framework} has no debugging tool {args.tool!r}; known: {', '.join(debug_tools(args.framework))}"
    if problem:
        print(problem, file=sys.stderr)
        return 2
    adapter = get_adapter(args.framework)
    adapter.configure(env.resolve_threads(threads))
    if args.survey:
        from fwbench.experiments.debugging import survey

        with tempfile.TemporaryDirectory() as logdir:
            record = survey(adapter, args.survey, logdir)
    else:
        from fwbench.debug_harness import run_case

        record = run_case(adapter.debug_target(), BUGS[args.bug], args.mode, args.tool)
    write_json_atomic(args.out, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
