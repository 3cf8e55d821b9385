"""Threads a measuring process really ran, read from the OS, and the check that they match what was asked."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

#: A thread counts as busy when it used at least this share of one CPU while the steps ran.
BUSY_SHARE = 0.05
#: Headroom of the CPU-parallelism check: the Python thread and the OS account time in ticks.
PARALLELISM_SLACK = 0.1


def cpu_by_thread() -> dict[str, float]:
    """CPU seconds (user + system) used so far by each thread of this process (Linux; empty elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    out = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[tid] = (int(fields[11]) + int(fields[12])) / tick  # utime and stime, fields 14 and 15 of stat
    return out


def machine_cpu() -> dict[str, float] | None:
    """CPU seconds the whole machine has spent so far: busy (everything but idle and I/O wait) and stolen by the
    hypervisor (Linux /proc/stat; None elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return {"busy": (user + nice + system + irq + softirq) / tick, "steal": steal / tick}


def run_delay_s() -> float | None:
    """Seconds this process's threads have spent runnable but waiting for a CPU so far, summed over its live
    threads (Linux schedstat, in nanoseconds: fine enough for a 20 ms block; None where it is not kept).

    A step waits only while something else holds the CPUs it could run on: another process, or more threads of
    its own than CPUs. Read around a block, it says how much of the block the job was kept off the CPUs."""
    total, found = 0, False
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/schedstat", "rb") as f:
                total += int(f.read().split()[1])
            found = True
        except (OSError, ValueError, IndexError):  # the thread ended meanwhile, or no schedstat here
            continue
    return total * 1e-9 if found else None


def descendants_cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process's live descendants, such as compile workers: the
    job's own work, which must not read as another process taking the machine (Linux; 0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for pid in descendants():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError, IndexError):  # ended meanwhile
            pass
    return total


def descendants() -> set[int]:
    """Process ids of this process's live descendants (Linux `children` lists of every thread; empty elsewhere)."""
    found, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    kids = [int(c) for c in f.read().split()]
            except (OSError, ValueError):
                continue
            for kid in kids:
                if kid not in found:
                    found.add(kid)
                    todo.append(kid)
    return found


@dataclass
class Usage:
    """What the OS saw while a block of work ran."""

    threads_total: int  # threads alive at the end (framework pools, compilers, Python)
    threads_busy: int  # threads that used at least BUSY_SHARE of a CPU
    cpu_parallelism: float  # CPU seconds of all threads per wall second
    wall_s: float
    # What else the machine did meanwhile, in CPUs (CPU seconds per wall second): other processes (the job's own
    # children, such as compile workers, left out) and the hypervisor's steal. None where /proc/stat is unreadable.
    other_cpus: float | None = None
    steal_cpus: float | None = None

    def as_dict(self) -> dict:
        out = {
            "threads_total": self.threads_total,
            "threads_busy": self.threads_busy,
            "cpu_parallelism": round(self.cpu_parallelism, 3),
            "wall_s": round(self.wall_s, 3),
        }
        if self.other_cpus is not None:
            out.update(other_cpus=round(self.other_cpus, 3), steal_cpus=round(self.steal_cpus, 3))
        return out


class Watch:
    """Context manager: per-thread CPU time across the block, as a Usage in `.usage`."""

    def __enter__(self):
        self._machine, self._before, self._start = machine_cpu(), cpu_by_thread(), time.perf_counter()
        self._children = descendants_cpu_s()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self._start
        after, machine = cpu_by_thread(), machine_cpu()
        used = [after[t] - self._before.get(t, 0.0) for t in after]
        own = sum(used)
        children = max(0.0, descendants_cpu_s() - self._children)
        other = steal = None
        if machine is not None and self._machine is not None and wall > 0:
            # Ticks are coarse: a short block can read slightly below its own use, never below nothing.
            other = max(0.0, (machine["busy"] - self._machine["busy"] - own - children) / wall)
            steal = max(0.0, (machine["steal"] - self._machine["steal"]) / wall)
        self.usage = Usage(
            threads_total=len(after),
            threads_busy=sum(u >= BUSY_SHARE * wall for u in used),
            cpu_parallelism=own / wall if wall > 0 else 0.0,
            wall_s=wall,
            other_cpus=other,
            steal_cpus=steal,
        )
        return False


def problems(requested: int, in_effect: dict, expected_inter_op: int, precision: str, usage: Usage | None) -> list[str]:
    """Why the process did not run with the threads and precision asked for; empty when it did.

    `in_effect` is what the framework reports after being configured (see Adapter.configure).
    """
    found = []
    if in_effect.get("intra_op_threads") != requested:
        found.append(f"intra-op threads {in_effect.get('intra_op_threads')} where {requested} were requested")
    if in_effect.get("inter_op_threads") not in (expected_inter_op, None):
        found.append(f"inter-op threads {in_effect.get('inter_op_threads')} where {expected_inter_op} was requested")
    if in_effect.get("matmul_precision") not in (precision, None):
        found.append(f"matmul precision {in_effect.get('matmul_precision')!r} where {precision!r} was requested")
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) != requested:
        found.append(f"the process may run on {len(os.sched_getaffinity(0))} CPUs where {requested} were requested")
    if usage is not None and usage.cpu_parallelism > requested + PARALLELISM_SLACK:
        found.append(
            f"the steps used {usage.cpu_parallelism:.2f} CPUs at once where {requested} threads were requested"
        )
    return found


