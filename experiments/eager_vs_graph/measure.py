"""Eager vs graph timing of one (framework, device, workload) cell in one process: every variant interleaved, train step, inference sweep."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import random
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from fwbench.experiments.eager_vs_graph.metrics import METRICS
from fwbench.frameworks import get_adapter
from fwbench.frameworks.base import INTER_OP_THREADS, MATMUL_PRECISION
from fwbench.measure import threads as thread_check
from fwbench.measure.job import Request
from fwbench.measure.metrics import record
from fwbench.measure.stats import summarize
from fwbench.measure.timing import InterleaveConfig, measure_interleaved
from fwbench.workloads import get_workload

#: Marks an A/A twin: a second, identically built copy of a variant, measured as if it were another alternative.
AA_TWIN = "~aa"


@dataclass(frozen=True)
class Params:
    """Parameters of the eager-vs-graph experiment that a profile may set.

    Fields whose metadata says `identity: False` change only how precisely a cell is measured, not what
    is measured; every other field is part of the cell's identity (cells differing in it never pool).
    """

    batch_size: int = field(default=64, metadata={"bounds": "batch", "help": "samples per training step"})
    infer_batch_sizes: tuple[int, ...] = field(
        default=(1, 16, 64, 256),
        metadata={
            "bounds": "batch",
            "help": "inference batch sizes, timed in this order with one compiled function (each change is a shape change)",
        },
    )
    block: int = field(
        default=8,
        metadata={
            "bounds": "steps",
            "identity": False,
            "help": "timed steps per block at most; the variants of a process take turns block by block",
        },
    )
    block_s: float = field(
        default=0.02,
        metadata={
            "bounds": "seconds",
            "identity": False,
            "help": "target duration of a block (slow steps get fewer steps per block)",
        },
    )
    block_warmup: int = field(
        default=2,
        metadata={
            "bounds": "steps",
            "identity": False,
            "help": "untimed steps that start every block of a short step (caches refill after another variant ran)",
        },
    )
    min_samples: int = field(
        default=12,
        metadata={
            "bounds": "steps",
            "identity": False,
            "help": "timed steps per variant, phase and batch size at least",
        },
    )
    min_blocks: int = field(
        default=4,
        metadata={"bounds": "steps", "identity": False, "help": "timed rounds per phase and batch size at least"},
    )
    max_blocks: int = field(
        default=40,
        metadata={"bounds": "steps", "identity": False, "help": "timed rounds per phase and batch size at most"},
    )
    max_time_s: float = field(
        default=20.0,
        metadata={
            "bounds": "seconds",
            "identity": False,
            "help": "budget for the timed rounds of one phase and batch size, all variants together",
        },
    )
    warmup_min: int = field(
        default=5,
        metadata={
            "bounds": "steps",
            "identity": False,
            "help": "untimed steps after the first call at least (at least loss_steps - 1)",
        },
    )
    warmup_max: int = field(
        default=100,
        metadata={
            "bounds": "steps",
            "identity": False,
            "help": "untimed steps at most while waiting for step times to settle",
        },
    )
    shape_probe_processes: int = field(
        default=2,
        metadata={
            "bounds": "processes",
            "identity": False,
            "help": "processes (the first ones: cold, then warm caches) that also time a training step at half the batch (a shape change; it recompiles)",
        },
    )
    shape_probe_workloads: tuple[str, ...] = field(
        default=(),
        metadata={
            "identity": False,
            "help": "workloads whose shape_probe_processes time the shape changes (half batch, automatic shapes); "
            "empty: every workload (a cold torch.compile recompile of rnn takes over a minute on 2 cores)",
        },
    )
    aa_workloads: tuple[str, ...] = field(
        default=("mlp",),
        metadata={
            "identity": False,
            "help": "workloads on which a twin of the eager variant is measured beside the others (the A/A control)",
        },
    )
    seed: int = field(
        default=0,
        metadata={
            "bounds": "seed",
            "identity": False,
            "help": "seed of the interleaving order (combined with framework, workload and process)",
        },
    )
    loss_steps: int = field(
        default=5,
        metadata={
            "bounds": "steps",
            "identity": False,
            "help": "training steps whose losses are recorded for the cross-framework check",
        },
    )
    loss_rtol: float = field(
        default=1e-4,
        metadata={
            "bounds": "tolerance",
            "identity": False,
            "help": "allowed relative error of the first-step loss vs the float64 reference",
        },
    )
    peak_matmul_n: int = field(
        default=1024,
        metadata={
            "bounds": "matrix_n",
            "identity": False,
            "help": "size n of the n x n float32 matmul that calibrates the machine's peak FLOP/s",
        },
    )
    device_matmul_n: int = field(
        default=4096,
        metadata={
            "bounds": "matrix_n",
            "identity": False,
            "help": "size n of the n x n float32 matmul that calibrates an accelerator's peak FLOP/s (large enough to fill a GPU)",
        },
    )
    busy_cpus: float = field(
        default=InterleaveConfig.busy_cpus,
        metadata={
            "bounds": "cpus",
            "identity": False,
            "help": "a window of rounds is busy (dropped and re-run; past a bound the series is kept out of verdicts) when other programs used more CPUs than this during it (fwbench.measure.timing)",
        },
    )
    contention: int = field(
        default=0,
        metadata={
            "bounds": "cpus",
            "help": "other programs (CPU burners, one core each) kept running beside the job for its whole run, on purpose: how a framework degrades on a machine that is not quiet. Busy blocks are then the point, not re-run; these are cells of their own",
        },
    )

    def __post_init__(self):
        sizes = self.infer_batch_sizes
        if not sizes or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in sizes):
            raise ValueError(f"infer_batch_sizes must be a non-empty list of positive integers, got {sizes!r}")
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2 (the shape-change probe halves it)")
        if self.loss_steps < 1 or self.warmup_min < self.loss_steps - 1:
            raise ValueError(
                "need loss_steps >= 1 and warmup_min >= loss_steps - 1 (the losses are read during warm-up)"
            )
        if not (self.loss_rtol > 0 and math.isfinite(self.loss_rtol)):
            raise ValueError(f"loss_rtol must be a positive number, got {self.loss_rtol!r}")
        if self.shape_probe_processes < 0:
            raise ValueError(f"shape_probe_processes must be >= 0, got {self.shape_probe_processes!r}")
        probe = self.shape_probe_workloads
        if isinstance(probe, str) or not all(isinstance(w, str) and w for w in probe):
            raise ValueError(f"shape_probe_workloads must be a list of workload names, got {probe!r}")
        if not isinstance(self.contention, int) or isinstance(self.contention, bool) or not 0 <= self.contention <= 64:
            raise ValueError(f"contention must be an integer from 0 to 64, got {self.contention!r}")
        if self.peak_matmul_n < 1 or self.device_matmul_n < 1:
            raise ValueError(
                f"peak_matmul_n and device_matmul_n must be positive integers, got "
                f"{self.peak_matmul_n!r} and {self.device_matmul_n!r}"
            )
        self.timer()

    def probes_shapes(self, workload: str, process: int) -> bool:
        """Whether this process of this workload times the shape changes."""
        wanted = self.shape_probe_workloads
        return process < self.shape_probe_processes and (not wanted or workload in wanted)

    def timer(self) -> InterleaveConfig:
        # Under planned contention every round is busy by design: none is re-run for it (steal still is).
        return InterleaveConfig(
            block=self.block,
            block_s=self.block_s,
            block_warmup=self.block_warmup,
            min_samples=self.min_samples,
            min_blocks=self.min_blocks,
            max_blocks=self.max_blocks,
            max_time_s=self.max_time_s,
            warmup_min=self.warmup_min,
            warmup_max=self.warmup_max,
            busy_cpus=1e9 if self.contention else self.busy_cpus,
        )


def identity(params: dict) -> dict:
    """The parameters that change what a cell measures (see `Params`); their digest keys the cell. A quiet
    machine (contention 0) is left out, so cells measured before contention existed keep their digest."""
    budget = {f.name for f in dataclasses.fields(Params) if f.metadata.get("identity") is False}
    return {k: v for k, v in params.items() if k not in budget and not (k == "contention" and v == 0)}


@contextlib.contextmanager
def contention(n: int):
    """`n` other programs each keeping one core busy, started through a shell that exits so they are not this
    job's children (a descendant's CPU counts as the job's own); killed when the block ends."""
    pids = []
    try:
        for _ in range(n):
            out = subprocess.run(
                ["sh", "-c", f"'{sys.executable}' -c 'while True: pass' >/dev/null 2>&1 & echo $!"],
                capture_output=True,
                text=True,
                check=True,
            )
            pids.append(int(out.stdout.strip()))
        if pids:
            time.sleep(0.2)  # past the burners' interpreter start
        yield pids
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _check(name: str, value: float, tolerance: float, detail: str) -> dict:
    return {
        "name": name,
        "passed": bool(value <= tolerance),
        "value": float(value),
        "tolerance": float(tolerance),
        "detail": detail,
    }


