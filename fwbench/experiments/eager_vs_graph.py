"""Eager vs graph timing of one (framework, device, workload, variant) cell: train step and inference."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fwbench.frameworks import get_adapter
from fwbench.metrics import unit
from fwbench.timing import TimerConfig, measure
from fwbench.workloads import get_workload
from fwbench.workloads.spec import reference_logits, reference_loss

PHASES = ("train", "infer")


@dataclass(frozen=True)
class Params:
    """Parameters of the eager-vs-graph experiment that a profile may set."""

    batch_size: int = field(default=64, metadata={"help": "samples per step, for training and inference"})
    warmup: int = field(default=10, metadata={"help": "untimed steps after the first call"})
    repeats: int = field(default=200, metadata={"help": "timed steps per phase (at most)"})
    min_repeats: int = field(default=20, metadata={"help": "timed steps per phase even past max_time_s"})
    max_time_s: float = field(default=20.0, metadata={"help": "time budget for the timed steps of one phase"})
    loss_rtol: float = field(default=1e-4, metadata={"help": "allowed relative error of the first-step loss vs the float64 reference"})

    def timer(self) -> TimerConfig:
        return TimerConfig(warmup=self.warmup, repeats=self.repeats, min_repeats=self.min_repeats,
                           max_time_s=self.max_time_s)


def _check(name: str, value: float, tolerance: float, detail: str) -> dict:
    return {"name": name, "passed": bool(value <= tolerance), "value": float(value),
            "tolerance": float(tolerance), "detail": detail}


def _records(phase: str, batch_size: int, metrics: dict[str, float]) -> list[dict]:
    return [{"phase": phase, "batch_size": batch_size, "metric": name, "value": float(value), "unit": unit(name)}
            for name, value in metrics.items()]


def run(framework: str, device: str, workload: str, variant: str, params: Params) -> dict:
    """Measure one cell. Exceptions propagate: the runner records them as the cell's failure."""
    adapter = get_adapter(framework)
    mode = adapter.check_variant(variant)
    spec = get_workload(workload)
    info = {"framework_version": adapter.version(), "device_info": adapter.device_info(device)}
    x_np, y_np = spec.batch(params.batch_size)
    x, y = adapter.to_device(x_np, device), adapter.to_device(y_np, device)
    init = spec.init_weights()
    records, samples, checks = [], {}, []

    for phase in PHASES:
        # A fresh model per phase, so inference starts from the shared weights too.
        model = adapter.build(spec, device)
        if phase == "train":
            got = adapter.weights(model)
            max_diff = max(float(np.max(np.abs(a - b))) for pair_got, pair_ref in zip(got, init)
                           for a, b in zip(pair_got, pair_ref))
            checks.append(_check("initial_weights_identical", max_diff, 0.0,
                                 "max |difference| between the framework's initial weights and the shared spec"))
            step = adapter.train_step(model, variant)
            timing = measure(lambda: step(x, y), adapter.sync, params.timer())
        else:
            step = adapter.infer_step(model, variant)
            timing = measure(lambda: step(x), adapter.sync, params.timer())
        summary = timing.summary()
        metrics = {
            "first_call_s": timing.first_call_s,
            "step_time_median_s": summary.median,
            "step_time_ci_low_s": summary.ci_low,
            "step_time_ci_high_s": summary.ci_high,
            "step_time_q25_s": summary.q25,
            "step_time_q75_s": summary.q75,
            "step_time_iqr_s": summary.iqr,
            "step_time_min_s": summary.min,
            "step_time_cv": summary.cv,
            "n_repeats": summary.n,
            "throughput_per_s": params.batch_size / summary.median,
            "gflops": spec.flops_per_sample(phase) * params.batch_size / summary.median / 1e9,
        }
        if phase == "train":
            loss = adapter.loss_of(timing.first_output)
            ref = reference_loss(init, x_np, y_np)
            rel = abs(loss - ref) / abs(ref)
            metrics["first_step_loss"] = loss
            metrics["first_step_loss_rel_err"] = rel
            checks.append(_check("first_step_loss_vs_reference", rel, params.loss_rtol,
                                 "relative difference of the first training step's loss from the float64 NumPy reference"))
        else:
            logits = adapter.to_numpy(timing.first_output)
            err = float(np.max(np.abs(logits - reference_logits(init, x_np))))
            checks.append(_check("first_logits_vs_reference", err, 1e-3,
                                 "max |difference| of first inference logits from the float64 reference"))
        records += _records(phase, params.batch_size, metrics)
        samples[phase] = timing.samples_s
        del model, step, timing

    return {"mode": mode, **info, "records": records, "samples": samples, "checks": checks}
