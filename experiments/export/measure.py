"""Export of one (source framework, export path) over the workloads: export, load fresh, check parity, time inference."""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from fwbench import exporters
from fwbench.experiments.export.metrics import METRICS
from fwbench.frameworks import get_adapter
from fwbench.measure.child import died, error_of, run_child
from fwbench.measure.forkserver import ForkServer, child_stderr
from fwbench.measure.job import Request
from fwbench.measure.metrics import record
from fwbench.measure.parity import Tolerance, classify, compare
from fwbench.measure.quiet import busy_cpus_field, busy_redo_field
from fwbench.measure.timing import TimerConfig
from fwbench.workloads import WORKLOADS, get_workload


@dataclass(frozen=True)
class Params:
    """Parameters of the export experiment that a profile may set."""

    workloads: tuple[str, ...] = field(
        default=("mlp", "cnn", "transformer", "rnn"),
        metadata={"help": "workloads exported along the job's path, each from the same initial weights as elsewhere"},
    )
    export_batch: int = field(
        default=8,
        metadata={
            "bounds": "batch",
            "help": "batch size of the example input the exporter sees (and of the parity check)",
        },
    )
    other_batches: tuple[int, ...] = field(
        default=(1, 64),
        metadata={
            "bounds": "batch",
            "help": "batch sizes other than export_batch that are run to test a dynamic batch dimension",
        },
    )
    latency_batches: tuple[int, ...] = field(
        default=(1, 64),
        metadata={"bounds": "batch", "help": "batch sizes whose inference latency is timed in the target runtime"},
    )
    atol: float = field(
        default=1e-5, metadata={"bounds": "tolerance", "help": "parity: absolute tolerance per logit (float32)"}
    )
    rtol: float = field(
        default=1e-4, metadata={"bounds": "tolerance", "help": "parity: relative tolerance per logit (float32)"}
    )
    train_batch: int = field(
        default=32,
        metadata={
            "bounds": "batch",
            "help": "batch size of the training step timed on runtimes that train (Keras 3 backends)",
        },
    )
    warmup: int = field(default=5, metadata={"bounds": "steps", "help": "untimed calls after the first"})
    repeats: int = field(default=200, metadata={"bounds": "steps", "help": "timed calls per batch size (at most)"})
    min_repeats: int = field(default=10, metadata={"bounds": "steps", "help": "timed calls even past max_time_s"})
    max_time_s: float = field(default=2.0, metadata={"bounds": "seconds", "help": "time budget per batch size"})
    busy_cpus: float = busy_cpus_field(
        "a timed series (one batch size's latency, or the training step, in one process, read inside it)"
    )
    busy_redo: int = busy_redo_field("timed series is run again (same process)")
    child_timeout_s: float = field(
        default=300.0,
        metadata={
            "bounds": "timeout",
            "help": "the fresh process that loads and runs one artifact is killed after this long",
        },
    )
    latency_processes: int = field(
        default=3,
        metadata={
            "bounds": "processes",
            "help": "processes that load and time each artifact: the first also checks parity; the latency shown "
            "is the geometric mean of their medians with an interval over processes (one process gives none)",
        },
    )
    fresh_latency_paths: tuple[str, ...] = field(
        default=("tflite", "executorch"),
        metadata={
            "help": "export paths whose latency processes after the first each run in a fresh interpreter: forks of "
            "one process share its memory layout and luck, so an interval over them is too narrow for a "
            "verdict (the edge paths claim X5 compares by latency); other paths fork, for speed"
        },
    )
    artifact_processes: str = field(
        default="fork",
        metadata={
            "help": "fork: each artifact loads in a fork of one process that imported the runtime (the import is "
            "timed once per path, in that fresh interpreter); fresh: a new interpreter per artifact, the "
            "reference the fork is checked against (scripts/bench_isolation.py)"
        },
    )

    def __post_init__(self):
        for name in ("other_batches", "latency_batches"):
            sizes = getattr(self, name)
            if not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in sizes):
                raise ValueError(f"{name} must be a list of positive integers, got {sizes!r}")
        if (
            not isinstance(self.latency_processes, int)
            or isinstance(self.latency_processes, bool)
            or self.latency_processes < 1
        ):
            raise ValueError(f"latency_processes must be a positive integer, got {self.latency_processes!r}")
        if self.export_batch < 1:
            raise ValueError(f"export_batch must be a positive integer, got {self.export_batch!r}")
        if not self.child_timeout_s > 0:
            raise ValueError(f"child_timeout_s must be a positive number of seconds, got {self.child_timeout_s!r}")
        unknown = [w for w in self.workloads if w not in WORKLOADS]
        if not self.workloads or unknown:
            raise ValueError(f"unknown workloads {unknown!r}; known: {', '.join(sorted(WORKLOADS))}")
        Tolerance(self.atol, self.rtol)
        if self.artifact_processes not in ("fork", "fresh"):
            raise ValueError(f"artifact_processes must be 'fork' or 'fresh', not {self.artifact_processes!r}")

    def tolerance(self) -> Tolerance:
        return Tolerance(self.atol, self.rtol)

    def timer(self) -> TimerConfig:
        return TimerConfig(
            warmup=self.warmup, repeats=self.repeats, min_repeats=self.min_repeats, max_time_s=self.max_time_s
        )

    def batches(self) -> list[int]:
        return sorted({self.export_batch, *self.other_batches, *self.latency_batches})

    def guard(self) -> dict:
        """The busy rule the timing process applies to each series (fwbench.measure.quiet.Guard's fields)."""
        return {"busy_cpus": self.busy_cpus, "redo": self.busy_redo}


