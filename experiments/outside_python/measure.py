"""One source framework's models outside Python: exported (ONNX, TF.js), then loaded, checked and timed in fresh Node.js processes and headless Chromium pages."""

from __future__ import annotations

import math
import random
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from fwbench import exporters
from fwbench.experiments.outside_python import assets, browser, installs, node
from fwbench.experiments.outside_python.metrics import METRICS
from fwbench.frameworks import get_adapter
from fwbench.measure.child import error_of
from fwbench.measure.job import Request
from fwbench.measure.metrics import record
from fwbench.measure.parity import Tolerance, classify, compare
from fwbench.measure.quiet import Guard, Guarded, Window, busy_cpus_field, busy_redo_field
from fwbench.measure.stats import summarize
from fwbench.measure.timing import TimerConfig
from fwbench.workloads import WORKLOADS, get_workload

#: Every runtime this experiment can run, as host:runtime. node: a fresh `node` process (node/run.js);
#: browser: a fresh headless Chromium page (web/page.html). tfjs-node is the native binding whose install needs a
#: download from outside the npm registry: attempted and recorded.
RUNTIMES = (
    "node:onnxruntime-node",
    "node:onnxruntime-web",
    "node:tfjs-wasm",
    "node:tfjs-node",
    "browser:onnxruntime-web",
    "browser:tfjs-wasm",
)
#: The format each runtime loads.
FORMAT = {"onnxruntime-node": "onnx", "onnxruntime-web": "onnx", "tfjs-wasm": "tfjs", "tfjs-node": "tfjs"}
#: Per source framework, the export path (fwbench.exporters) that makes each format: ONNX directly, TF.js from a
#: SavedModel through the tensorflowjs converter. PyTorch has no TF.js path (it would go through ONNX and a second
#: converter, not the web path people mean), so its models run only in the ONNX runtimes.
SOURCES = {
    "torch": {"onnx": "onnx-dynamo"},
    "tensorflow": {"onnx": "tf2onnx", "tfjs": "savedmodel"},
    "jax": {"onnx": "jax2tf-onnx", "tfjs": "jax2tf-savedmodel"},
}
VARIANT = "node-and-browser"
_TOL = Tolerance()


def variants(framework: str) -> dict[str, str]:
    """The one variant: every runtime of RUNTIMES the framework's models reach, in Node and the browser."""
    return {VARIANT: "javascript"} if framework in SOURCES else {}


