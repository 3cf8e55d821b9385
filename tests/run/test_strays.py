"""fwbench.run.strays: processes carrying a job's mark, in sessions of their own as servers are, are found and
stopped; other jobs' processes and a live runner's are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from fwbench.run import strays


def _detached(mark: str | None, ignore_term: bool = False) -> subprocess.Popen:
    """A process in a session of its own (as the serving experiment starts its servers), carrying `mark`."""
    env = {k: v for k, v in os.environ.items() if k != strays.MARK}
    if mark:
        env[strays.MARK] = mark
    code = "import signal, time\n"
    if ignore_term:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "print('up', flush=True)\ntime.sleep(300)\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "up"  # its handlers are set before it is signalled
    return proc


@pytest.fixture
def procs():
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _dead_pid() -> int:
    """A pid no process has now."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not psutil.pid_exists(proc.pid)
    return proc.pid


def test_a_jobs_marked_processes_stop_and_no_other_does(procs):
    mine = strays.mark_of("serving-torch-cpu-p0")
    procs += [_detached(mine), _detached(mine, ignore_term=True)]
    other_job, unmarked = _detached(strays.mark_of("serving-torch-cpu-p1")), _detached(None)
    procs += [other_job, unmarked]
    started = time.monotonic()
    stopped = strays.stop_job(mine, grace_s=1.0)
    assert sorted(stopped) == sorted(p.pid for p in procs[:2])
    # (Their exit statuses went to psutil, which reaped them: these are children of this test.)
    assert not any(psutil.pid_exists(p.pid) and psutil.Process(p.pid).status() != "zombie" for p in procs[:2])
    assert time.monotonic() - started < 10  # one that ignores SIGTERM gets SIGKILL after the grace
    assert other_job.poll() is None and unmarked.poll() is None
    assert strays.stop_job(mine) == []  # nothing left: a second call finds nothing


def test_orphans_of_a_dead_runner_stop_and_a_live_runners_stay(procs):
    orphan = _detached(strays.mark_of("job-a", runner_pid=_dead_pid()))
    live_runner = _detached(strays.mark_of("job-b", runner_pid=os.getppid()))
    own = _detached(strays.mark_of("job-c"))  # this process's own job: stopped by stop_job, not as an orphan
    procs += [orphan, live_runner, own]
    assert strays.stop_orphans(grace_s=1.0) == [orphan.pid]
    assert orphan.wait(timeout=10) is not None
    assert live_runner.poll() is None and own.poll() is None


def test_a_mark_that_names_no_runner_is_left_alone(procs):
    odd = _detached("not-a-pid:job")
    procs.append(odd)
    assert strays.stop_orphans(grace_s=1.0) == []
    assert odd.poll() is None