def artifact_bytes(path: Path) -> int:
    """Size on disk of a file, or of every file under a directory (a SavedModel)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def run_artifact(
    runtime: str,
    artifact: Path,
    inputs: dict[int, np.ndarray],
    params: Params,
    threads: int,
    workdir: Path,
    train: bool,
    server: ForkServer | None = None,
) -> tuple[dict, dict[int, np.ndarray]]:
    """Load and run `artifact` in a process of its own; return its result and outputs (a dead process is a load error).

    With `server` (fwbench.experiments.export.child --serve for this runtime) the process is a fork of
    it; a server that is gone or a fork that hung hands the artifact to a fresh interpreter.
    """
    workdir = workdir.resolve()  # absolute: a fork runs in workdir, not where the job runs
    workdir.mkdir(parents=True, exist_ok=True)
    np.savez(workdir / "inputs.npz", **{f"b{b}": x for b, x in inputs.items()})
    out, outputs = workdir / "child.json", workdir / "outputs.npz"
    request = {
        "artifact": str(Path(artifact).resolve()),
        "inputs": str(workdir / "inputs.npz"),
        "outputs": str(outputs),
        "out": str(out),
        "latency": ",".join(map(str, params.latency_batches)),
        "timer": asdict(params.timer()),
        "train_batch": params.train_batch if train else 0,
        "guard": params.guard(),
    }
    result = _forked(server, request, workdir, params.child_timeout_s) if server is not None else None
    if result is None:
        args = [
            "--runtime",
            runtime,
            "--artifact",
            request["artifact"],
            "--inputs",
            request["inputs"],
            "--outputs",
            request["outputs"],
            "--out",
            request["out"],
            "--latency",
            request["latency"],
            "--timer",
            json.dumps(request["timer"]),
            "--threads",
            str(threads),
            "--train-batch",
            str(request["train_batch"]),
            "--guard",
            json.dumps(request["guard"]),
        ]
        child = run_child(
            "fwbench.experiments.export.child", args, out, params.child_timeout_s, what="the runtime's process"
        )
        if child.result is None:
            return {"stage": "load", "error": child.error}, {}
        result = child.result
    got = {}
    if outputs.is_file():
        with np.load(outputs, allow_pickle=False) as data:
            got = {int(k[1:]): data[k] for k in data.files}
    return result, got


def _forked(server: ForkServer, request: dict, workdir: Path, timeout_s: float) -> dict | None:
    """The artifact's result from a fork of `server`; None where a fresh interpreter must run it instead."""
    Path(request["out"]).unlink(missing_ok=True)
    reply = server.ask({**request, "workdir": str(workdir), "timeout_s": timeout_s}, timeout_s + 60)
    if reply is None or reply.get("timed_out"):
        return None
    if Path(request["out"]).is_file():
        return json.loads(Path(request["out"]).read_text())
    return {
        "stage": "load",
        "process": "fork",
        "error": died("the runtime's process", reply["returncode"], child_stderr(workdir)),
    }


