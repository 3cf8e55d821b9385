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


@dataclass
class Usage:
    """What the OS saw while a block of work ran."""

    threads_total: int  # threads alive at the end (framework pools, compilers, Python)
    threads_busy: int  # threads that used at least BUSY_SHARE of a CPU
    cpu_parallelism: float  # CPU seconds of all threads per wall second
    wall_s: float
    # What else the machine did meanwhile, in CPUs (CPU seconds per wall second): other processes (children
    # such as compile workers included) and the hypervisor's steal. None where /proc/stat is unreadable.
    other_cpus: float | None = None
    steal_cpus: float | None = None

    def as_dict(self) -> dict:
        out = {"threads_total": self.threads_total, "threads_busy": self.threads_busy,
               "cpu_parallelism": round(self.cpu_parallelism, 3), "wall_s": round(self.wall_s, 3)}
        if self.other_cpus is not None:
            out.update(other_cpus=round(self.other_cpus, 3), steal_cpus=round(self.steal_cpus, 3))
        return out


class Watch:
    """Context manager: per-thread CPU time across the block, as a Usage in `.usage`."""

    def __enter__(self):
        self._machine, self._before, self._start = machine_cpu(), cpu_by_thread(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self._start
        after, machine = cpu_by_thread(), machine_cpu()
        used = [after[t] - self._before.get(t, 0.0) for t in after]
        own = sum(used)
        other = steal = None
        if machine is not None and self._machine is not None and wall > 0:
            # Ticks are coarse: a short block can read slightly below its own use, never below nothing.
            other = max(0.0, (machine["busy"] - self._machine["busy"] - own) / wall)
            steal = max(0.0, (machine["steal"] - self._machine["steal"]) / wall)
        self.usage = Usage(threads_total=len(after), threads_busy=sum(u >= BUSY_SHARE * wall for u in used),
                           cpu_parallelism=own / wall if wall > 0 else 0.0, wall_s=wall,
                           other_cpus=other, steal_cpus=steal)
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
        found.append(f"the steps used {usage.cpu_parallelism:.2f} CPUs at once where {requested} threads were requested")
    return found
