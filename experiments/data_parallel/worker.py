"""One rank of a data-parallel group, in a fresh interpreter: `python -m fwbench.experiments.data_parallel.worker
REQUEST.json`. It starts its framework's process group, checks a known-answer all-reduce, trains the workload for
a fixed number of steps on its slice of each global batch, and writes its result JSON (and, rank 0, the final
weights as .npz). It dies with its launcher (parent-death signal and a watch on its parent) and at its deadline,
so that a failed or killed job leaves no process behind."""

from __future__ import annotations

import json
import os
import sys
import threading
import time

#: Elements of the known-answer all-reduce: more than gloo's and TF's ring chunk sizes, so the ring's pieces are
#: put back together in the check; integers below 2**24, so every partial sum is exact in float32.
ALLREDUCE_ELEMENTS = 1 << 18


def _die_with_parent(parent: int, deadline: float) -> None:
    """Exit at once when the launcher is gone or the deadline has passed (a hung collective never returns): the
    kernel's parent-death signal where there is one (Linux), and a thread that watches the parent and the clock."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(86)  # the launcher died before the signal was set

    def watch():
        while True:
            if os.getppid() != parent or time.monotonic() > deadline:
                os._exit(86)
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True, name="fwbench-watchdog").start()


def _settings(threads: int, cpus: list[int]) -> None:
    """Threads and CPUs of this rank, before numpy or a framework loads (as fwbench.measure.env.apply does)."""
    if hasattr(os, "sched_setaffinity") and cpus:
        os.sched_setaffinity(0, cpus)
    os.environ.update(
        {
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "OPENBLAS_NUM_THREADS": str(threads),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        }
    )


def expected_sum(world: int, n: int = ALLREDUCE_ELEMENTS):
    """What the all-reduce must give: rank r contributes (r + 1) * [1 .. n], so the sum is world(world+1)/2 * [1..n]."""
    import numpy as np

    return (world * (world + 1) // 2) * np.arange(1, n + 1, dtype=np.float32)


def contribution(rank: int, n: int = ALLREDUCE_ELEMENTS):
    import numpy as np

    return (rank + 1) * np.arange(1, n + 1, dtype=np.float32)


def main(request_path: str) -> int:
    started = time.time()
    req = json.loads(open(request_path).read())
    _die_with_parent(req["parent"], time.monotonic() + req["deadline_s"])
    _settings(req["threads"], req["cpus"])
    rank, world, out = req["rank"], req["world"], req["out"]
    result = {"rank": rank, "world": world, "pid": os.getpid(), "started": started, "stage": "import"}

    def save():
        tmp = f"{out}.tmp"
        with open(tmp, "w") as fh:
            json.dump(result, fh)
        os.replace(tmp, out)

    group = hook = None
    try:
        import numpy as np

        from fwbench.experiments.data_parallel import hooks
        from fwbench.workloads import get_workload

        t0 = time.perf_counter()
        hook = hooks.get(req["framework"])
        result["framework_settings"] = hook.configure(req["threads"])
        result.update(import_s=time.perf_counter() - t0, api=hook.API)
        if req.get("fault") == "die" and rank == world - 1:
            os._exit(3)  # a planted failure (tests): this rank dies before joining, its peers wait in the group start
        if req.get("fault") == "hang" and rank == world - 1:
            time.sleep(10**6)  # a planted hang: never joins
        group = None
        if world > 1:
            result["stage"] = "group"
            save()  # a hang from here on leaves the stage it stopped at
            t0 = time.perf_counter()
            group = hook.init_group(rank, world, req["ports"], req["collective_timeout_s"])
            result["init_s"] = time.perf_counter() - t0
            result["stage"] = "all_reduce"
            save()
            got = hook.all_reduce(group, contribution(rank))
            result["ready_s"] = time.perf_counter() - t0  # the group answered its first collective
            result["ready_at"] = time.time()
            want = expected_sum(world)
            result["all_reduce"] = {
                "elements": int(want.size),
                "max_abs_err": float(np.max(np.abs(got - want))),
                "exact": bool(np.array_equal(got, want)),
            }
        spec = get_workload(req["workload"])
        if req.get("task") == "keras_fit":
            result["stage"] = "keras_fit"
            x, y = spec.batch(req["global_batch"] * req["steps"], index=0)
            result["keras_fit"] = hook.keras_fit(group, spec, x, y, req["steps"])
            result["stage"] = "done"
            save()
            return 0
        result["stage"] = "train"
        save()
        trainer = hook.Trainer(spec, group, world)
        local = req["global_batch"] // world
        lo = rank * local
        batches = []
        for i in range(req["distinct_batches"]):
            x, y = spec.batch(req["global_batch"], index=i)
            batches.append(trainer.prepare(x[lo : lo + local], y[lo : lo + local]))
        times, losses = [], []
        for step in range(req["warmup"] + req["steps"]):
            t0 = time.perf_counter()
            loss = trainer.step(batches[step % len(batches)])
            times.append(time.perf_counter() - t0)
            losses.append(loss)
        result.update(step_times_s=times, losses=losses, timed=trainer.timed, local_batch=local, stage="done")
        if rank == 0:
            np.savez(req["weights"], **trainer.weights())
        save()
    except BaseException as exc:  # the launcher stores it: a failed rank is a result
        from fwbench.measure.child import error_of

        error = error_of(exc, whole_message=True)
        lines = [line for line in error["message"].splitlines() if line.strip()]
        # Some messages print whole tensors between their first and last line: keep the two ends.
        error["message"] = (lines[0] if len(lines) < 2 else f"{lines[0]} ... {lines[-1]}")[:500] if lines else ""
        result["error"] = error
        save()
        return 1
    finally:
        if group is not None:
            hook.shutdown(group)  # a hang here is bounded like any other: the launcher has the result already
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