@dataclass(frozen=True)
class Params:
    """Parameters of the outside_python experiment that a profile may set."""

    workloads: tuple[str, ...] = field(
        default=("mlp",),
        metadata={"help": "workloads exported and run, each from the same initial weights as elsewhere"},
    )
    runtimes: tuple[str, ...] = field(
        default=RUNTIMES,
        metadata={
            "help": "host:runtime pairs to run (node:onnxruntime-node, browser:tfjs-wasm, ...); those whose format the "
            "source framework has no path to are left out"
        },
    )
    export_batch: int = field(
        default=8,
        metadata={
            "bounds": "batch",
            "help": "batch size of the example input the exporter sees (and of the parity check)",
        },
    )
    latency_batches: tuple[int, ...] = field(
        default=(1, 64),
        metadata={
            "bounds": "batch",
            "help": "batch sizes whose inference latency is timed (also checked for parity: the dynamic batch)",
        },
    )
    atol: float = field(
        default=_TOL.atol,
        metadata={
            "bounds": "tolerance",
            "help": "parity: absolute tolerance per logit (float32; the export experiment's)",
        },
    )
    rtol: float = field(
        default=_TOL.rtol,
        metadata={
            "bounds": "tolerance",
            "help": "parity: relative tolerance per logit (float32; the export experiment's)",
        },
    )
    processes: int = field(
        default=3,
        metadata={
            "bounds": "processes",
            "help": "fresh processes (Node) or pages (Chromium, a fresh browser each) per runtime; the runtimes take "
            "turns in a seeded random order, and latencies get intervals over these processes",
        },
    )
    warmup: int = field(default=5, metadata={"bounds": "steps", "help": "untimed calls after the first"})
    repeats: int = field(default=200, metadata={"bounds": "steps", "help": "timed calls per batch size (at most)"})
    min_repeats: int = field(default=10, metadata={"bounds": "steps", "help": "timed calls even past max_time_s"})
    max_time_s: float = field(default=1.0, metadata={"bounds": "seconds", "help": "time budget per batch size"})
    seed: int = field(
        default=0, metadata={"bounds": "seed", "help": "seeds the order in which the runtimes take turns"}
    )
    busy_cpus: float = busy_cpus_field(
        "a fresh process's (or page's, from its first request to its result) timings (Node and Chromium are the job's own)"
    )
    busy_redo: int = busy_redo_field("process (or page) is run again, in a fresh one")
    child_timeout_s: float = field(
        default=120.0,
        metadata={
            "bounds": "timeout",
            "help": "a Node process or browser page that gives no result in this long is stopped (a stored failure)",
        },
    )
    install_timeout_s: float = field(
        default=900.0,
        metadata={
            "bounds": "timeout",
            "help": "npm ci of one runtime's packages, or making the converter's environment, gives up after this long",
        },
    )
    convert_timeout_s: float = field(
        default=600.0,
        metadata={
            "bounds": "timeout",
            "help": "the TF.js converter (a process of its own environment) gives up after this long",
        },
    )

    def __post_init__(self):
        unknown = [w for w in self.workloads if w not in WORKLOADS]
        if not self.workloads or unknown:
            raise ValueError(f"unknown workloads {unknown!r}; known: {', '.join(sorted(WORKLOADS))}")
        bad = [r for r in self.runtimes if r not in RUNTIMES]
        if not self.runtimes or bad:
            raise ValueError(f"unknown runtimes {bad!r}; known: {', '.join(RUNTIMES)}")
        if not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in self.latency_batches):
            raise ValueError(f"latency_batches must be positive integers, got {self.latency_batches!r}")
        if not isinstance(self.processes, int) or isinstance(self.processes, bool) or self.processes < 1:
            raise ValueError(f"processes must be a positive integer, got {self.processes!r}")
        Tolerance(self.atol, self.rtol)
        self.timer()

    def tolerance(self) -> Tolerance:
        return Tolerance(self.atol, self.rtol)

    def timer(self) -> TimerConfig:
        return TimerConfig(
            warmup=self.warmup, repeats=self.repeats, min_repeats=self.min_repeats, max_time_s=self.max_time_s
        )

    def batches(self) -> list[int]:
        return sorted({self.export_batch, *self.latency_batches})


def reachable(framework: str, runtimes) -> list[str]:
    """The host:runtime pairs whose format `framework` has an export path to, in the given order."""
    formats = SOURCES.get(framework, {})
    return [r for r in runtimes if FORMAT[r.split(":", 1)[1]] in formats]


def artifact_bytes(path: Path) -> int:
    """Size on disk of a model: an .onnx file, or a TF.js model.json with every file beside it (its shards)."""
    return (
        sum(p.stat().st_size for p in path.parent.iterdir() if p.is_file())
        if path.name == "model.json"
        else path.stat().st_size
    )


