"""fwbench.measure.quiet, for real: the job's own processes (a child in a session of its own, one that ends inside
the block) never read as other programs; a program outside the job does, and a block it disturbs runs again and is
kept marked busy. (Run beside the other half of the test suite: "quiet" is never assumed here.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from fwbench.measure import quiet
from fwbench.measure.threads import descendants

SPIN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\nprint('spun', flush=True)\n"


def test_own_cpu_counts_a_child_that_ended_and_one_in_its_own_session():
    before = quiet.own_cpu_s()
    subprocess.run([sys.executable, "-c", SPIN.format(s=0.4)], check=True, capture_output=True)
    live = subprocess.Popen(
        [sys.executable, "-c", SPIN.format(s=0.4) + "time.sleep(60)\n"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # as the serving experiment starts its servers
    )
    try:
        assert live.stdout.readline().strip() == "spun"
        # Both children's 0.4 s of spinning (and their interpreters' start) are the job's own time.
        assert quiet.own_cpu_s() - before >= 0.75
    finally:
        live.kill()
        live.wait()


@pytest.fixture
def outsider():
    """A program that keeps one core busy and is not this process's descendant (its parent exited: it was
    re-parented), as another user's job would be."""
    out = subprocess.run(
        ["sh", "-c", f"{sys.executable} -c 'while True: pass' >/dev/null 2>&1 & echo $!"],
        capture_output=True,
        text=True,
        check=True,
        start_new_session=True,
    )
    pid = int(out.stdout.strip())
    try:
        deadline = time.monotonic() + 5
        while pid in descendants() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pid not in descendants()
        time.sleep(0.2)  # past its interpreter's start
        yield pid
    finally:
        os.kill(pid, signal.SIGKILL)


def test_a_program_outside_the_job_reads_as_other_cpus_and_busy(outsider):
    with quiet.Watch() as w:
        time.sleep(0.6)
    assert w.window.wall_s >= 0.6 and w.window.other_cpus >= 0.7
    assert w.window.busy(quiet.Guard())


def test_a_busy_block_runs_again_and_is_kept_marked_busy(outsider):
    calls = []
    out, how = quiet.guarded(lambda: calls.append(time.sleep(0.3)) or len(calls), quiet.Guard(redo=2))
    assert out == 3 and len(calls) == 3 and how.attempts == 3 and how.busy and how.other_cpus >= 0.7
    assert how.records() == {"busy_block": 1.0, "block_attempts": 3.0, "other_cpus": round(how.other_cpus, 3)}


def test_a_block_within_the_bound_runs_once():
    out, how = quiet.guarded(lambda: "done", quiet.Guard(busy_cpus=1000))
    assert out == "done" and how.attempts == 1 and not how.busy
    assert how.records()["busy_block"] == 0.0 and how.records()["block_attempts"] == 1.0


def test_a_window_without_a_reading_is_never_busy():
    assert not quiet.Window(1.0, None).busy(quiet.Guard()) and not quiet.Window(0.0, 5.0).busy(quiet.Guard())