#: Other processes using more than this many CPUs before a run make the runner say so (pyperf warns likewise).
BUSY_AT_START_CPUS = 0.25


def _process_cpu() -> dict[int, tuple[str, float]]:
    """pid -> (command name, CPU seconds so far) of every process (Linux; empty elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    out = {}
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return out
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
            fields = rest.split()
            out[pid] = (head.split("(", 1)[1][:32], (int(fields[11]) + int(fields[12])) / tick)
        except (OSError, ValueError, IndexError):
            continue
    return out


TOP_PROCESSES = 3  # a run started beside two others (a test suite, a build) names them all, not only the busiest


def busiest(used: dict[int, float], n: int = TOP_PROCESSES) -> list[int]:
    """The `n` processes that used the most CPU time (pid -> seconds), busiest first; idle ones never."""
    return sorted((pid for pid in used if used[pid] > 0), key=lambda pid: (-used[pid], pid))[:n]


def machine_load(seconds: float = 0.5) -> dict:
    """What other processes take from the CPUs right now: CPUs used by everything but this process and its
    descendants over `seconds`, the 1-minute load average, and the busiest other processes. For the line a run
    prints before it starts, and the run's manifest."""
    me = {os.getpid()}
    before_procs, before = _process_cpu(), machine_cpu()
    time.sleep(seconds)
    after_procs, after = _process_cpu(), machine_cpu()
    try:
        load1 = os.getloadavg()[0]
    except OSError:
        load1 = None
    mine = me | descendants()
    used = {
        pid: after_procs[pid][1] - before_procs[pid][1]
        for pid in after_procs
        if pid in before_procs and pid not in mine
    }
    top = busiest(used)
    other = None
    if before is not None and after is not None:
        own = sum(after_procs.get(p, ("", 0.0))[1] - before_procs.get(p, ("", 0.0))[1] for p in mine)
        other = max(0.0, (after["busy"] - before["busy"] - own) / seconds)
    return {
        "other_cpus": None if other is None else round(other, 2),
        "loadavg_1m": load1,
        "top_processes": [
            {"name": after_procs[pid][0], "pid": pid, "cpus": round(used[pid] / seconds, 2)} for pid in top
        ],
    }


def busy_line(load: dict, cpus: int) -> str:
    """One line saying the machine is already busy, or "" when it is quiet enough to measure."""
    other = load.get("other_cpus")
    if other is None or other < BUSY_AT_START_CPUS:
        return ""
    top = load.get("top_processes") or []
    who = (
        ("; busiest: " + ", ".join(f"{p['name']} (pid {p['pid']}) at {p['cpus']:.2f} CPUs" for p in top)) if top else ""
    )
    return (
        f"fwbench: warning: the machine is busy before the run: other processes use {other:.2f} of {cpus} CPUs "
        f"(1-minute load {load.get('loadavg_1m') or 0:.2f}){who}. Blocks measured while it stays busy are run "
        f"again, and series still disturbed are kept out of verdicts."
    )