def tfjs_convert(saved_model: Path, out: Path, timeout_s: float, install_timeout_s: float) -> tuple[Path, dict]:
    """The official converter (tensorflowjs_converter, its own environment) from a SavedModel to a TF.js graph model."""
    env = installs.converter_python(install_timeout_s)
    converter = env.path / "bin" / "tensorflowjs_converter"
    out.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(converter),
        "--input_format=tf_saved_model",
        "--output_format=tfjs_graph_model",
        str(saved_model),
        str(out),
    ]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2", "HOME": str(out)},
    )
    if proc.returncode != 0 or not (out / "model.json").is_file():
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith(("I0000", "W0000"))]
        raise installs.InstallFailed(
            f"tensorflowjs_converter failed (exit status {proc.returncode}): {lines[-1] if lines else 'no output'}",
            proc.stderr,
        )
    version = subprocess.run(
        [
            str(env.path / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('tensorflowjs'), m.version('tensorflow'))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.split()
    return out / "model.json", {
        "converter_env_s": env.seconds,
        "converter_env_reused": env.reused,
        "converter": f"tensorflowjs {version[0]} (tensorflow {version[1]})" if len(version) == 2 else "tensorflowjs",
    }


def _rec(workload: str, mode: str, batch: int, metric: str, value: float, **extra) -> dict:
    return {**record(METRICS, "infer", batch, metric, value, workload=workload), "mode": mode, **extra}


def _latency_records(workload: str, mode: str, batch: int, samples: list[float], process: int) -> list[dict]:
    s = summarize(samples)
    metrics = {
        "step_time_median_s": s.median,
        "step_time_ci_low_s": s.ci_low,
        "step_time_ci_high_s": s.ci_high,
        "step_time_iqr_s": s.iqr,
        "step_time_cv": s.cv,
        "n_repeats": s.n,
        "throughput_per_s": batch / s.median,
    }
    return [_rec(workload, mode, batch, m, v, process=process) for m, v in metrics.items()]


def _failed(attempt: dict, stage: str, error: dict) -> dict:
    attempt.update(stage=stage, error=error, outcome="fails")
    return attempt


def run_one(
    run: Callable,
    mode: str,
    modules: Path,
    model: Path,
    inputs: dict[int, np.ndarray],
    latency: list[int],
    params: Params,
    threads: int,
    workdir: Path,
) -> tuple[dict, dict, Guarded]:
    """One fresh process's (or page's) result and outputs, and how busy the machine was meanwhile: one during which
    other programs took more than busy_cpus CPUs (the host reads it around its process) runs again in a fresh one,
    up to busy_redo times; the last is kept, marked busy if it was (fwbench.measure.quiet)."""
    host, runtime = mode.split(":", 1)
    guard = Guard(params.busy_cpus, params.busy_redo)
    attempts = 0
    while True:
        attempts += 1
        result, outputs = run(
            runtime, modules, model, inputs, latency, params.timer(), threads, workdir, params.child_timeout_s
        )
        window = result.pop("window", None) or Window()
        # A failure is not a timing: it stands, busy or not.
        busy = window.busy(guard) and not result.get("error")
        if not busy or attempts > guard.redo:
            return result, outputs, Guarded(window.other_cpus, attempts, busy)


def measure_workload(
    framework: str,
    workload: str,
    params: Params,
    threads: int,
    artifacts: Path,
    scratch: Path,
    progress: Callable[[str], None] = lambda what: None,
    hosts: dict[str, Callable] | None = None,
) -> tuple[list[dict], list[dict], list[dict]]:
    """Every reachable runtime on one workload: attempts (one per runtime), records and timing samples."""
    hosts = hosts or {"node": node.run_node, "browser": browser.run_browser}
    modes = reachable(framework, params.runtimes)
    eb = params.export_batch
    attempts = {
        m: {
            "workload": workload,
            "runtime": m,
            "host": m.split(":")[0],
            "format": FORMAT[m.split(":")[1]],
            "source_path": SOURCES[framework][FORMAT[m.split(":")[1]]],
            "steps": [],
            "stage": "install",
            "error": None,
            "outcome": "fails",
            "export_batch": eb,
            "batches": {},
            "tolerance": asdict(params.tolerance()),
            "processes": 0,
        }
        for m in modes
    }
    records: list[dict] = []
    samples: list[dict] = []

    # 1. Each runtime's packages (npm ci from the committed lock, once per checkout).
    modules: dict[str, Path] = {}
    for mode in modes:
        package = mode.split(":")[1]
        progress(f"{workload}: installing {package}")
        try:
            got = installs.npm_install(package, params.install_timeout_s)
        except installs.InstallFailed as exc:
            _failed(attempts[mode], "install", exc.as_error())
            records.append(_rec(workload, mode, eb, "install_ok", 0))
            continue
        modules[mode] = got.path
        attempts[mode]["install"] = "reused" if got.reused else "installed"
        records += [
            _rec(workload, mode, eb, "install_ok", 1),
            _rec(workload, mode, eb, "package_bytes", installs.folder_bytes(got.path)),
        ]
        if not got.reused:
            records.append(_rec(workload, mode, eb, "install_s", got.seconds))

    # 2. The source model, its outputs, and each format the runtimes need.
    spec = get_workload(workload)
    adapter = get_adapter(framework)
    model = adapter.build(spec, "cpu")
    inputs = {b: spec.batch(b, index=1)[0] for b in params.batches()}
    infer = adapter.infer_step(model, "eager")
    source = {b: adapter.to_numpy(infer(adapter.to_device(x, "cpu"))) for b, x in inputs.items()}
    models: dict[str, tuple[Path, list[str]] | dict] = {}
    for fmt in sorted({a["format"] for m, a in attempts.items() if m in modules}):
        path = SOURCES[framework][fmt]
        progress(f"{workload}: exporting {fmt} ({path})")
        started = time.perf_counter()
        try:
            artifact, steps = exporters.export(framework, model, spec, path, artifacts / workload / path, inputs[eb])
            info: dict = {}
            if fmt == "tfjs":
                artifact, info = tfjs_convert(
                    artifact, artifacts / workload / "tfjs", params.convert_timeout_s, params.install_timeout_s
                )
                steps = [*steps, "tensorflowjs_converter"]
            models[fmt] = (artifact, steps, time.perf_counter() - started, info)
        except installs.InstallFailed as exc:
            models[fmt] = {"stage": "convert", "error": exc.as_error()}
        except subprocess.TimeoutExpired as exc:
            models[fmt] = {"stage": "convert", "error": {"type": "Timeout", "message": str(exc), "traceback": ""}}
        except Exception as exc:
            models[fmt] = {"stage": "export", "error": error_of(exc)}
    del model, infer

    ready = []
    for mode in modes:
        a = attempts[mode]
        if mode not in modules:
            continue
        made = models[a["format"]]
        if isinstance(made, dict):
            _failed(a, made["stage"], made["error"])
            records.append(_rec(workload, mode, eb, "artifact_ok", 0))
            continue
        artifact, steps, convert_s, info = made
        a.update(steps=steps, stage="load", **info)
        records += [
            _rec(workload, mode, eb, "artifact_ok", 1),
            _rec(workload, mode, eb, "convert_s", convert_s),
            _rec(workload, mode, eb, "model_bytes", artifact_bytes(artifact)),
        ]
        ready.append(mode)

    # 3. Fresh processes, the runtimes taking turns in a seeded random order: each process round runs every
    #    runtime once; the first round also checks parity at every batch size.
    rng = random.Random(params.seed)
    results: dict[str, list[dict]] = {m: [] for m in ready}
    for process in range(params.processes):
        order = list(ready)
        rng.shuffle(order)
        for mode in order:
            a = attempts[mode]
            if process > 0 and a["outcome"] == "fails":
                continue
            progress(f"{workload}: {mode}, process {process + 1} of {params.processes}")
            wanted = inputs if process == 0 else {b: inputs[b] for b in params.latency_batches}
            artifact = models[a["format"]][0]
            result, outputs, quiet = run_one(
                hosts[a["host"]],
                mode,
                modules[mode],
                artifact,
                wanted,
                list(params.latency_batches),
                params,
                threads,
                scratch / workload / mode.replace(":", "-") / f"p{process}",
            )
            if process == 0:
                _first_process(a, result, outputs, inputs, source, spec, params, records, workload, mode)
            elif result.get("error"):
                a.setdefault("process_errors", []).append(result["error"])
                continue
            if not result.get("error"):
                results[mode].append(result)
                # One flag per process, not per series: the process (a page from its first request) is the block,
                # so its import and load times were as disturbed as its latencies.
                records += [
                    _rec(workload, mode, eb, "runtime_import_s", result["import_s"], process=process),
                    _rec(workload, mode, eb, "load_s", result["load_s"], process=process),
                ]
                records += [_rec(workload, mode, eb, m, v, process=process) for m, v in quiet.records().items()]
                if result.get("runtime_bytes"):
                    records.append(_rec(workload, mode, eb, "bundle_bytes", result["runtime_bytes"], process=process))
                for b, lat in result.get("latency", {}).items():
                    records += _latency_records(workload, mode, int(b), lat["samples_s"], process)
                    samples.append(
                        {
                            "workload": workload,
                            "mode": mode,
                            "phase": "infer",
                            "batch_size": int(b),
                            "process": process,
                            "values": lat["samples_s"],
                            **({"busy": True} if quiet.busy else {}),
                        }
                    )
    for mode in ready:
        attempts[mode]["processes"] = len(results[mode])
        if results[mode]:
            first = results[mode][0]
            attempts[mode].update(
                {
                    k: first[k]
                    for k in ("runtime_version", "node_version", "browser", "threads_used", "cross_origin_isolated")
                    if k in first
                }
            )
    return [attempts[m] for m in modes], records, samples


def _first_process(
    a: dict,
    result: dict,
    outputs: dict,
    inputs: dict,
    source: dict,
    spec,
    params: Params,
    records: list[dict],
    workload: str,
    mode: str,
) -> None:
    """Parity and the outcome from the first process of a runtime (it ran every batch size)."""
    eb = params.export_batch
    if result.get("error"):
        _failed(a, result.get("stage", "load"), result["error"])
        records.append(_rec(workload, mode, eb, "load_ok", 0))
        return
    records.append(_rec(workload, mode, eb, "load_ok", 1))
    init = spec.init_weights()
    for b in params.batches():
        run = result.get("runs", {}).get(str(b), {"ok": False, "error": {"type": "Missing", "message": "not run"}})
        entry = {"ran": bool(run.get("ok"))}
        if entry["ran"]:
            entry.update(compare(outputs[b], source[b], params.tolerance()))
            entry["reference_max_abs_err"] = float(np.max(np.abs(outputs[b] - spec.reference_output(init, inputs[b]))))
        else:
            entry["error"] = run.get("error")
        a["batches"][str(b)] = entry
    first = a["batches"][str(eb)]
    a["outcome"] = classify(True, True, first["ran"], first.get("passed"))
    if not first["ran"]:
        a.update(stage="run", error=first["error"])
        return
    a["stage"] = "done"
    for metric in ("max_abs_err", "max_rel_err"):
        if first[metric] is not None and math.isfinite(first[metric]):
            records.append(_rec(workload, mode, eb, metric, first[metric]))
    records.append(_rec(workload, mode, eb, "parity_ok", first["passed"]))
    others = [a["batches"][str(b)] for b in params.latency_batches if b != eb]
    records.append(_rec(workload, mode, eb, "dynamic_batch_ok", all(o["ran"] and o["passed"] for o in others)))


def run(job: Request) -> dict:
    """The experiment's job: one source framework's models in every reachable runtime (fwbench.measure.job's contract)."""
    framework_threads = get_adapter(job.framework).configure(job.threads)
    result = measure_all(job.framework, job.params, job.threads, progress=job.progress)
    result["settings"] = {"framework_threads": framework_threads}
    return result


def measure_all(
    framework: str,
    params: Params,
    threads: int,
    artifacts: Path = Path("artifacts"),
    scratch: Path = Path("scratch"),
    progress: Callable[[str], None] = lambda what: None,
) -> dict:
    """Every workload in every reachable runtime. A failing runtime is recorded; only an unknown framework raises."""
    if framework not in SOURCES:
        raise ValueError(f"{framework} has no path to ONNX or TF.js here; known: {', '.join(SOURCES)}")
    assets.check()
    attempts, records, samples = [], [], []
    for workload in params.workloads:
        a, r, s = measure_workload(framework, workload, params, threads, Path(artifacts), Path(scratch), progress)
        attempts += a
        records += r
        samples += s
    adapter = get_adapter(framework)
    chromium = browser.find_chromium()
    # The programs outside Python that ran the models, beside the device (their versions also key the job).
    hosts = {"node": node.node_version(), "chromium": browser.chromium_version(chromium) if chromium else None}
    return {
        "mode": "javascript",
        "framework_version": adapter.version(),
        "device_info": {"device_name": "cpu", **hosts},
        "records": records,
        "samples": samples,
        "checks": [],
        "attempts": attempts,
    }