def _records(phase: str, batch_size: int, metrics: dict[str, float]) -> list[dict]:
    return [record(METRICS, phase, batch_size, name, value) for name, value in metrics.items()]


def _peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _peaks(adapter, device: str) -> dict[str, int]:
    peaks = {"peak_rss_bytes": _peak_rss_bytes()}
    device_peak = adapter.peak_device_memory_bytes(device)
    if device_peak is not None:
        peaks["peak_device_memory_bytes"] = device_peak
    return peaks


def peak_gflops(n: int, seconds: float = 0.5) -> float:
    """The machine's float32 matmul rate (best of repeated n x n products), the ceiling for achieved FLOP/s."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    best, deadline = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def device_peak_gflops(adapter, device: str, n: int, seconds: float = 0.5) -> float:
    """The device's float32 matmul rate with the job's framework (its precision settings as configured): best
    per-product time of back-to-back n x n products, each batch ended by the framework's sync, so that an
    accelerator's asynchronous launches are waited for and one sync is spread over many products."""
    rng = np.random.default_rng(0)
    a = adapter.to_device(rng.standard_normal((n, n), dtype=np.float32), device)
    b = adapter.to_device(rng.standard_normal((n, n), dtype=np.float32), device)
    adapter.sync(a @ b)
    # Products per batch: enough for a batch of about 10 ms, from one timed product.
    start = time.perf_counter()
    adapter.sync(a @ b)
    per_batch = max(1, min(100, int(0.01 / max(time.perf_counter() - start, 1e-6))))
    best, deadline = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        for _ in range(per_batch - 1):
            a @ b
        adapter.sync(a @ b)
        best = min(best, (time.perf_counter() - start) / per_batch)
    return 2 * n**3 / best / 1e9


