"""One data-parallel job: for one framework, launch each configuration (2 processes x 1 thread, 1 x 2, 1 x 1) as
fresh processes in a seeded order, check the collectives, and time the training steps."""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fwbench.experiments.data_parallel.launch import Launch, launch
from fwbench.experiments.data_parallel.metrics import METRICS
from fwbench.measure.job import Request
from fwbench.measure.metrics import record
from fwbench.measure.parity import Tolerance, compare
from fwbench.measure.quiet import Guard, Guarded, busy_cpus_field, busy_redo_field, guarded
from fwbench.measure.stats import summarize
from fwbench.workloads import get_workload

#: The configurations a job can launch: name -> (processes, threads per process). Two processes of one thread
#: against one process of two threads is the same CPU budget spent two ways: what the collectives cost on one host.
CONFIGS = {"2x1": (2, 1), "1x2": (1, 2), "1x1": (1, 1)}
#: How each framework runs its step (the mode column): DDP runs eagerly, the other two compile the step.
MODES = {"torch": "eager", "tensorflow": "graph", "jax": "graph"}
#: Ports a launch of `world` processes takes: torch and JAX one (the store or coordinator; gloo opens the rest
#: through it), TensorFlow one per worker (its cluster spec lists every worker's address).
PORTS = {"torch": lambda world: 1, "tensorflow": lambda world: world, "jax": lambda world: 1}


def variants(framework: str) -> dict[str, str]:
    """configuration -> mode, for the profile validator (read without importing a framework)."""
    return {name: MODES.get(framework, "eager") for name in CONFIGS}


@dataclass(frozen=True)
class Params:
    """Parameters of the data-parallel experiment that a profile may set."""

    global_batch: int = field(
        default=32,
        metadata={
            "bounds": "batch",
            "help": "samples per step over all processes; each of two processes trains on its half",
        },
    )
    steps: int = field(default=20, metadata={"bounds": "steps", "help": "timed steps per launch"})
    warmup: int = field(
        default=5,
        metadata={
            "bounds": "steps",
            "help": "untimed steps first (the first call compiles); every launch trains warmup + steps",
        },
    )
    distinct_batches: int = field(
        default=4,
        metadata={"bounds": "count", "help": "different global batches cycled through, made before the clock starts"},
    )
    timeout_s: float = field(
        default=180.0,
        metadata={"bounds": "timeout", "help": "a launch still running after this long is killed and stored as a hang"},
    )
    collective_timeout_s: float = field(
        default=60.0,
        metadata={
            "bounds": "timeout",
            "help": "the framework's own timeout for a collective or the group start, where it has one",
        },
    )
    atol: float = field(
        default=1e-5,
        metadata={
            "bounds": "tolerance",
            "help": "2-process vs 1-process parameters after the same steps: absolute tolerance (float32)",
        },
    )
    rtol: float = field(
        default=1e-4,
        metadata={
            "bounds": "tolerance",
            "help": "the same comparison's relative tolerance (averaging gradients over two halves rounds "
            "differently from one mean over the whole batch)",
        },
    )
    keras_fit: bool = field(
        default=True,
        metadata={
            "help": "TensorFlow: also try Keras model.fit under MultiWorkerMirroredStrategy (in the cell's first "
            "process), and store what happened"
        },
    )
    seed: int = field(default=0, metadata={"bounds": "seed", "help": "seed of the order configurations launch in"})
    busy_cpus: float = busy_cpus_field(
        "a timed launch (its ranks' start, group, warm-up and timed steps; its own ranks are not other programs)"
    )
    busy_redo: int = busy_redo_field(
        "timed launch is run again (fresh processes)", "the step and start-up times (and of S1 if it failed)"
    )
    fault: str = field(
        default="",
        metadata={"help": "tests only: 'die' or 'hang' plants a failure in the last rank of each 2-process launch"},
    )

    def __post_init__(self):
        if self.global_batch % 2:
            raise ValueError(f"global_batch must be even (two processes take half each), got {self.global_batch}")
        if self.steps < 1 or self.distinct_batches < 1:
            raise ValueError("steps and distinct_batches must be at least 1")
        if not (self.timeout_s > 0 and self.collective_timeout_s > 0):
            raise ValueError("timeout_s and collective_timeout_s must be positive")
        if self.fault not in ("", "die", "hang"):
            raise ValueError(f"fault must be '', 'die' or 'hang', got {self.fault!r}")
        Tolerance(self.atol, self.rtol)


