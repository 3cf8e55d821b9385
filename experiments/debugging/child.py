"""Entry point of one bug-injection case's own process: settings first, then the framework, then the case.

    python -m fwbench.experiments.debugging.child --framework torch --bug shape --mode graph --tool none --out case.json
    python -m fwbench.experiments.debugging.child --framework torch --survey scalar_log --out survey.json
    python -m fwbench.experiments.debugging.child --framework torch --tool detect_anomaly --cost eager --seed 0 \
        --settings '{"overhead_workload": "mlp", ...}' --out cost.json   # one process of a tool's cost
    python -m fwbench.experiments.debugging.child --framework torch --serve   # cases as JSON lines on stdin, one fork each

--serve pays the framework's import once: the server imports and configures it,
runs nothing, and forks a child per case, so every case still starts from a
process in which no case ran (see fwbench.experiments.debugging.harness.CaseServer).

Kept apart from fwbench.experiments.debugging.harness because thread settings must be applied
before numpy or any framework is imported, and the harness imports numpy.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fwbench.experiments.debugging.child", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--framework", required=True)
    parser.add_argument("--bug", help="planted bug to run (see fwbench.experiments.debugging.bugs.BUGS)")
    parser.add_argument("--mode", choices=["eager", "graph"], default="eager")
    parser.add_argument("--tool", default="none")
    parser.add_argument("--survey", help="instead of a bug: a tooling-survey item (profiler_trace, scalar_log)")
    parser.add_argument("--cost", choices=["eager", "graph"], help="instead of a bug: time --tool's cost in this mode")
    parser.add_argument("--seed", type=int, default=0, help="--cost: seed of the off/on block order")
    parser.add_argument("--settings", default="{}", help="--cost: the experiment's parameters it reads, as JSON")
    parser.add_argument("--threads", default="auto")
    parser.add_argument("--out", help="where the record goes (required unless --serve)")
    parser.add_argument("--serve", action="store_true", help="read cases from stdin and fork a child for each")
    args = parser.parse_args(argv)
    if not args.serve and not args.out:
        parser.error("--out is required unless --serve")
    threads = int(args.threads) if args.threads.isdigit() else args.threads

    from fwbench.measure import env

    env.apply(threads)
    from fwbench.experiments.debugging import hooks
    from fwbench.experiments.debugging.bugs import BUGS
    from fwbench.files import write_json_atomic
    from fwbench.frameworks import get_adapter, names

    def problem_of(bug, tool, survey) -> str | None:
        if args.framework not in names():
            return f"unknown framework {args.framework!r}; known: {', '.join(names())}"
        if survey is None and bug not in BUGS:
            return f"unknown bug {bug!r}; known: {', '.join(BUGS)}"
        if tool not in hooks.tools(args.framework):
            return f"{args.framework} has no debugging tool {tool!r}; known: {', '.join(hooks.tools(args.framework))}"
        return None

    problem = problem_of(args.bug if not args.serve else next(iter(BUGS)), args.tool, args.survey or args.cost)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    adapter = get_adapter(args.framework)
    adapter.configure(env.resolve_threads(threads))
    if not args.survey:  # a survey item compiles nothing (and a preload cannot hide a package that is missing)
        hooks.preload(adapter.name)
    if args.serve:
        return serve(adapter, problem_of)
    if args.cost:
        record = _cost(
            adapter, {"tool": args.tool, "cost": args.cost, "seed": args.seed, "settings": json.loads(args.settings)}
        )
    elif args.survey:
        from fwbench.experiments.debugging.measure import survey

        with tempfile.TemporaryDirectory() as logdir:
            record = survey(adapter, args.survey, logdir)
    else:
        from fwbench.experiments.debugging.harness import run_case

        record = run_case(hooks.get(adapter.name).target(adapter), BUGS[args.bug], args.mode, args.tool)
    write_json_atomic(args.out, record)
    return 0


def _cost(adapter, request: dict) -> dict:
    from fwbench.experiments.debugging.measure import COST_FIELDS, Params, tool_cost

    settings = {k: v for k, v in request["settings"].items() if k in COST_FIELDS}
    return tool_cost(adapter, request["tool"], request["cost"], Params(**settings), request["seed"])


def serve(adapter, problem_of) -> int:
    """Answer case requests ({"bug", "mode", "tool", "out"} beside fwbench.measure.forkserver's own keys),
    tool-cost requests ({"cost": mode, "tool", "settings", "seed", "out"}) and survey requests ({"survey": item,
    "tool": "none", "out"}), one fork each."""
    from fwbench.experiments.debugging import hooks
    from fwbench.experiments.debugging.bugs import BUGS
    from fwbench.experiments.debugging.harness import run_case
    from fwbench.files import write_json_atomic
    from fwbench.measure import forkserver

    def handle(request: dict) -> None:
        if "cost" in request:
            record = _cost(adapter, request)
        elif "survey" in request:
            from fwbench.experiments.debugging.measure import survey

            with tempfile.TemporaryDirectory() as logdir:
                record = survey(adapter, request["survey"], logdir)
        else:
            record = run_case(
                hooks.get(adapter.name).target(adapter), BUGS[request["bug"]], request["mode"], request["tool"]
            )
        write_json_atomic(request["out"], record)

    return forkserver.serve(
        handle,
        lambda request: problem_of(request.get("bug"), request["tool"], request.get("cost") or request.get("survey")),
    )


if __name__ == "__main__":
    sys.exit(main())
