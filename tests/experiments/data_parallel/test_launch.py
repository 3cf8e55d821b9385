"""A failed, hung or killed data-parallel launch leaves no process and no port behind (real worker processes)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from fwbench.experiments.data_parallel.launch import alive, free_ports, launch
from fwbench.measure.ports import port_is_free as port_free

# In the slow part's process (scripts/run_tests.py), to even out `make test`'s two halves.
pytestmark = pytest.mark.with_slow

REQUEST = {
    "framework": "torch",
    "workload": "mlp",
    "global_batch": 8,
    "steps": 2,
    "warmup": 1,
    "distinct_batches": 1,
    "collective_timeout_s": 60,
    "task": "train",
}
CPUS = [sorted(os.sched_getaffinity(0))] * 2 if hasattr(os, "sched_getaffinity") else [[], []]


def _gone(pids, ports):
    assert [p for p in pids if alive(p)] == []
    assert [p for p in ports if not port_free(p)] == []


def test_free_ports_are_distinct_and_bindable():
    ports = free_ports(3)
    assert len(set(ports)) == 3 and all(port_free(p) for p in ports)


def test_a_rank_that_dies_ends_its_group_and_leaves_nothing(tmp_path):
    """The last rank exits before joining: rank 0 waits in the group start until the launcher ends it."""
    got = launch({**REQUEST, "fault": "die"}, 2, 1, CPUS, timeout_s=120, workdir=tmp_path)
    assert got.outcome == "failed" and got.error["type"] == "ProcessDied" and got.error["rank"] == 1
    assert got.wall_s < 60  # ended after the grace, not at the timeout
    assert got.leftovers == []
    _gone(got.pids, got.ports)


def test_a_hung_group_is_killed_at_its_timeout_and_stored_as_such(tmp_path):
    got = launch({**REQUEST, "fault": "hang"}, 2, 1, CPUS, timeout_s=8, workdir=tmp_path)
    assert got.outcome == "timeout" and got.error["type"] == "Timeout"
    assert "rank 0 group" in got.error["message"]  # the stage each rank reached is named
    assert got.leftovers == []
    _gone(got.pids, got.ports)


LAUNCHER = """
import json, sys
from pathlib import Path
from fwbench.experiments.data_parallel.launch import launch
launch(json.loads(sys.argv[1]), 2, 1, json.loads(sys.argv[2]), timeout_s=600, workdir=Path(sys.argv[3]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_the_launcher_kills_its_ranks_and_frees_their_ports(tmp_path):
    """The job's process is killed outright (as a runner's timeout kills a kernel): its ranks must not survive."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, json.dumps({**REQUEST, "fault": "hang"}), json.dumps(CPUS), str(tmp_path)],
        env=env,
    )
    pids_file = tmp_path / "pids.json"
    deadline = time.monotonic() + 60
    while not pids_file.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    started = json.loads(pids_file.read_text())
    time.sleep(3)  # the ranks are running (importing, or rank 0 waiting in the group start)
    assert any(alive(p) for p in started["pids"])
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    deadline = time.monotonic() + 15
    while any(alive(p) for p in started["pids"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    _gone(started["pids"], started["ports"])
