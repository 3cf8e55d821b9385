"""One program of the ergonomics experiment: count its source, run it in a fresh process from the shared initial
weights and data, and check what it computed (same model as the reference, checkpoint round trip)."""

from __future__ import annotations

import hashlib
import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fwbench.experiments.ergonomics import source
from fwbench.experiments.ergonomics.metrics import METRICS
from fwbench.measure.child import run_child
from fwbench.measure.job import Request
from fwbench.measure.metrics import record
from fwbench.workloads import get_workload

#: variant -> the program's module (a literal, so the program is part of the job's key: fwbench.run.jobkey).
PROGRAMS = {
    "pytorch": "fwbench.experiments.ergonomics.programs.pytorch",
    "keras": "fwbench.experiments.ergonomics.programs.keras",
    "gradienttape": "fwbench.experiments.ergonomics.programs.tf_gradienttape",
    "flax": "fwbench.experiments.ergonomics.programs.jax_flax",
}
#: framework -> its programs (variants) and how each runs its training step as written (the tidy `mode`).
VARIANTS = {
    "torch": {"pytorch": "eager"},
    "tensorflow": {"keras": "graph", "gradienttape": "graph"},
    "jax": {"flax": "graph"},
}
HERE = Path(__file__).resolve().parent
#: The held-out batches are drawn far from the training batches' indices, so the two never overlap.
TEST_INDEX = 1_000_000
#: A restored model computes the same operations on the same values: its loss may differ by float32 rounding only.
ROUNDTRIP_RTOL = 1e-6