def _steady(series, flops_per_sample: int, batch: int) -> dict[str, float]:
    s = summarize(series.samples_s)
    return {
        "step_time_median_s": s.median,
        "step_time_ci_low_s": s.ci_low,
        "step_time_ci_high_s": s.ci_high,
        "step_time_q25_s": s.q25,
        "step_time_q75_s": s.q75,
        "step_time_iqr_s": s.iqr,
        "step_time_min_s": s.min,
        "step_time_cv": s.cv,
        "n_repeats": s.n,
        "warmup_steps": series.discarded,
        "stable": float(series.stable),
        "throughput_per_s": batch / s.median,
        "gflops": flops_per_sample * batch / s.median / 1e9,
    }


def _first_call(seconds: float, cache_state: str) -> dict[str, float]:
    # The same number under the cache-specific name says whether compilers started empty.
    return {"first_call_s": seconds, f"first_call_{cache_state}_s": seconds}


def _max_weight_diff(got: dict, want: dict) -> float:
    if set(got) != set(want):
        return float("inf")
    return max(float(np.max(np.abs(np.asarray(got[k]) - want[k]))) if want[k].size else 0.0 for k in want)


def _variant_of(alternative: str) -> tuple[str, int]:
    """(variant, replicate): an A/A twin is replicate 1 of its variant."""
    return (alternative[: -len(AA_TWIN)], 1) if alternative.endswith(AA_TWIN) else (alternative, 0)


