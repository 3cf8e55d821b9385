"""Stops the processes a job started that outlived its kernel (servers in sessions of their own), found by the mark
every process of the job inherits in its environment."""

from __future__ import annotations

import os
import re

import psutil

#: The variable every process a job starts inherits: "<runner pid>:<job id>". The serving experiment starts its
#: servers and load generators in sessions of their own (so that a server's workers stop as one group), and the
#: data-parallel and outside-Python experiments do the same with their workers and browsers: when a kernel dies,
#: times out or is killed with its runner, nothing reaches those sessions, and a server left running makes every
#: later job of the run measure on a busy machine. The environment reaches them all, whatever their session.
MARK = "FWBENCH_JOB_MARK"

_OWNER = re.compile(r"^(\d+):")


def mark_of(job_id: str, runner_pid: int | None = None) -> str:
    """The mark of one job run by this process (or by `runner_pid`)."""
    return f"{runner_pid or os.getpid()}:{job_id}"


def _marked(select) -> list[psutil.Process]:
    """Processes of this user whose environment's mark satisfies `select(mark)`, this process excluded."""
    found = []
    me = os.getpid()
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        try:
            mark = proc.environ().get(MARK)
        except (psutil.Error, OSError):  # gone, a zombie, another user's, or a platform that hides it
            continue
        if mark and select(mark):
            found.append(proc)
    return found


def stop(procs: list[psutil.Process], grace_s: float = 5.0) -> list[int]:
    """SIGTERM to each process, SIGKILL to any still alive after `grace_s`; the pids that were stopped."""
    left = list(procs)
    for sig in ("terminate", "kill"):
        for proc in left:
            try:
                getattr(proc, sig)()
            except psutil.Error:
                pass
        _, left = psutil.wait_procs(left, timeout=grace_s)
        if not left:
            break
    return [p.pid for p in procs]


def stop_job(mark: str, grace_s: float = 5.0) -> list[int]:
    """Stop every process still carrying this job's mark once its kernel has ended; their pids."""
    procs = _marked(lambda m: m == mark)
    return stop(procs, grace_s) if procs else []


def stop_orphans(grace_s: float = 5.0) -> list[int]:
    """Stop every marked process whose runner is dead (killed with SIGKILL, or a lost terminal): what an earlier
    run could not stop itself. Processes of a live runner beside this one are left alone."""

    def orphaned(mark: str) -> bool:
        owner = _OWNER.match(mark)
        return owner is not None and int(owner.group(1)) != os.getpid() and not psutil.pid_exists(int(owner.group(1)))

    procs = _marked(orphaned)
    return stop(procs, grace_s) if procs else []