def cpus_for(world: int, threads: int, available: list[int]) -> list[list[int]]:
    """CPUs of each rank: disjoint where the machine has enough (rank r gets the r-th `threads` of them), else
    every rank shares what there is (the launch records which)."""
    if world * threads <= len(available):
        return [available[r * threads : (r + 1) * threads] for r in range(world)]
    return [available[:threads] or available for _ in range(world)]


def _request(job: Request, p: Params, task: str = "train", fault: str = "") -> dict:
    return {
        "framework": job.framework,
        "workload": job.workload,
        "global_batch": p.global_batch,
        "steps": p.steps,
        "warmup": p.warmup,
        "distinct_batches": p.distinct_batches,
        "collective_timeout_s": p.collective_timeout_s,
        "task": task,
        "fault": fault,
    }


def run_config(job: Request, p: Params, config: str, workdir: Path, task: str = "train") -> Launch:
    world, threads = CONFIGS[config]
    available = (
        sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    )
    fault = p.fault if world > 1 else ""
    return launch(
        _request(job, p, task, fault),
        world,
        threads,
        cpus_for(world, threads, available),
        p.timeout_s,
        workdir,
        ports_needed=PORTS[job.framework](world),
    )


def timed_launch(job: Request, p: Params, config: str, workdir: Path) -> tuple[Launch, Guarded]:
    """One configuration's timed launch, run again while other programs took the CPUs (up to `p.busy_redo` times)."""
    tries: list[Launch] = []

    def once() -> Launch:
        tries.append(run_config(job, p, config, workdir))
        return tries[-1]

    # Read from the launcher: its ranks are its descendants, so they (each the other's peer in the collectives)
    # count as the job's own work. Read inside a rank, the peer would pass for another program. The block is the
    # whole launch, the only unit that can be run again: a fresh group, whose start-up is timed too.
    kept, quiet = guarded(once, Guard(p.busy_cpus, p.busy_redo))
    # A process or port an abandoned attempt left behind is still a leftover of this launch.
    kept.leftovers = [f"{x} (attempt {i + 1})" for i, t in enumerate(tries[:-1]) for x in t.leftovers] + kept.leftovers
    return kept, quiet


def _busy_problem(quiet: Guarded) -> str:
    """Why a series was kept out, as the report lists it."""
    return (
        f"other programs used {quiet.other_cpus or 0:.2f} CPUs on average while the launch ran "
        f"(the last of {quiet.attempts} attempts)"
    )


def group_steps(ranks: list[dict], warmup: int) -> list[float]:
    """The group's step times: per step, the slowest rank's (a step is done when every rank is)."""
    series = [r["step_times_s"][warmup:] for r in ranks]
    return [max(values) for values in zip(*series)]


def summary(launch_: Launch, config: str, role: str) -> dict:
    """What the store keeps of one launch (the payload `launches`): outcome, error, per-rank stages and timings."""
    ranks = [
        {k: r.get(k) for k in ("rank", "stage", "import_s", "init_s", "ready_s", "local_batch", "api", "timed")}
        if r
        else None
        for r in launch_.ranks
    ]
    out = {
        "config": config,
        "role": role,
        "world": len(launch_.ranks),
        "outcome": launch_.outcome,
        "error": launch_.error,
        "wall_s": launch_.wall_s,
        "ports": len(launch_.ports),
        "leftovers": launch_.leftovers,
        "ranks": ranks,
    }
    keras = next((r["keras_fit"] for r in launch_.ranks if r and "keras_fit" in r), None)
    if keras is not None:
        out["keras_fit"] = keras
    return out


def _weights(path: Path) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _rec(p: Params, config: str, metric: str, value: float) -> dict:
    return record(METRICS, "train", p.global_batch, metric, value, variant=config)


