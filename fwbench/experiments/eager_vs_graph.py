"""Eager vs graph timing of one (framework, device, workload, variant) cell in one process: train step, inference sweep."""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from fwbench.frameworks import get_adapter
from fwbench.metrics import unit
from fwbench.timing import TimerConfig, measure
from fwbench.workloads import get_workload


@dataclass(frozen=True)
class Params:
    """Parameters of the eager-vs-graph experiment that a profile may set."""

    batch_size: int = field(default=64, metadata={"help": "samples per training step"})
    infer_batch_sizes: tuple[int, ...] = field(default=(1, 16, 64, 256), metadata={
        "help": "inference batch sizes, timed in this order with one compiled function (each change is a shape change)"})
    warmup: int = field(default=10, metadata={"help": "untimed steps after the first call (at least loss_steps - 1)"})
    repeats: int = field(default=200, metadata={"help": "timed steps per phase and batch size (at most)"})
    min_repeats: int = field(default=20, metadata={"help": "timed steps even past max_time_s"})
    max_time_s: float = field(default=20.0, metadata={"help": "time budget for the timed steps of one phase and batch size"})
    loss_steps: int = field(default=5, metadata={"help": "training steps whose losses are recorded for the cross-framework check"})
    loss_rtol: float = field(default=1e-4, metadata={"help": "allowed relative error of the first-step loss vs the float64 reference"})
    peak_matmul_n: int = field(default=1024, metadata={"help": "size n of the n x n float32 matmul that calibrates the machine's peak FLOP/s"})

    def __post_init__(self):
        sizes = self.infer_batch_sizes
        if not sizes or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in sizes):
            raise ValueError(f"infer_batch_sizes must be a non-empty list of positive integers, got {sizes!r}")
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2 (the shape-change probe halves it)")
        if self.loss_steps < 1 or self.warmup < self.loss_steps - 1:
            raise ValueError("need loss_steps >= 1 and warmup >= loss_steps - 1 (the losses are read during warm-up)")

    def timer(self) -> TimerConfig:
        return TimerConfig(warmup=self.warmup, repeats=self.repeats, min_repeats=self.min_repeats,
                           max_time_s=self.max_time_s)


def _check(name: str, value: float, tolerance: float, detail: str) -> dict:
    return {"name": name, "passed": bool(value <= tolerance), "value": float(value),
            "tolerance": float(tolerance), "detail": detail}


def _records(phase: str, batch_size: int, metrics: dict[str, float]) -> list[dict]:
    return [{"phase": phase, "batch_size": int(batch_size), "metric": name, "value": float(value), "unit": unit(name)}
            for name, value in metrics.items()]


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


def _steady(timing, flops_per_sample: int, batch: int) -> dict[str, float]:
    s = timing.summary()
    return {"step_time_median_s": s.median, "step_time_ci_low_s": s.ci_low, "step_time_ci_high_s": s.ci_high,
            "step_time_q25_s": s.q25, "step_time_q75_s": s.q75, "step_time_iqr_s": s.iqr,
            "step_time_min_s": s.min, "step_time_cv": s.cv, "n_repeats": s.n,
            "throughput_per_s": batch / s.median, "gflops": flops_per_sample * batch / s.median / 1e9}


def _first_call(timing, cache_state: str) -> dict[str, float]:
    # The same number under the cache-specific name says whether compilers started empty.
    return {"first_call_s": timing.first_call_s, f"first_call_{cache_state}_s": timing.first_call_s}


def _max_weight_diff(got: dict, want: dict) -> float:
    if set(got) != set(want):
        return float("inf")
    return max(float(np.max(np.abs(np.asarray(got[k]) - want[k]))) if want[k].size else 0.0 for k in want)


def run(framework: str, device: str, workload: str, variant: str, params: Params, cache_state: str = "cold") -> dict:
    """Measure one cell. Exceptions propagate: the runner records them as the cell's failure."""
    if cache_state not in ("cold", "warm"):
        raise ValueError(f"cache_state must be 'cold' or 'warm', got {cache_state!r}")
    adapter = get_adapter(framework)
    mode = adapter.check_variant(variant)
    spec = get_workload(workload)
    info = {"framework_version": adapter.version(), "device_info": adapter.device_info(device)}
    init = spec.init_weights()
    cfg = params.timer()
    records, samples, checks = [], [], []

    # --- train: first call, loss trajectory, steady state, then a shape change --------------
    adapter.reset_peak_device_memory(device)
    model = adapter.build(spec, device)
    checks.append(_check("initial_weights_identical", _max_weight_diff(adapter.weights(model), init), 0.0,
                         "max |difference| between the framework's initial weights and the shared spec"))
    x_np, y_np = spec.batch(params.batch_size)
    x, y = adapter.to_device(x_np, device), adapter.to_device(y_np, device)
    step = adapter.train_step(model, variant)
    losses: list[float] = []
    timing = measure(lambda: step(x, y), adapter.sync, cfg,
                     observe=lambda i, out: losses.append(adapter.loss_of(out)) if i < params.loss_steps else None)
    ref = spec.reference_loss(init, x_np, y_np)
    rel = abs(losses[0] - ref) / abs(ref)
    checks.append(_check("first_step_loss_vs_reference", rel, params.loss_rtol,
                         "relative difference of the first training step's loss from the float64 NumPy reference"))
    metrics = {**_first_call(timing, cache_state), **_steady(timing, spec.flops_per_sample("train"), params.batch_size),
               "first_step_loss": losses[0], "first_step_loss_rel_err": rel,
               "loss_after_steps": losses[params.loss_steps - 1]}
    samples.append({"phase": "train", "batch_size": params.batch_size, "values": timing.samples_s})
    half = params.batch_size // 2
    xh, yh = (adapter.to_device(a, device) for a in spec.batch(half))
    start = time.perf_counter()
    adapter.sync(step(xh, yh))
    records += _records("train", half, {"shape_change_s": time.perf_counter() - start})
    metrics.update(_peaks(adapter, device))
    records += _records("train", params.batch_size, metrics)
    del model, step, timing

    # --- infer: one function through the batch sweep; every size after the first is a shape change ---
    adapter.reset_peak_device_memory(device)
    model = adapter.build(spec, device)
    step = adapter.infer_step(model, variant)
    for i, batch in enumerate(params.infer_batch_sizes):
        xb_np, _ = spec.batch(batch)
        xb = adapter.to_device(xb_np, device)
        # The first output is copied out at once: a CUDA-graph replay (reduce-overhead) overwrites it in place.
        first: dict = {}
        timing = measure(lambda: step(xb), adapter.sync, cfg,
                         observe=lambda k, out: first.setdefault("out", adapter.to_numpy(out)) if k == 0 else None)
        metrics = _steady(timing, spec.flops_per_sample("infer"), batch)
        if i == 0:
            metrics.update(_first_call(timing, cache_state))
            err = float(np.max(np.abs(first["out"] - spec.reference_output(init, xb_np))))
            checks.append(_check("first_output_vs_reference", err, 1e-3,
                                 "max |difference| of the first inference output from the float64 reference"))
        else:
            metrics["shape_change_s"] = timing.first_call_s
        metrics.update(_peaks(adapter, device))
        records += _records("infer", batch, metrics)
        samples.append({"phase": "infer", "batch_size": batch, "values": timing.samples_s})

    calibration = {"matmul_n": params.peak_matmul_n, "peak_gflops": peak_gflops(params.peak_matmul_n)}
    return {"mode": mode, **info, "records": records, "samples": samples, "checks": checks,
            "losses": losses, "calibration": calibration}
