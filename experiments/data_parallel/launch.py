"""Start a group of worker processes on loopback ports, wait for them with a bound, and leave nothing behind.

Each rank is a fresh interpreter in a session of its own (so its whole process group can be killed) that sets a
parent-death signal and watches its parent (so it dies if the launcher is killed). A rank that fails ends the group after a short grace;
a group that outlives its timeout is killed and stored as a hang. Afterwards every rank's process is gone and
every port the group was given can be bound again, or the launch says which is not.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from fwbench.measure.ports import free_ports, port_is_free

WORKER = "fwbench.experiments.data_parallel.worker"
#: Seconds the other ranks get to finish after one rank failed before the group is killed (a peer left waiting in
#: a collective would otherwise run to the group's timeout).
GRACE_S = 5.0


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie is not: it holds no socket and runs nothing)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@dataclass
class Launch:
    """What one group did: each rank's result (or None), how it ended, and what was cleaned up."""

    ranks: list[dict | None]
    outcome: str = field(metadata={"help": "ok, failed (a rank failed or died), timeout (the group was killed)"})
    error: dict | None
    wall_s: float
    spawned_at: float
    ports: list[int]
    pids: list[int]
    leftovers: list[str] = field(default_factory=list, metadata={"help": "processes or ports that survived cleanup"})
    stderr: list[str] = field(default_factory=list)


def launch(
    request: dict,
    world: int,
    threads: int,
    cpus: list[list[int]],
    timeout_s: float,
    workdir: Path,
    ports_needed: int | None = None,
) -> Launch:
    """Run `world` ranks of `request` (a worker request without rank, world, ports, out) under `timeout_s`."""
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    ports = free_ports(ports_needed or world) if world > 1 else []
    procs, outs, errs = [], [], []
    spawned_at = time.time()
    started = time.monotonic()
    for rank in range(world):
        out = workdir / f"rank{rank}.json"
        out.unlink(missing_ok=True)
        req = {
            **request,
            "rank": rank,
            "world": world,
            "ports": ports,
            "threads": threads,
            "cpus": cpus[rank],
            "out": str(out),
            "weights": str(workdir / f"weights{rank}.npz"),
            "parent": os.getpid(),
            "deadline_s": timeout_s + 30,
        }
        path = workdir / f"request{rank}.json"
        path.write_text(json.dumps(req))
        err = open(workdir / f"rank{rank}.stderr", "w+")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", WORKER, str(path)], stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
            )
        )
        outs.append(out)
        errs.append(err)
    (workdir / "pids.json").write_text(json.dumps({"pids": [p.pid for p in procs], "ports": ports}))
    outcome, error = "ok", None
    failed_at = None
    try:
        while [p.poll() for p in procs].count(None):  # poll every rank: each poll is what sets its returncode
            now = time.monotonic()
            if failed_at is None and any(p.returncode not in (None, 0) for p in procs):
                failed_at = now
            if failed_at is not None and now - failed_at > GRACE_S:
                break
            if now - started > timeout_s:
                outcome = "timeout"
                error = {
                    "type": "Timeout",
                    "message": f"the {world}-process group had not finished after {timeout_s:g} s: killed",
                    "traceback": "",
                }
                break
            time.sleep(0.05)
    finally:
        for p in procs:
            _kill_group(p)
    wall = time.monotonic() - started
    ranks = [json.loads(o.read_text()) if o.is_file() else None for o in outs]
    stderr = []
    for err in errs:
        err.seek(0)
        stderr.append(err.read()[-8000:])
        err.close()
    if outcome == "ok":
        bad = [
            (i, p.returncode, r)
            for i, (p, r) in enumerate(zip(procs, ranks))
            if p.returncode != 0 or r is None or r.get("error") or r.get("stage") != "done"
        ]
        if bad:
            outcome = "failed"
            # The cause first: a rank that stored its own error, then one that died by itself, before the peers the
            # launcher killed after it.
            bad.sort(key=lambda b: (not (b[2] and b[2].get("error")), b[1] == -signal.SIGKILL))
            i, code, r = bad[0]
            if r and r.get("error"):
                error = {**r["error"], "rank": i, "stage": r.get("stage")}
            else:
                how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
                reason = "killed: a peer had failed" if code == -signal.SIGKILL and failed_at else how
                error = {
                    "type": "ProcessDied",
                    "rank": i,
                    "stage": (r or {}).get("stage", "import"),
                    "message": f"rank {i} ended ({reason}) without a result",
                    "traceback": stderr[i],
                }
    elif error is not None:
        stages = [(r or {}).get("stage", "import") for r in ranks]
        error["message"] += f" (stages reached: {', '.join(f'rank {i} {s}' for i, s in enumerate(stages))})"
    leftovers = [f"pid {p.pid} (rank {i})" for i, p in enumerate(procs) if alive(p.pid)]
    leftovers += [f"port {port}" for port in ports if not _wait_port(port)]
    return Launch(
        ranks=ranks,
        outcome=outcome,
        error=error,
        wall_s=wall,
        spawned_at=spawned_at,
        ports=ports,
        pids=[p.pid for p in procs],
        leftovers=leftovers,
        stderr=stderr,
    )


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the rank's whole session (it and anything it started), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # also when the rank exited: something it started may be left
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _wait_port(port: int, within_s: float = 5.0) -> bool:
    """Whether `port` is free, allowing the kernel a moment to release a killed process's listener."""
    end = time.monotonic() + within_s
    while True:
        if port_is_free(port):
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
