"""One input-pipeline job: a framework's loader over each format it reads, at each worker count, each pipeline in
a fresh process, in a seeded random order; records, timing samples, checks and every attempt (failures too)."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from fwbench.experiments.input_pipeline import dataset
from fwbench.experiments.input_pipeline.hooks import LOADERS
from fwbench.experiments.input_pipeline.metrics import METRICS
from fwbench.experiments.input_pipeline.pipeline import Pipeline
from fwbench.measure.child import error_of, run_child
from fwbench.measure.job import Request
from fwbench.measure.metrics import record
from fwbench.measure.quiet import Guard, busy_cpus_field, busy_redo_field, guarded

WORKLOAD = "images"
#: What fwbench.measure.quiet read around a pipeline's process, stored in its attempt and as its records.
BLOCK_METRICS = ("busy_block", "block_attempts", "other_cpus")
#: The distribution whose version is each loader's (read without importing it).
DISTRIBUTIONS = {"tensorflow": ("tensorflow-cpu", "tensorflow"), "torch": ("torch",), "jax": ("grain",)}


@dataclass(frozen=True)
class Params:
    """Parameters of the input-pipeline experiment that a profile may set."""

    samples: int = field(
        default=4096, metadata={"bounds": "count", "help": "images in the synthetic dataset (one epoch)"}
    )
    image_size: int = field(default=64, metadata={"bounds": "count", "help": "height and width of each image (RGB)"})
    classes: int = field(default=10, metadata={"bounds": "count", "help": "labels, drawn uniformly (at most 256)"})
    shards: int = field(default=8, metadata={"bounds": "count", "help": "files of each sharded format"})
    data_seed: int = field(default=0, metadata={"bounds": "seed", "help": "seed the dataset is generated from"})
    batch_size: int = field(default=64, metadata={"bounds": "batch", "help": "samples per batch"})
    crop: int = field(default=56, metadata={"bounds": "count", "help": "side of the random crop"})
    epochs: int = field(
        default=3,
        metadata={
            "bounds": "steps",
            "help": "epochs each pipeline streams; the first (start-up) is not in samples/s or CPU per sample",
        },
    )
    workers: tuple[int, ...] = field(
        default=(0, 1, 2),
        metadata={
            "bounds": "count",
            "help": "worker processes (DataLoader, grain) or map threads (tf.data) measured, each its own pipeline",
        },
    )
    prefetch: int = field(
        default=2,
        metadata={
            "bounds": "count",
            "help": "batches buffered per worker (DataLoader prefetch_factor, grain per_worker_buffer_size, tf.data "
            "prefetch of this times the workers); none at 0 workers",
        },
    )
    processes: int = field(
        default=2,
        metadata={
            "bounds": "processes",
            "help": "fresh processes per (format, workers) in each job: the per-process estimates behind intervals",
        },
    )
    page_cache: str = field(
        default="warm",
        metadata={
            "help": "warm: every file of the format is read once before each process starts; cold: its pages are "
            "dropped first (posix_fadvise DONTNEED)"
        },
    )
    order_seed: int = field(
        default=0, metadata={"bounds": "seed", "help": "seed of the order in which a job's pipelines take turns"}
    )
    pixel_tolerance: float = field(
        default=1e-5,
        metadata={
            "bounds": "tolerance",
            "help": "relative tolerance of the check pass's pixel mean and standard deviation against the generator's",
        },
    )
    rss_interval_s: float = field(
        default=0.05, metadata={"bounds": "seconds", "help": "how often the process tree's memory is sampled"}
    )
    child_timeout_s: float = field(
        default=300.0,
        metadata={"bounds": "timeout", "help": "a pipeline's process is killed after this long (stored as a Timeout)"},
    )
    busy_cpus: float = busy_cpus_field("a pipeline's process (page cache set, import, first batch, every epoch)")
    busy_redo: int = busy_redo_field("pipeline is run again (a fresh process, the page cache set again)")
    data_dir: str = field(
        default="",
        metadata={"help": "folder of the written datasets ('' = the checkout's .fwbench/data/input_pipeline)"},
    )

    def __post_init__(self):
        if not self.workers or not all(isinstance(w, int) and not isinstance(w, bool) and w >= 0 for w in self.workers):
            raise ValueError(f"workers must be a non-empty list of counts, got {self.workers!r}")
        if not 1 <= self.classes <= 256:
            raise ValueError(f"classes must be 1 to 256 (a label is one byte), got {self.classes!r}")
        if not 1 <= self.crop <= self.image_size:
            raise ValueError(f"crop must be 1 to image_size ({self.image_size}), got {self.crop!r}")
        if self.epochs < 2:
            raise ValueError(f"epochs must be at least 2 (the first is start-up), got {self.epochs!r}")
        if not 1 <= self.shards <= self.samples:
            raise ValueError(f"shards must be 1 to samples ({self.samples}), got {self.shards!r}")
        if self.processes < 1:
            raise ValueError(f"processes must be at least 1, got {self.processes!r}")
        if self.page_cache not in ("warm", "cold"):
            raise ValueError(f"page_cache must be 'warm' or 'cold', not {self.page_cache!r}")
        if not self.rss_interval_s > 0:
            raise ValueError(f"rss_interval_s must be positive, got {self.rss_interval_s!r}")

    def spec(self) -> dataset.DataSpec:
        return dataset.DataSpec(
            samples=self.samples,
            height=self.image_size,
            width=self.image_size,
            classes=self.classes,
            shards=self.shards,
            seed=self.data_seed,
        )

    def root(self) -> Path:
        return Path(self.data_dir) if self.data_dir else dataset.DATA_ROOT


def mode_of(workers: int) -> str:
    return f"workers {workers}"


def plan(formats: list[str], workers: tuple[int, ...], processes: int, seed: int, job_process: int) -> list[tuple]:
    """(round, format, workers) in measuring order: each round holds every pipeline once, in a seeded random order,
    so drift of the machine spreads over all of them."""
    out = []
    for r in range(processes):
        combos = [(fmt, w) for fmt in formats for w in workers]
        random.Random(f"{seed}|{job_process}|{r}").shuffle(combos)
        out += [(r, fmt, w) for fmt, w in combos]
    return out


def loader_version(framework: str) -> str:
    for dist in DISTRIBUTIONS.get(framework, ()):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return ""


def run(job: Request) -> dict:
    """The experiment's job (fwbench.measure.job's contract)."""
    return measure_all(
        job.framework, job.variants, job.params, threads=job.threads, job_process=job.process, progress=job.progress
    )


def measure_all(
    framework: str,
    formats: list[str],
    params: Params,
    threads: int,
    job_process: int = 0,
    scratch: Path = Path("scratch"),
    progress=lambda what: None,
) -> dict:
    """Every (format, workers) pipeline of one loader, `params.processes` fresh processes each."""
    if framework not in LOADERS:
        raise ValueError(f"no loader for {framework!r}; known: {', '.join(LOADERS)}")
    unknown = [f for f in formats if f not in LOADERS[framework][1]]
    if unknown:
        raise ValueError(
            f"{LOADERS[framework][0]} does not read {unknown!r}; it reads {', '.join(LOADERS[framework][1])}"
        )
    spec, root = params.spec(), params.root()
    written = {}
    for fmt in dict.fromkeys([dataset.COMMON, *formats]):
        progress(f"dataset: {fmt}")
        written[fmt] = dataset.ensure(spec, fmt, root)
    want = dataset.expected(spec, params.crop)
    records, samples, checks, attempts = [], [], [], []
    checked = set()
    for r, fmt, workers in plan(formats, params.workers, params.processes, params.order_seed, job_process):
        process = job_process * params.processes + r
        progress(f"{fmt}, {mode_of(workers)}, process {process}")
        pipeline = Pipeline(
            spec=spec,
            fmt=fmt,
            data_root=str(root),
            batch=params.batch_size,
            crop=params.crop,
            epochs=params.epochs,
            workers=workers,
            prefetch=params.prefetch,
            seed=params.order_seed * 1000 + process,
        )
        # Every number of a pipeline (import, first batch, epochs) is timed in its own process, and its loader's
        # workers are that process's children: the job's own work. Whatever else takes the CPUs meanwhile slows
        # them all, so the whole process is the block: run again while busy, then kept marked busy past the bound.
        attempt, quiet = guarded(
            lambda: one(
                framework,
                pipeline,
                params,
                threads,
                process,
                check=fmt not in checked,
                workdir=scratch / f"{fmt}-w{workers}-p{process}",
            ),
            Guard(params.busy_cpus, params.busy_redo),
        )
        attempt.update(quiet.records())
        checked.add(fmt)
        recs, samp, chks = outcome(attempt, pipeline, want, params.pixel_tolerance)
        records += recs
        samples += samp
        checks += chks
        attempts.append(attempt)
    return {
        "framework_version": loader_version(framework),
        "device_info": {"device_name": "cpu"},
        "records": records,
        "samples": samples,
        "checks": checks,
        "pipelines": attempts,
        "dataset": {
            "digest": spec.digest,
            "samples": spec.samples,
            "height": spec.height,
            "width": spec.width,
            "classes": spec.classes,
            "shards": spec.shards,
            "seed": spec.seed,
            "common_format": dataset.COMMON,
            "written_now": sorted(f for f, w in written.items() if w),
            "page_cache": params.page_cache,
        },
    }


def one(
    framework: str, pipeline: Pipeline, params: Params, threads: int, process: int, check: bool, workdir: Path
) -> dict:
    """One pipeline in a fresh process, the page cache set first; the attempt as stored (an error is a result)."""
    attempt = {
        "format": pipeline.fmt,
        "workers": pipeline.workers,
        "process": process,
        "page_cache": params.page_cache,
        "outcome": "fails",
        "error": None,
    }
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        attempt["page_cache_bytes"] = dataset.page_cache(pipeline.files(), params.page_cache)
        request = workdir / "request.json"
        request.write_text(
            json.dumps({"pipeline": pipeline.to_json(), "check": check, "rss_interval_s": params.rss_interval_s})
        )
        out = workdir / "result.json"
        child = run_child(
            "fwbench.experiments.input_pipeline.child",
            ["--framework", framework, "--request", str(request), "--out", str(out), "--threads", str(threads)],
            out,
            params.child_timeout_s,
            what="the pipeline's process",
        )
    except Exception as exc:
        attempt["error"] = error_of(exc)
        return attempt
    if child.result is None:
        attempt.update(stage="process", error=child.error)
        return attempt
    result = child.result
    attempt.update(
        {
            k: result[k]
            for k in (
                "stage",
                "loader",
                "loader_version",
                "settings",
                "import_s",
                "first_batch_s",
                "epoch_s",
                "label_counts",
                "peak_tree_rss_bytes",
                "tree_processes",
                "steady_cpu_s",
                "steady_samples",
                "check",
                "threads",
            )
            if k in result
        }
    )
    if result.get("error"):
        attempt["error"] = result["error"]
    else:
        attempt["outcome"] = "ok"
    return attempt


def _close(a: float, b: float, tol: float) -> tuple[bool, float]:
    rel = abs(a - b) / max(abs(b), 1e-12)
    return rel <= tol, rel


def outcome(attempt: dict, pipeline: Pipeline, want: dict, tolerance: float) -> tuple[list, list, list]:
    """Records, timing samples and checks of one attempt (a failed one gives none: its attempt holds the error)."""
    if attempt["outcome"] != "ok":
        return [], [], []
    axes = {"workload": WORKLOAD, "variant": pipeline.fmt, "mode": mode_of(pipeline.workers)}
    where = f"{pipeline.fmt}, {mode_of(pipeline.workers)}, process {attempt['process']}"

    def rec(metric: str, value: float) -> dict:
        return {**record(METRICS, "load", pipeline.batch, metric, value, **axes), "process": attempt["process"]}

    steady = attempt["epoch_s"][1:]
    labels_ok = all(c == want["label_counts"] for c in attempt["label_counts"])
    records = [
        rec("samples_per_s", pipeline.spec.samples / float(np.median(steady))),
        rec("first_batch_s", attempt["first_batch_s"]),
        rec("loader_import_s", attempt["import_s"]),
        rec("tree_peak_rss_bytes", attempt["peak_tree_rss_bytes"]),
        rec("labels_ok", labels_ok),
    ]
    if attempt.get("steady_samples") and math.isfinite(attempt.get("steady_cpu_s", math.nan)):
        records.append(rec("cpu_s_per_1000_samples", attempt["steady_cpu_s"] / attempt["steady_samples"] * 1000))
    records += [rec(m, attempt[m]) for m in BLOCK_METRICS if m in attempt]
    busy = bool(attempt.get("busy_block"))
    samples = [
        {
            "variant": pipeline.fmt,
            "mode": mode_of(pipeline.workers),
            "phase": "load",
            "batch_size": pipeline.batch,
            "process": attempt["process"],
            "values": steady,
            # The report's generic readers (fwbench.report.results) keep a busy series out by this flag.
            "busy": busy,
        }
    ]
    if busy:
        samples[0]["problem"] = (
            f"other programs used {attempt.get('other_cpus', math.nan):.2f} CPUs on average while the pipeline's "
            f"process ran (the last of {int(attempt['block_attempts'])} attempts)"
        )
    checks = [
        {
            "name": "labels per epoch",
            "passed": labels_ok,
            "variant": pipeline.fmt,
            "detail": f"{where}: every one of {len(attempt['label_counts'])} epochs delivered the dataset's "
            f"label counts"
            if labels_ok
            else f"{where}: label counts per epoch {attempt['label_counts']} differ from the dataset's "
            f"{want['label_counts']}",
        }
    ]
    got = attempt.get("check")
    if got:
        mean_ok, mean_rel = _close(got["pixel_mean"], want["pixel_mean"], tolerance)
        std_ok, std_rel = _close(got["pixel_std"], want["pixel_std"], tolerance)
        ok = mean_ok and std_ok and got["label_counts"] == want["label_counts"]
        records.append(rec("pixel_stats_ok", ok))
        checks.append(
            {
                "name": "pixel statistics",
                "passed": ok,
                "variant": pipeline.fmt,
                "value": max(mean_rel, std_rel),
                "tolerance": tolerance,
                "detail": f"{pipeline.fmt}: centre crops, normalised: mean {got['pixel_mean']:.7g} (generator "
                f"{want['pixel_mean']:.7g}), std {got['pixel_std']:.7g} (generator "
                f"{want['pixel_std']:.7g}), labels {'as generated' if got['label_counts'] == want['label_counts'] else 'differ'}",
            }
        )
    return records, samples, checks