def os_threads() -> int | None:
    """Threads this process runs right now, as the OS counts them (Linux), whatever the frameworks were asked for."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def _sample_entry(series, phase: str, batch: int) -> dict:
    variant, replicate = _variant_of(series.name)
    return {
        "phase": phase,
        "batch_size": int(batch),
        "variant": variant,
        "replicate": replicate,
        "values": series.samples_s,
        "block": series.steps_per_block,
        "block_untimed": series.untimed_per_block,
        "warmup_steps": series.discarded,
        "settled": series.settled,
        "stable": series.stable,
        "attempts": series.attempts,
        "problem": series.problem,
        "remeasured_because": series.remeasured_because,
        "stolen_blocks_dropped": series.stolen_dropped,
        "stolen_blocks_kept": series.stolen_kept,
        "stolen_s": round(series.stolen_s, 3),
        "busy_blocks_dropped": series.busy_dropped,
        "busy_blocks_kept": series.busy_kept,
        "blocks": series.blocks,
        "busy": series.busy or series.busy_warmup,
        "cpu_wait_share_median": round(series.wait_share_median, 4),
        "cpu_wait_share_max": round(series.wait_share_max, 4),
        "gc_s": round(series.gc_s, 6),
        "gc_collections": series.gc_collections,
    }


def run(job: Request) -> dict:
    """The experiment's job: one cell, every variant of it (fwbench.measure.job's contract)."""
    with contention(job.params.contention) as burners:
        result = measure_cell(
            job.framework,
            job.device,
            job.workload,
            job.variant,
            job.params,
            cache_state=job.cache_state,
            process=job.process,
            threads=job.threads,
        )
    result["process_info"]["contention"] = {"burners": len(burners)}
    result["settings"] = {
        "framework_threads": result["framework_settings"],
        "os_threads": result["process_info"]["os_threads"],
    }
    return result


def measure_cell(
    framework: str,
    device: str,
    workload: str,
    variants,
    params: Params,
    cache_state: str = "cold",
    process: int = 0,
    threads: int | None = None,
) -> dict:
    """Measure every variant of one (framework, device, workload) cell in this process, interleaved.

    `variants` is a list or a comma-separated string. A twin of the eager
    variant is measured beside them as one more alternative on the workloads of `params.aa_workloads`
    (the A/A control). With `threads`, the framework is configured here (intra-op `threads`, one
    inter-op thread, full float32 matmuls) and the job fails if the framework or the OS shows otherwise.
    Exceptions propagate: the runner records them as the job's failure.
    """
    if cache_state not in ("cold", "warm"):
        raise ValueError(f"cache_state must be 'cold' or 'warm', got {cache_state!r}")
    # Where this process's wall time went, part by part (the method page's time budget reads it).
    wall: dict[str, float] = {}
    tick = [time.perf_counter()]

    def lap(part: str) -> None:
        now = time.perf_counter()
        wall[part] = wall.get(part, 0.0) + now - tick[0]
        tick[0] = now

    adapter = get_adapter(framework)
    framework_settings = adapter.configure(threads) if threads is not None else None
    if threads is not None:
        _refuse(framework, thread_check.problems(threads, framework_settings, INTER_OP_THREADS, MATMUL_PRECISION, None))
    variants = [v for v in (variants.split(",") if isinstance(variants, str) else variants) if v]
    modes = {v: adapter.check_variant(v) for v in variants}
    twin = [v + AA_TWIN for v in variants if modes[v] == "eager"][:1] if workload in params.aa_workloads else []
    alternatives = list(variants) + twin
    spec = get_workload(workload)
    info = {"framework_version": adapter.version(), "device_info": adapter.device_info(device)}
    init = spec.init_weights()
    cfg = params.timer()
    # The order of every first call, warm-up and round comes from this seed, stored with the result.
    seed = f"{params.seed}|{framework}|{device}|{workload}|{process}"
    rng = random.Random(seed)
    records, samples, checks, losses = [], [], [], {}
    process_info = {"seed": seed, "alternatives": alternatives, "loadavg_start": _loadavg(), "wall_s": wall}
    lap("import and configure")

    def add(alt: str, phase: str, batch: int, metrics: dict) -> None:
        variant, replicate = _variant_of(alt)
        if replicate == 0:
            records.extend({"variant": variant, "mode": modes[variant], **r} for r in _records(phase, batch, metrics))

    def check(alt: str, *args) -> None:
        variant, replicate = _variant_of(alt)
        checks.append({**_check(*args), "variant": variant, "replicate": replicate})

    # One-time framework start-up (thread pools, kernels, allocator) is paid here, untimed, so that it is
    # not charged to whichever variant happens to make the first call.
    x_np, y_np = spec.batch(params.batch_size)
    x, y = adapter.to_device(x_np, device), adapter.to_device(y_np, device)
    start = time.perf_counter()
    probe = adapter.train_step(adapter.build(spec, device), "eager")
    for _ in range(2):
        adapter.sync(probe(x, y))
    process_info["process_warmup_s"] = time.perf_counter() - start
    del probe
    lap("process warm-up")

    # --- train: first calls, loss trajectories, interleaved steady state, then a shape change ------
    adapter.reset_peak_device_memory(device)
    steps, models = {}, {}
    for alt in alternatives:
        model = models[alt] = adapter.build(spec, device)
        check(
            alt,
            "initial_weights_identical",
            _max_weight_diff(adapter.weights(model), init),
            0.0,
            "max |difference| between the framework's initial weights and the shared spec",
        )
        steps[alt] = adapter.train_step(model, _variant_of(alt)[0])
    lap("build and check")

    def keep_loss(alt, i, out):
        if i < params.loss_steps:
            losses.setdefault(alt, []).append(adapter.loss_of(out))

    with thread_check.Watch() as watch:
        tick[0] = time.perf_counter()
        train_wall: dict[str, float] = {}
        measured = measure_interleaved(
            {a: (lambda f=steps[a]: f(x, y)) for a in alternatives},
            adapter.sync,
            cfg,
            rng,
            observe=keep_loss,
            wall=train_wall,
        )
    wall.update({f"train {part}": seconds for part, seconds in train_wall.items()})
    tick[0] = time.perf_counter()
    process_info["train_threads"] = watch.usage.as_dict()
    if threads is not None:
        _refuse(
            framework,
            thread_check.problems(threads, framework_settings, INTER_OP_THREADS, MATMUL_PRECISION, watch.usage),
        )
    timed = {v: {**adapter.timed.get(v, {}), "precision": MATMUL_PRECISION} for v in variants}
    for alt in variants:
        if modes[alt] == "eager":
            timed[alt]["ops per train step"] = adapter.eager_ops(steps[alt], x, y)
        else:
            timed[alt]["buffer donation"] = adapter.buffer_donation(models[alt])
    lap("counting ops")
    ref = spec.reference_loss(init, x_np, y_np)
    half = params.batch_size // 2
    xh, yh = (adapter.to_device(a, device) for a in spec.batch(half))
    peaks = None
    for alt in rng.sample(alternatives, len(alternatives)):
        s, trajectory = measured[alt], losses[alt]
        rel = abs(trajectory[0] - ref) / abs(ref)
        check(
            alt,
            "first_step_loss_vs_reference",
            rel,
            params.loss_rtol,
            "relative difference of the first training step's loss from the float64 NumPy reference",
        )
        if params.probes_shapes(workload, process):
            start = time.perf_counter()
            adapter.sync(steps[alt](xh, yh))
            add(alt, "train", half, {"shape_change_s": time.perf_counter() - start})
        peaks = peaks or _peaks(adapter, device)
        add(
            alt,
            "train",
            params.batch_size,
            {
                **_first_call(s.first_call_s, cache_state),
                **_steady(s, spec.flops_per_sample("train"), params.batch_size),
                "first_step_loss": trajectory[0],
                "first_step_loss_rel_err": rel,
                "loss_after_steps": trajectory[params.loss_steps - 1],
                **peaks,
            },
        )
        samples.append(_sample_entry(s, "train", params.batch_size))
    del steps, measured, models
    lap("reference loss and shape change")  # the shape change is also a stored figure (shape_change_s)

    # --- infer: one function per variant through the batch sweep; each size after the first is a shape change ---
    adapter.reset_peak_device_memory(device)
    alternatives = [a for a in alternatives if "infer" in adapter.variant_phases.get(_variant_of(a)[0], ["infer"])]
    steps = {alt: adapter.infer_step(adapter.build(spec, device), _variant_of(alt)[0]) for alt in alternatives}
    lap("build and check")
    infer_wall: dict[str, float] = {}
    with thread_check.Watch() as infer_watch:
        for i, batch in enumerate(params.infer_batch_sizes):
            xb_np, _ = spec.batch(batch)
            xb = adapter.to_device(xb_np, device)
            # The first output is copied out at once: a CUDA-graph replay (reduce-overhead) overwrites it in place.
            first: dict = {}
            measured = measure_interleaved(
                {a: (lambda f=steps[a]: f(xb)) for a in alternatives},
                adapter.sync,
                cfg,
                rng,
                observe=lambda alt, k, out: first.setdefault(alt, adapter.to_numpy(out)) if k == 0 else None,
                wall=infer_wall,
            )
            tick[0] = time.perf_counter()
            peaks = _peaks(adapter, device)
            want = spec.reference_output(init, xb_np) if i == 0 else None
            for alt in alternatives:
                s = measured[alt]
                metrics = {**_steady(s, spec.flops_per_sample("infer"), batch), **peaks}
                if i == 0:
                    metrics.update(_first_call(s.first_call_s, cache_state))
                    check(
                        alt,
                        "first_output_vs_reference",
                        float(np.max(np.abs(first[alt] - want))),
                        1e-3,
                        "max |difference| of the first inference output from the float64 reference",
                    )
                else:
                    metrics["shape_change_s"] = s.first_call_s
                add(alt, "infer", batch, metrics)
                samples.append(_sample_entry(s, "infer", batch))
            lap("reference output")
            if i == 0:
                for v in variants:
                    if modes[v] == "eager" and v in steps:
                        timed[v]["ops per inference step"] = adapter.eager_ops(steps[v], xb)
                lap("counting ops")
    process_info["infer_threads"] = infer_watch.usage.as_dict()
    wall.update({f"infer {part}": seconds for part, seconds in infer_wall.items()})
    if params.probes_shapes(workload, process):
        _automatic_shapes(adapter, spec, device, variants, params, add)
        lap("automatic shapes")

    process_info.update(os_threads=os_threads(), loadavg_end=_loadavg())
    for v in variants:
        timed[v]["inference shapes"] = (
            "not measured (its inference is another variant's)"
            if v not in steps
            else "one graph per batch size"
            if modes[v] == "graph"
            else "eager: no graph"
        )
    # The machine's ceiling is a property of the machine, not of the cell: measured once per round of processes.
    calibration = (
        {"matmul_n": params.peak_matmul_n, "peak_gflops": peak_gflops(params.peak_matmul_n)} if process == 0 else None
    )
    if calibration is not None and device != "cpu":
        # A GPU's ceiling is its own: measured there with this framework, not with NumPy on the host.
        calibration["device"] = {
            "device": device,
            "framework": framework,
            "matmul_n": params.device_matmul_n,
            "peak_gflops": device_peak_gflops(adapter, device, params.device_matmul_n),
        }
    lap("machine peak")
    return {
        "mode": ",".join(sorted(set(modes.values()))),
        **info,
        "records": records,
        "samples": samples,
        "checks": checks,
        "losses": {_variant_of(a)[0]: v for a, v in losses.items() if not a.endswith(AA_TWIN)},
        "calibration": calibration,
        "process_info": process_info,
        "timed": timed,
        "framework_settings": framework_settings,
    }


def _refuse(framework: str, problems: list[str]) -> None:
    """Fail the job: a framework that ignores a thread or precision setting makes its numbers incomparable."""
    if problems:
        raise RuntimeError(f"{framework} did not run as configured: " + "; ".join(problems))


def _automatic_shapes(adapter, spec, device: str, variants, params: Params, add) -> None:
    """The cost of a shape change under a framework's automatic dynamic shapes (torch.compile's default),
    a figure of its own: a fresh function, first called at the first inference batch, then timed at another."""
    first = params.infer_batch_sizes[0]
    other = next((b for b in params.infer_batch_sizes if b != first), first * 2)
    for v in variants:
        if "automatic" not in adapter.shape_policies(v) or "infer" not in adapter.variant_phases.get(v, ["infer"]):
            continue
        adapter.fresh_compiler_caches()  # else the static graphs compiled above would serve the probe
        step = adapter.infer_step(adapter.build(spec, device), v, shapes="automatic")
        adapter.sync(step(adapter.to_device(spec.batch(first)[0], device)))
        x_other = adapter.to_device(spec.batch(other)[0], device)
        start = time.perf_counter()
        adapter.sync(step(x_other))
        add(v, "infer", other, {"shape_change_automatic_s": time.perf_counter() - start})


def _loadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None
