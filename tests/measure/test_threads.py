"""The OS view of a process's threads, and the check that fails a job whose framework ignored its settings."""

import os

import pytest

from fwbench.measure import threads


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads /proc (Linux)")
def test_watch_sees_a_busy_thread_and_not_an_idle_one():
    """In a fresh interpreter that imports only the module under test: pytest's own process carries threads of
    libraries the other tests import (BLAS workers), which spin on their own schedule."""
    import json
    import subprocess
    import sys

    script = """
import json, threading, time
from fwbench.measure import threads
idle = threading.Event()
sleeper = threading.Thread(target=idle.wait, args=(5,))
sleeper.start()
try:
    with threads.Watch() as watch:
        cpu = time.process_time()
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:
            pass
        cpu = time.process_time() - cpu
finally:
    idle.set()
    sleeper.join()
print(json.dumps(dict(watch.usage.as_dict(), cpu=cpu, wall=watch.usage.wall_s)))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    u = json.loads(out.stdout)
    assert u["threads_total"] == 2
    assert u["threads_busy"] == 1  # the spinning main thread, not the sleeper
    # The process's own CPU time over the wall time: about 1 on an idle machine, less where other work shares the
    # cores (a fixed lower bound failed under a parallel test run).
    assert u["cpu_parallelism"] <= 1.2 and abs(u["cpu_parallelism"] - u["cpu"] / u["wall"]) < 0.2
    assert {"threads_total", "threads_busy", "cpu_parallelism", "wall_s"} <= set(u)


def test_problems_name_every_setting_that_did_not_take():
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    good = {"intra_op_threads": cpus, "inter_op_threads": 1, "matmul_precision": "highest"}
    assert threads.problems(cpus, good, 1, "highest", None) == []
    bad = {"intra_op_threads": cpus + 3, "inter_op_threads": 4, "matmul_precision": "high"}
    found = threads.problems(cpus, bad, 1, "highest", None)
    assert len(found) == 3
    assert any("intra-op threads" in p for p in found) and any("inter-op" in p for p in found)
    assert any("precision" in p for p in found)
    # A framework without an inter-op pool or precision setting reports None: nothing to check.
    assert threads.problems(cpus, {"intra_op_threads": cpus, "inter_op_threads": None}, 1, "highest", None) == []


def test_problems_catch_more_cpus_in_use_than_threads_requested():
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    good = {"intra_op_threads": cpus, "inter_op_threads": 1}
    busy = threads.Usage(threads_total=9, threads_busy=5, cpu_parallelism=cpus + 1.0, wall_s=1.0)
    assert any("CPUs at once" in p for p in threads.problems(cpus, good, 1, "highest", busy))
    within = threads.Usage(threads_total=9, threads_busy=3, cpu_parallelism=float(cpus), wall_s=1.0)
    assert threads.problems(cpus, good, 1, "highest", within) == []


def test_what_other_processes_do_meanwhile_is_counted_apart_from_our_own_threads_and_children():
    import subprocess
    import sys
    import time

    from fwbench.measure.threads import Watch, machine_cpu

    if machine_cpu() is None:
        import pytest

        pytest.skip("no /proc/stat here")
    burn = "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass"
    # Another process (not ours: started through a shell that exits, so it is no descendant) burns a CPU while this
    # one sleeps: the machine was busy, this process was not.
    subprocess.run(["sh", "-c", f"{sys.executable} -c '{burn}' >/dev/null 2>&1 &"], check=True)
    time.sleep(0.3)  # past the burner's interpreter start
    with Watch() as watch:
        time.sleep(1.0)
    usage = watch.usage.as_dict()
    assert usage["cpu_parallelism"] < 0.2
    assert usage["other_cpus"] > 0.3 and usage["steal_cpus"] >= 0
    time.sleep(0.4)  # the orphan ends by itself
    # The job's own child (a compile worker, say) burning a CPU is the job's work, not another process's: its CPU
    # time is read as the job's descendants' (asserted on that count alone, since the test suite runs other
    # processes beside this one that Watch rightly counts as others).
    import psutil

    from fwbench.measure.threads import descendants, descendants_cpu_s

    child = subprocess.Popen([sys.executable, "-c", burn])
    time.sleep(0.3)
    own = psutil.Process(child.pid)
    before, child_before = descendants_cpu_s(), sum(own.cpu_times()[:2])
    time.sleep(1.0)
    # Compared with the child's own CPU time, not with the wall clock: on a loaded machine it may get far less than
    # one CPU, and what is checked is that all of it is counted as the job's.
    counted, burned = descendants_cpu_s() - before, sum(own.cpu_times()[:2]) - child_before
    assert child.pid in descendants() and burned > 0.05 and counted >= 0.8 * burned
    child.wait()


def test_a_run_says_on_one_line_when_the_machine_is_already_busy():
    import subprocess
    import sys
    import time

    from fwbench.measure.threads import busiest, busy_line, machine_cpu, machine_load

    if machine_cpu() is None:
        import pytest

        pytest.skip("no /proc/stat here")
    assert busy_line({"other_cpus": 0.05, "loadavg_1m": 0.1, "top_processes": []}, 2) == ""
    burn = "import time\nend = time.time() + 2\nwhile time.time() < end: pass"
    out = subprocess.run(
        ["sh", "-c", f"{sys.executable} -c '{burn}' >/dev/null 2>&1 & echo $!"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(out.stdout)
    time.sleep(0.3)
    load = machine_load(0.5)
    line = busy_line(load, 2)
    # What it names depends on everything else the machine runs (a second test suite beside this one): the
    # ranking is checked on numbers we control, the live reading only for seeing the burner's CPU.
    assert load["other_cpus"] > 0.5 and load["top_processes"]
    assert busiest({11: 0.5, 12: 0.0, 13: 0.9, 14: 0.2, 15: 0.5}) == [13, 11, 15]
    named = load["top_processes"][0]
    assert line.startswith("fwbench: warning: the machine is busy") and "\n" not in line
    assert f"{named['name']} (pid {named['pid']})" in line and (
        pid in [p["pid"] for p in load["top_processes"]] or named["cpus"] >= 0.3
    )
