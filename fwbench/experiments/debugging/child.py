"""Entry point of one bug-injection case's own process: settings first, then the framework, then the case.

    python -m fwbench.experiments.debugging.child --framework torch --bug shape --mode graph --tool none --out case.json
    python -m fwbench.experiments.debugging.child --framework torch --survey scalar_log --out survey.json
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
import os
import signal
import sys
import tempfile
import time
import traceback


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fwbench.experiments.debugging.child", description=__doc__.splitlines()[0])
    parser.add_argument("--framework", required=True)
    parser.add_argument("--bug", help="planted bug to run (see fwbench.experiments.debugging.bugs.BUGS)")
    parser.add_argument("--mode", choices=["eager", "graph"], default="eager")
    parser.add_argument("--tool", default="none")
    parser.add_argument("--survey", help="instead of a bug: a tooling-survey item (profiler_trace, scalar_log)")
    parser.add_argument("--threads", default="auto")
    parser.add_argument("--out", help="where the record goes (required unless --serve)")
    parser.add_argument("--serve", action="store_true", help="read cases from stdin and fork a child for each")
    args = parser.parse_args(argv)
    if not args.serve and not args.out:
        parser.error("--out is required unless --serve")
    threads = int(args.threads) if args.threads.isdigit() else args.threads

    from fwbench.measure import env

    env.apply(threads)
    from fwbench.experiments.debugging.bugs import BUGS
    from fwbench.experiments.debugging import hooks
    from fwbench.frameworks import get_adapter, names
    from fwbench.files import write_json_atomic

    def problem_of(bug, tool, survey) -> str | None:
        if args.framework not in names():
            return f"unknown framework {args.framework!r}; known: {', '.join(names())}"
        if survey is None and bug not in BUGS:
            return f"unknown bug {bug!r}; known: {', '.join(BUGS)}"
        if tool not in hooks.tools(args.framework):
            return f"{args.framework} has no debugging tool {tool!r}; known: {', '.join(hooks.tools(args.framework))}"
        return None

    problem = problem_of(args.bug if not args.serve else next(iter(BUGS)), args.tool, args.survey)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    adapter = get_adapter(args.framework)
    adapter.configure(env.resolve_threads(threads))
    if args.serve:
        return serve(adapter, problem_of)
    if args.survey:
        from fwbench.experiments.debugging.measure import survey

        with tempfile.TemporaryDirectory() as logdir:
            record = survey(adapter, args.survey, logdir)
    else:
        from fwbench.experiments.debugging.harness import run_case

        record = run_case(hooks.get(adapter.name).target(adapter), BUGS[args.bug], args.mode, args.tool)
    write_json_atomic(args.out, record)
    return 0


def serve(adapter, problem_of) -> int:
    """Answer case requests from stdin, one JSON object per line, each run in a forked child.

    A request is {"bug", "mode", "tool", "out", "workdir", "timeout_s"}; the reply (a line starting with
    REPLY) is {"returncode": exit status or -signal, "timed_out": bool} or {"problem": ...}. The child's
    stdout and stderr go to files in workdir, where the caller reads them as it would a process's output.
    """
    from fwbench.experiments.debugging.bugs import BUGS
    from fwbench.experiments.debugging import hooks
    from fwbench.experiments.debugging.harness import run_case
    from fwbench.files import write_json_atomic

    for line in sys.stdin:
        request = json.loads(line)
        problem = problem_of(request["bug"], request["tool"], None)
        if problem:
            _reply({"problem": problem})
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the case: a process in which nothing else ever ran
            code = 1
            try:
                os.chdir(request["workdir"])
                # stdin is the server's request pipe: nothing a case does may read the next request.
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                for fd, name in ((1, "stdout.txt"), (2, "stderr.txt")):
                    os.dup2(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
                record = run_case(hooks.get(adapter.name).target(adapter), BUGS[request["bug"]], request["mode"], request["tool"])
                write_json_atomic(request["out"], record)
                code = 0
            except BaseException:  # noqa: BLE001 - whatever happened, the parent must hear of it as an exit status
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _reply(_wait(pid, float(request["timeout_s"])))
    return 0


def _wait(pid: int, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return {"returncode": os.waitstatus_to_exitcode(status), "timed_out": False}
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"returncode": -signal.SIGKILL, "timed_out": True}
        time.sleep(0.005)


def _reply(body: dict) -> None:
    from fwbench.experiments.debugging.harness import REPLY

    sys.stdout.write(REPLY + json.dumps(body) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
