"""Entry point of one measured pipeline's own process: settings, then the loader's framework, then the stream.

    python -m fwbench.experiments.input_pipeline.child --framework torch --request pipeline.json --out result.json

Fresh, so that import, worker start-up and memory are this pipeline's alone. The request is the
pipeline (fwbench.experiments.input_pipeline.pipeline.Pipeline as JSON) plus `check` (also run the
augmentation-free check pass) and `rss_interval_s`. The result is JSON: import time, time to first
batch, each epoch's wall time and label counts, the peak RSS of the process tree (sampled), the CPU
seconds of the tree over the steady epochs, and the check pass's pixel statistics; or the error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fwbench.experiments.input_pipeline.child", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--framework", required=True, help="tensorflow (tf.data), torch (DataLoader) or jax (grain)")
    parser.add_argument("--request", required=True, help="the pipeline and what to measure, as a JSON file")
    parser.add_argument("--out", required=True, help="where the result goes")
    parser.add_argument("--threads", default="auto")
    args = parser.parse_args(argv)
    threads = int(args.threads) if args.threads.isdigit() else args.threads

    started = time.perf_counter()
    from fwbench.measure import env

    settings = env.apply(threads)
    from fwbench.files import write_json_atomic
    from fwbench.measure.child import error_of

    request = json.loads(open(args.request).read())
    result = {"framework": args.framework, "threads": settings["threads"], "stage": "import"}
    try:
        measure_stream(args.framework, request, result)
        result["stage"] = "done"
    except Exception as exc:  # a loader that fails is a result: stored with the stage it reached
        result["error"] = error_of(exc)
    result["process_s"] = time.perf_counter() - started
    write_json_atomic(args.out, result)
    return 0


class TreeSampler:
    """Peak resident memory of this process and all its descendants (workers), sampled on a thread.

    RSS counts a page shared by several processes (forked workers' copy-on-write pages, memory-mapped file
    pages) once in each, so the sum is an upper bound of what the tree holds."""

    def __init__(self, interval_s: float):
        import threading

        import psutil

        self._me = psutil.Process()
        self._interval = interval_s
        self.peak_bytes = 0
        self.max_processes = 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        import psutil

        total, procs = 0, [self._me]
        try:
            procs += self._me.children(recursive=True)
        except psutil.Error:
            pass
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue  # a worker that just ended
        self.peak_bytes = max(self.peak_bytes, total)
        self.max_processes = max(self.max_processes, len(procs))

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def __enter__(self):
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()


def tree_cpu() -> dict:
    """CPU seconds (user + system) so far: this process (all its threads) under 'self', each live descendant by pid."""
    import resource

    import psutil

    me = psutil.Process()
    usage = resource.getrusage(resource.RUSAGE_SELF)  # microseconds; a worker's times come in clock ticks
    out = {"self": usage.ru_utime + usage.ru_stime}
    for proc in me.children(recursive=True):
        try:
            t = proc.cpu_times()
            out[proc.pid] = t.user + t.system
        except psutil.Error:
            continue
    return out


def cpu_between(start: dict, end: dict) -> float:
    """CPU seconds of the tree between two `tree_cpu` snapshots (a worker started in between counts from zero)."""
    return sum(v - start.get(k, 0.0) for k, v in end.items())


def measure_stream(framework: str, request: dict, result: dict) -> None:
    """Import the loader, stream every epoch, then (if asked) the check pass; fill `result`."""
    import numpy as np

    from fwbench.experiments.input_pipeline import hooks
    from fwbench.experiments.input_pipeline.pipeline import Pipeline

    t = time.perf_counter()
    hook = hooks.get(framework)
    result.update(import_s=time.perf_counter() - t, loader=hook.LOADER, loader_version=hook.version())
    p = Pipeline.from_json(request["pipeline"])
    result.update(format=p.fmt, workers=p.workers, settings=hook.settings(p), stage="stream")
    per_epoch = p.batches_per_epoch
    total = per_epoch * p.epochs
    counts = np.zeros((p.epochs, p.spec.classes), np.int64)
    ends: list[float] = []
    cpu_start = cpu_end = None
    with TreeSampler(request.get("rss_interval_s", 0.05)) as tree:
        t0 = time.perf_counter()
        stream = hook.stream(p)
        for i, batch in enumerate(stream):
            now = time.perf_counter()
            if i == 0:
                result["first_batch_s"] = now - t0
            labels = hook.labels(batch)
            counts[min(i // per_epoch, p.epochs - 1)] += np.bincount(labels, minlength=p.spec.classes)[: p.spec.classes]
            if (i + 1) % per_epoch == 0:
                ends.append(time.perf_counter())
                if len(ends) == 1:
                    cpu_start = tree_cpu()  # the steady window starts after the first epoch
                if i + 1 == total:
                    cpu_end = tree_cpu()  # before the loader winds its workers down
                    break
        if hasattr(stream, "close"):
            stream.close()
        del stream
    result["batches"] = len(ends) * per_epoch
    if len(ends) != p.epochs:
        raise RuntimeError(f"the stream ended after {len(ends)} of {p.epochs} epochs")
    result.update(
        epoch_s=[ends[0] - t0] + [b - a for a, b in zip(ends, ends[1:])],
        label_counts=counts.tolist(),
        peak_tree_rss_bytes=tree.peak_bytes,
        tree_processes=tree.max_processes,
        samples=p.spec.samples,
    )
    if cpu_start is not None and cpu_end is not None and p.epochs > 1:
        result.update(steady_cpu_s=cpu_between(cpu_start, cpu_end), steady_samples=p.spec.samples * (p.epochs - 1))
    if request.get("check"):
        result["stage"] = "check"
        result["check"] = check_pass(hook, p)


def check_pass(hook, p) -> dict:
    """One epoch with the centre crop and no flip, in the consuming process (0 workers: content, not speed): its
    label counts and the mean and standard deviation of every normalised pixel, accumulated in float64."""
    import dataclasses

    import numpy as np

    q = dataclasses.replace(p, epochs=1, workers=0, augment=False)
    total = total_sq = 0.0
    n = 0
    counts = np.zeros(p.spec.classes, np.int64)
    for batch in hook.stream(q):
        x = hook.images(batch).astype(np.float64)
        total += float(x.sum())
        total_sq += float(np.square(x).sum())
        n += x.size
        counts += np.bincount(hook.labels(batch), minlength=p.spec.classes)[: p.spec.classes]
    mean = total / n
    return {
        "label_counts": counts.tolist(),
        "pixel_mean": mean,
        "pixel_std": max(total_sq / n - mean * mean, 0.0) ** 0.5,
        "values": n,
    }


if __name__ == "__main__":
    sys.exit(main())