@dataclass(frozen=True)
class Params:
    """Parameters of the ergonomics experiment that a profile may set."""

    batch_size: int = field(default=16, metadata={"bounds": "batch", "help": "samples per training batch"})
    steps_per_epoch: int = field(
        default=4,
        metadata={"bounds": "steps", "help": "training batches in the synthetic training set (SGD steps per epoch)"},
    )
    epochs: int = field(
        default=2, metadata={"bounds": "steps", "help": "passes over the training set, each followed by an evaluation"}
    )
    test_batches: int = field(default=1, metadata={"bounds": "count", "help": "held-out batches evaluated"})
    loss_rtol: float = field(
        default=1e-3,
        metadata={
            "bounds": "tolerance",
            "help": "largest relative difference between the programs' losses (training and test, every epoch) that "
            "counts as the same loss: the cnn's float32 rounding over a few SGD steps stays near 1e-4 "
            "(fwbench/workloads/cnn.py), and batch norm's running variance, which Keras and Flax update with the "
            "biased batch variance and PyTorch with the unbiased one, moves the test loss by a few 1e-4",
        },
    )
    logits_atol: float = field(
        default=1e-4,
        metadata={
            "bounds": "tolerance",
            "help": "largest |logit - float64 reference| of the untrained model that counts as the same model and "
            "weights (float32 rounding through the network is about 1e-6)",
        },
    )
    timeout_s: float = field(
        default=900.0,
        metadata={"bounds": "timeout", "help": "the program's process is killed after this long (its error is stored)"},
    )

    def __post_init__(self):
        for name in ("batch_size", "steps_per_epoch", "epochs", "test_batches"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be a positive number of seconds, got {self.timeout_s!r}")


def program_file(variant: str) -> Path:
    """The source file of a variant's program."""
    return HERE / "programs" / (PROGRAMS[variant].rsplit(".", 1)[-1] + ".py")


def write_inputs(path: Path, params: Params) -> dict[str, np.ndarray]:
    """The shared inputs every program loads (cnn workload: initial weights in the neutral layout, synthetic NHWC
    batches from the workload's seed, the hyperparameters); returns what was written."""
    spec = get_workload("cnn")
    train = [spec.batch(params.batch_size, index=i) for i in range(params.steps_per_epoch)]
    test = [spec.batch(params.batch_size, index=TEST_INDEX + i) for i in range(params.test_batches)]
    arrays = {
        "x_train": np.concatenate([x for x, _ in train]),
        "y_train": np.concatenate([y for _, y in train]),
        "x_test": np.concatenate([x for x, _ in test]),
        "y_test": np.concatenate([y for _, y in test]),
        "batch_size": np.int64(params.batch_size),
        "epochs": np.int64(params.epochs),
        "learning_rate": np.float64(spec.lr),
    }
    arrays.update({f"w:{k}": v for k, v in spec.init_weights().items()})
    np.savez(path, **arrays)
    return arrays


def _check(name: str, passed: bool, value: float | None, tolerance: float | None, detail: str) -> dict:
    return {
        "name": name,
        "passed": bool(passed),
        "value": None if value is None or not math.isfinite(value) else float(value),
        "tolerance": tolerance,
        "detail": detail,
    }


def source_records(variant: str, batch_size: int) -> tuple[list[dict], dict]:
    """The counts of a program's source as records, and the names behind them (the job's `program` entry)."""
    path = program_file(variant)
    text = path.read_text()
    counts = source.measure(text)
    values = {
        "source_logical_lines": counts.logical_lines,
        "source_tokens": counts.tokens,
        "source_api_names": len(counts.api_names),
        "source_concepts": len(counts.concepts),
        "source_max_nesting": counts.max_nesting,
        "source_harness_lines": counts.harness_lines,
    }
    records = [record(METRICS, "source", batch_size, metric, value) for metric, value in values.items()]
    program = {
        "file": path.relative_to(HERE.parent.parent).as_posix(),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "api_names": list(counts.api_names),
        "concepts": list(counts.concepts),
    }
    return records, program


def run_program(variant: str, params: Params, workdir: Path) -> tuple[dict | None, dict | None, float, dict]:
    """Run a program in a fresh interpreter in `workdir` (where it writes its checkpoint): its result or error,
    its wall time, and the inputs it was given."""
    inputs = write_inputs(workdir / "inputs.npz", params)
    out = workdir / "result.json"
    started = time.perf_counter()
    child = run_child(
        PROGRAMS[variant],
        ["--data", str(workdir / "inputs.npz"), "--out", str(out)],
        out,
        params.timeout_s,
        cwd=workdir,
        what=f"the {variant} program",
    )
    return child.result, child.error, time.perf_counter() - started, inputs


def run(job: Request) -> dict:
    if job.workload != "cnn":
        raise ValueError(f"the ergonomics programs train the cnn workload only, not {job.workload!r}")
    params, variant = job.params, job.variant
    if variant not in PROGRAMS:
        raise ValueError(f"unknown program {variant!r}; known: {', '.join(PROGRAMS)}")
    job.progress(f"counting {program_file(variant).name}")
    records, program = source_records(variant, params.batch_size)
    job.progress(f"running {PROGRAMS[variant]} ({params.epochs} epoch(s) of {params.steps_per_epoch} steps)")
    workdir = Path(tempfile.mkdtemp(prefix=f"fwbench-ergonomics-{variant}-"))
    try:
        result, error, wall_s, inputs = run_program(variant, params, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rec = lambda metric, value: record(METRICS, "train", params.batch_size, metric, value)  # noqa: E731
    records += [rec("program_ok", result is not None), rec("program_wall_s", wall_s)]
    checks = [
        _check(
            "program ran",
            result is not None,
            None,
            None,
            "the program ran to its end" if result is not None else f"{error['type']}: {error['message']}",
        )
    ]
    program.update(error=error, train_loss=[], test_loss=[])
    if result is not None:
        spec = get_workload("cnn")
        weights = {k[2:]: v for k, v in inputs.items() if k.startswith("w:")}
        reference = spec.reference_output(weights, inputs["x_test"])
        err = float(np.max(np.abs(np.asarray(result["initial_logits"], dtype=np.float64) - reference)))
        train, test, restored = result["train_loss"], result["test_loss"], float(result["restored_test_loss"])
        program.update(
            train_loss=[float(v) for v in train],
            test_loss=[float(v) for v in test],
            library_version=str(result.get("framework_version", "")),
        )
        records += [
            rec("initial_logits_max_abs_err", err),
            rec("final_train_loss", train[-1]),
            rec("final_test_loss", test[-1]),
            rec("restored_test_loss", restored),
        ]
        roundtrip = abs(restored - test[-1]) / abs(test[-1])
        finite = all(math.isfinite(v) for v in [*train, *test, restored])
        checks += [
            _check(
                "same model and weights as the reference",
                err <= params.logits_atol,
                err,
                params.logits_atol,
                "largest |logit - float64 NumPy reference| of the untrained model on the held-out batches",
            ),
            _check(
                "checkpoint round trip",
                roundtrip <= ROUNDTRIP_RTOL,
                roundtrip,
                ROUNDTRIP_RTOL,
                "relative difference of the restored model's test loss from the trained model's",
            ),
            _check("losses finite", finite, None, None, "every reported loss is a finite number"),
        ]
    return {
        "mode": VARIANTS[job.framework][variant],
        "records": records,
        "samples": [],
        "checks": checks,
        "program": program,
        "device_info": {"device_name": "cpu"},
    }