def launch_records(p: Params, config: str, launch_: Launch, spec) -> list[dict]:
    """Records of one launch: whether it worked, what it cost to start, and its step times."""
    recs = [
        _rec(p, config, "launch_ok", launch_.outcome == "ok"),
        _rec(p, config, "launch_hung", launch_.outcome == "timeout"),
        _rec(p, config, "launch_wall_s", launch_.wall_s),
        _rec(p, config, "leftovers", len(launch_.leftovers)),
    ]
    ranks = [r for r in launch_.ranks if r]
    if ranks and all("import_s" in r for r in ranks) and len(ranks) == len(launch_.ranks):
        recs.append(_rec(p, config, "import_s", max(r["import_s"] for r in ranks)))
    if len(launch_.ranks) > 1 and len(ranks) == len(launch_.ranks) and all("ready_s" in r for r in ranks):
        recs += [
            _rec(p, config, "group_init_s", max(r["init_s"] for r in ranks)),
            _rec(p, config, "group_ready_s", max(r["ready_s"] for r in ranks)),
            _rec(p, config, "spawn_to_ready_s", max(r["ready_at"] for r in ranks) - launch_.spawned_at),
            _rec(p, config, "allreduce_bytes_per_step", 4 * spec.n_params),
        ]
        errs = [r["all_reduce"]["max_abs_err"] for r in ranks]
        recs += [
            _rec(p, config, "all_reduce_exact", all(r["all_reduce"]["exact"] for r in ranks)),
            _rec(p, config, "all_reduce_max_abs_err", max(errs)),
        ]
    if launch_.outcome == "ok":
        s = summarize(group_steps(ranks, p.warmup))
        recs += [
            _rec(p, config, m, v)
            for m, v in (
                ("step_time_median_s", s.median),
                ("step_time_iqr_s", s.iqr),
                ("step_time_cv", s.cv),
                ("step_time_min_s", s.min),
                ("n_repeats", s.n),
                ("throughput_per_s", p.global_batch / s.median),
                ("first_call_s", max(r["step_times_s"][0] for r in ranks)),
            )
        ]
    return recs


def run(job: Request) -> dict:
    """The experiment's job (fwbench.measure.job's contract): every configuration of job.variants, one launch each."""
    p: Params = job.params
    spec = get_workload(job.workload)
    if spec.family != "mlp":
        raise ValueError(
            f"data_parallel trains mlp-family workloads only, not {job.workload!r}: batch norm would "
            "need synchronized statistics to match a one-process run"
        )
    configs = [v for v in job.variants if v in CONFIGS]
    unknown = [v for v in job.variants if v not in CONFIGS]
    if unknown or not configs:
        raise ValueError(f"unknown configurations {unknown!r}; known: {', '.join(CONFIGS)}")
    # Each process of the cell takes the configurations in its own seeded order: what drifts hits them alike.
    order = random.Random(f"{p.seed}|{job.framework}|{job.workload}|{job.process}").sample(configs, len(configs))
    scratch = Path("scratch").resolve()
    launches, records, samples, checks = [], [], [], []
    results: dict[str, Launch] = {}
    for config in order:
        job.progress(f"{job.framework} {config}: {CONFIGS[config][0]} process(es) x {CONFIGS[config][1]} thread(s)")
        results[config], quiet = timed_launch(job, p, config, scratch / config)
        launches.append({**summary(results[config], config, "timed"), **quiet.records()})
        records += launch_records(p, config, results[config], spec)
        records += [_rec(p, config, m, v) for m, v in quiet.records().items()]
        if results[config].outcome == "ok":
            ranks = results[config].ranks
            samples.append(
                {
                    "variant": config,
                    "phase": "train",
                    "batch_size": p.global_batch,
                    "values": group_steps(ranks, p.warmup),
                    # The report's generic readers (fwbench.report.results) keep a busy series out by this flag.
                    "busy": quiet.busy,
                    **({"problem": _busy_problem(quiet)} if quiet.busy else {}),
                }
            )
    for config, launched in results.items():
        checks.append(
            {
                "name": "no_leftovers",
                "variant": config,
                "passed": not launched.leftovers,
                "value": float(len(launched.leftovers)),
                "tolerance": 0.0,
                "detail": "; ".join(launched.leftovers),
            }
        )
    # The parameters need a one-process run at the global batch: the timed 1x1 where there is one, else an untimed
    # one in the cell's first process (training is deterministic: one comparison per cell says it).
    if "2x1" in results and results["2x1"].outcome == "ok" and ("1x1" in results or job.process == 0):
        reference = results.get("1x1")
        if reference is None:
            job.progress(f"{job.framework} 1x1 reference (untimed)")
            reference = run_config(job, p, "1x1", scratch / "reference")
            launches.append(summary(reference, "1x1", "reference"))
        checks += correctness(p, results["2x1"], reference, scratch, spec, records)
    if p.keras_fit and job.framework == "tensorflow" and job.process == 0:
        job.progress("tensorflow: Keras fit under MultiWorkerMirroredStrategy")
        fit = run_config(job, p, "2x1", scratch / "keras_fit", task="keras_fit")
        launches.append(summary(fit, "2x1", "keras_fit"))
        records.append(
            record(METRICS, "train", p.global_batch, "keras_fit_ok", fit.outcome == "ok", variant="keras-fit")
        )
    api = next((r["api"] for launched in results.values() for r in launched.ranks if r and r.get("api")), "")
    return {
        "mode": MODES.get(job.framework, ""),
        "records": records,
        "samples": samples,
        "checks": checks,
        "launches": launches,
        "device_info": {"device_name": "cpu"},
        "api": api,
        "framework_version": _version(job.framework),
        "settings": {"framework_threads": {"per_process": "set in each launched process (see launches)"}},
    }