def _rec(workload: str, batch: int, metric: str, value: float) -> dict:
    return record(METRICS, "infer", batch, metric, value, workload=workload)


def _latency_records(workload: str, batch: int, s: dict, process: int, phase: str = "infer") -> list[dict]:
    """One process's latency statistics (the cell's, over processes, are the report's: export.tables), with what other
    programs took from the CPUs while the series ran and whether it was kept busy (fwbench.measure.quiet)."""
    metrics = {
        "step_time_median_s": s["median"],
        "step_time_ci_low_s": s["ci_low"],
        "step_time_ci_high_s": s["ci_high"],
        "step_time_iqr_s": s["iqr"],
        "step_time_cv": s["cv"],
        "n_repeats": s["n"],
        "throughput_per_s": batch / s["median"],
        **s.get("block", {}),
    }
    return [{**_rec(workload, batch, m, v), "phase": phase, "process": process} for m, v in metrics.items()]


def _busy(series: dict) -> dict:
    """The sample entry's mark of a series kept past the busy bound (the report leaves such series out)."""
    return {"busy": True} if series.get("block", {}).get("busy_block") else {}


def _timed(workload: str, results: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """Records and samples of every process's latencies (and training steps); the training errors."""
    records, samples, train_errors = [], [], []
    for process, result in enumerate(results):
        for b, s in result["latency"].items():
            records += _latency_records(workload, int(b), s, process)
            samples.append(
                {
                    "workload": workload,
                    "phase": "infer",
                    "batch_size": int(b),
                    "process": process,
                    "values": s["samples_s"],
                    **_busy(s),
                }
            )
        train = result.get("train")
        if train and "error" not in train:
            records += _latency_records(workload, train["batch_size"], train, process, phase="train")
            samples.append(
                {
                    "workload": workload,
                    "phase": "train",
                    "batch_size": train["batch_size"],
                    "process": process,
                    "values": train["samples_s"],
                    **_busy(train),
                }
            )
        elif train:
            train_errors.append(train["error"])
    return records, samples, train_errors


def export_one(
    adapter,
    path: str,
    runtime: str,
    workload: str,
    params: Params,
    threads: int,
    artifacts: Path,
    scratch: Path,
    server: ForkServer | None = None,
) -> tuple[dict, list[dict], list[dict]]:
    """One (path, workload): the attempt (what happened, errors in full), its records, its timing samples."""
    spec = get_workload(workload)
    model = adapter.build(spec, "cpu")
    inputs = {b: spec.batch(b, index=1)[0] for b in params.batches()}
    infer = adapter.infer_step(model, "eager")
    source = {b: adapter.to_numpy(infer(adapter.to_device(x, "cpu"))) for b, x in inputs.items()}
    init = spec.init_weights()
    attempt = {
        "workload": workload,
        "path": path,
        "runtime": runtime,
        "steps": [],
        "stage": "export",
        "error": None,
        "export_batch": params.export_batch,
        "batches": {},
        "tolerance": asdict(params.tolerance()),
    }
    records: list[dict] = []
    samples: list[dict] = []
    eb = params.export_batch

    started = time.perf_counter()
    try:
        artifact, steps = exporters.export(adapter.name, model, spec, path, artifacts / workload, inputs[eb])
    except Exception as exc:
        attempt.update(error=error_of(exc), outcome="fails")
        records.append(_rec(workload, eb, "export_ok", 0))
        return attempt, records, samples
    export_s = time.perf_counter() - started
    size = artifact_bytes(artifact)
    attempt.update(steps=steps, artifact=str(artifact), stage="load")
    records.append(_rec(workload, eb, "export_ok", 1))
    if not runtime.startswith("keras:"):  # Keras runs its own definition: nothing was converted or written
        records += [
            _rec(workload, eb, "export_s", export_s),
            _rec(workload, eb, "export_bytes", size),
            _rec(workload, eb, "export_steps", len(steps)),
        ]
    del model, infer

    result, outputs = run_artifact(
        runtime,
        artifact,
        inputs,
        params,
        threads,
        scratch / path / workload,
        train=runtime.startswith("keras:"),
        server=server,
    )
    attempt.update(runtime_version=result.get("runtime_version", ""), process=result.get("process", "fresh"))
    if result.get("error"):
        attempt.update(error=result["error"], outcome="fails")
        records.append(_rec(workload, eb, "load_ok", 0))
        return attempt, records, samples
    records += [
        _rec(workload, eb, "load_ok", 1),
        _rec(workload, eb, "runtime_import_s", result["import_s"]),
        _rec(workload, eb, "load_s", result["load_s"]),
    ]

    tol = params.tolerance()
    for b in params.batches():
        run = result["runs"][str(b)]
        entry = {"ran": run["ok"]}
        if run["ok"]:
            entry.update(compare(outputs[b], source[b], tol))
            entry["reference_max_abs_err"] = float(np.max(np.abs(outputs[b] - spec.reference_output(init, inputs[b]))))
        else:
            entry["error"] = run["error"]
        attempt["batches"][str(b)] = entry
    first = attempt["batches"][str(eb)]
    attempt["outcome"] = classify(True, True, first["ran"], first.get("passed"))
    if not first["ran"]:
        attempt.update(stage="run", error=first["error"])
    else:
        attempt["stage"] = "done"
        for metric in ("max_abs_err", "max_rel_err", "reference_max_abs_err"):
            if first[metric] is not None and math.isfinite(first[metric]):
                records.append(_rec(workload, eb, metric, first[metric]))
        records.append(_rec(workload, eb, "parity_ok", first["passed"]))
        others = [attempt["batches"][str(b)] for b in params.other_batches if b != eb]
        records.append(_rec(workload, eb, "dynamic_batch_ok", all(o["ran"] and o["passed"] for o in others)))
    # More processes for the latencies: steps within one process are not independent samples of the machine.
    results = [result]
    fresh = path in params.fresh_latency_paths
    for process in range(1, params.latency_processes):
        # Only what is timed: parity and the other batch sizes were checked in the first process.
        timed_inputs = {b: inputs[b] for b in params.latency_batches}
        more, _ = run_artifact(
            runtime,
            artifact,
            timed_inputs,
            params,
            threads,
            scratch / path / workload / f"p{process}",
            train=runtime.startswith("keras:"),
            server=None if fresh else server,
        )
        if more.get("error"):
            attempt.setdefault("latency_process_errors", []).append(more["error"])
        else:
            results.append(more)
    timed, timed_samples, train_errors = _timed(workload, results)
    records += timed
    samples += timed_samples
    if train_errors:
        attempt["train_error"] = train_errors[0]
    attempt["latency_processes"] = len(results)
    # Whether the interval over those processes is over independent ones (fresh interpreters) or over forks.
    attempt["latency_process_kind"] = "fresh" if fresh or server is None else "fork"
    return attempt, records, samples


def run(job: Request) -> dict:
    """The experiment's job: every workload along one export path (fwbench.measure.job's contract)."""
    framework_threads = get_adapter(job.framework).configure(job.threads)
    result = export_all(
        job.framework,
        job.variant,
        job.params,
        threads=job.threads,
        progress=lambda what: job.progress(f"workload: {what}"),
    )
    result["settings"] = {"framework_threads": framework_threads}
    return result


def export_all(
    framework: str,
    path: str,
    params: Params,
    threads: int,
    artifacts: Path = Path("artifacts"),
    scratch: Path = Path("scratch"),
    progress: Callable[[str], None] = lambda what: None,
) -> dict:
    """Every workload along one export path. A failing workload is recorded; only a bad path name raises."""
    adapter = get_adapter(framework)
    runtime = exporters.paths(framework).get(path)
    if runtime is None:
        raise ValueError(f"{framework} has no export path {path!r}; known: {', '.join(exporters.paths(framework))}")
    attempts, records, samples = [], [], []
    server = (
        ForkServer("fwbench.experiments.export.child", ["--runtime", runtime, "--threads", str(threads)])
        if params.artifact_processes == "fork"
        else None
    )
    with server or contextlib.nullcontext():
        for workload in params.workloads:
            progress(workload)
            attempt, recs, samp = export_one(
                adapter, path, runtime, workload, params, threads, Path(artifacts), Path(scratch), server
            )
            attempts.append(attempt)
            records += recs
            samples += samp
    return {
        "mode": runtime,
        "framework_version": adapter.version(),
        "device_info": {"device_name": "cpu"},
        "runtime": runtime,
        "records": records,
        "samples": samples,
        "checks": [],
        "attempts": attempts,
    }