def correctness(p: Params, two: Launch, one: Launch, scratch: Path, spec, records: list[dict]) -> list[dict]:
    """The stored checks: the known-answer all-reduce on every rank, and the parameters after the same steps."""
    checks = []
    ranks = [r for r in two.ranks if r and "all_reduce" in r]
    if ranks:
        exact = all(r["all_reduce"]["exact"] for r in ranks) and len(ranks) == len(two.ranks)
        checks.append(
            {
                "name": "all_reduce_known_answer",
                "variant": "2x1",
                "passed": exact,
                "value": max(r["all_reduce"]["max_abs_err"] for r in ranks),
                "tolerance": 0.0,
                "detail": f"sum over {len(two.ranks)} ranks of (rank + 1) * [1 .. "
                f"{ranks[0]['all_reduce']['elements']}], exact in float32",
            }
        )
    got = _weights(scratch / "2x1" / "weights0.npz") if two.outcome == "ok" else None
    ref_dir = "1x1" if (scratch / "1x1" / "weights0.npz").is_file() else "reference"
    want = _weights(scratch / ref_dir / "weights0.npz") if one.outcome == "ok" else None
    if got is None or want is None:
        return checks
    names = sorted(want)
    tol = Tolerance(p.atol, p.rtol)
    if sorted(got) != names:
        found = {"max_abs_err": None, "max_rel_err": None, "passed": False, "detail": "different parameter names"}
    else:
        found = compare(
            np.concatenate([got[n].ravel() for n in names]), np.concatenate([want[n].ravel() for n in names]), tol
        )
    checks.append(
        {
            "name": "params_match_single_process",
            "variant": "2x1",
            "passed": found["passed"],
            "value": found["max_rel_err"],
            "tolerance": p.rtol,
            "detail": f"after {p.warmup + p.steps} steps at global batch {p.global_batch}; max abs error "
            f"{found['max_abs_err']}, atol {p.atol}, rtol {p.rtol} {found.get('detail', '')}".strip(),
        }
    )
    if found["max_abs_err"] is not None and math.isfinite(found["max_abs_err"]):
        records += [
            _rec(p, "2x1", "params_max_abs_err", found["max_abs_err"]),
            _rec(p, "2x1", "params_max_rel_err", found["max_rel_err"]),
        ]
    records.append(_rec(p, "2x1", "params_match", found["passed"]))
    return checks


def _version(framework: str) -> str:
    import importlib.metadata

    dist = {"tensorflow": "tensorflow-cpu"}.get(framework, framework)
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""
