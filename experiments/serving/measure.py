"""Serving of one (source framework, server + runtime): start the server, check it, load it, stop it; per workload and batching.

A job exports the model along the variant's path (or serves the framework
itself, `live`), then for each batching setting starts the server in its own
process pinned to the server's cores, measures cold start (process start to
first correct response) and idle memory, checks the served logits against the
source model, drives it with the load generator (its own process, on the other
cores) through a closed-loop concurrency sweep and open-loop fixed-rate runs,
per wire format, and stops it, checking that its ports are free again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from fwbench import exporters
from fwbench.errors import ServerUnavailable
from fwbench.experiments.serving import hooks
from fwbench.experiments.serving.metrics import METRICS
from fwbench.experiments.serving.servers import ServeOptions, ServerProcess, get_server, port_is_free
from fwbench.experiments.serving.wire import FORMATS
from fwbench.frameworks import get_adapter
from fwbench.measure import env
from fwbench.measure.child import error_of
from fwbench.measure.job import Request
from fwbench.measure.metrics import record
from fwbench.measure.parity import Tolerance, compare
from fwbench.measure.quiet import Guard, busy_cpus_field, busy_redo_field, guarded
from fwbench.workloads import WORKLOADS, get_workload


@dataclass(frozen=True)
class Params:
    """Parameters of the serving experiment that a profile may set."""

    workloads: tuple[str, ...] = field(
        default=("mlp", "cnn"), metadata={"help": "workloads served, each from the same initial weights as elsewhere"}
    )
    request_batch: int = field(
        default=1, metadata={"bounds": "batch", "help": "samples per request (what one client sends)"}
    )
    export_batch: int = field(default=8, metadata={"bounds": "batch", "help": "example batch size the exporter sees"})
    formats: tuple[str, ...] = field(
        default=("json", "npy"),
        metadata={
            "help": "wire formats measured: json and/or npy (binary); a server that lacks one records it unsupported"
        },
    )
    batching: tuple[bool, ...] = field(
        default=(False, True),
        metadata={"help": "server-side dynamic batching settings measured, each in a fresh server"},
    )
    max_batch: int = field(
        default=16, metadata={"bounds": "batch", "help": "dynamic batching: rows per model call at most"}
    )
    max_wait_ms: float = field(
        default=2.0,
        metadata={"bounds": "milliseconds", "help": "dynamic batching: how long the first request waits for others"},
    )
    concurrency: tuple[int, ...] = field(
        default=(1, 4, 16, 64),
        metadata={"bounds": "clients", "help": "closed-loop levels: clients with one request in flight each"},
    )
    open_loop_fractions: tuple[float, ...] = field(
        default=(0.5, 0.8, 0.95),
        metadata={
            "bounds": "fraction",
            "help": "open-loop levels: offered rate as a fraction of the best closed-loop throughput of the same server",
        },
    )
    duration_s: float = field(
        default=2.0,
        metadata={"bounds": "seconds", "help": "recorded time per load level (at most; see min_duration_s)"},
    )
    min_duration_s: float = field(
        default=0.5,
        metadata={
            "bounds": "seconds",
            "help": "a closed-loop level may end after this much recorded time once its latency distribution has "
            "converged (fwbench.experiments.serving.loadgen); 0 runs every level for duration_s",
        },
    )
    converge_rtol: float = field(
        default=0.05,
        metadata={
            "bounds": "tolerance",
            "help": "converged: p50, mean and p99 latency each moved less than this (relative) in the last check interval",
        },
    )
    warmup_s: float = field(
        default=0.3, metadata={"bounds": "seconds", "help": "unrecorded time at the start of each load level"}
    )
    max_requests: int = field(
        default=20000, metadata={"bounds": "requests", "help": "recorded requests per load level at most"}
    )
    request_timeout_s: float = field(
        default=10.0, metadata={"bounds": "timeout", "help": "a request unanswered this long is an error"}
    )
    cold_start_timeout_s: float = field(
        default=180.0,
        metadata={
            "bounds": "timeout",
            "help": "a server that has not answered correctly this long after its start is a failure",
        },
    )
    busy_cpus: float = busy_cpus_field("a wire format's load levels (one load-generator run)")
    busy_redo: int = busy_redo_field("load-generator run is run again (same server)")
    client_cpus: int = field(
        default=1,
        metadata={
            "bounds": "cpus",
            "help": "cores given to the load generator; the server gets the rest (both share all if only one core)",
        },
    )
    atol: float = field(
        default=1e-5, metadata={"bounds": "tolerance", "help": "parity of served logits: absolute tolerance"}
    )
    rtol: float = field(
        default=1e-4, metadata={"bounds": "tolerance", "help": "parity of served logits: relative tolerance"}
    )

    def __post_init__(self):
        unknown = [w for w in self.workloads if w not in WORKLOADS]
        if not self.workloads or unknown:
            raise ValueError(f"unknown workloads {unknown!r}; known: {', '.join(sorted(WORKLOADS))}")
        bad = [f for f in self.formats if f not in FORMATS]
        if not self.formats or bad:
            raise ValueError(f"unknown formats {bad!r}; allowed: {', '.join(FORMATS)}")
        if not self.batching or not all(isinstance(b, bool) for b in self.batching):
            raise ValueError(f"batching must be a list of true/false, got {self.batching!r}")
        if not self.concurrency or not all(
            isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in self.concurrency
        ):
            raise ValueError(f"concurrency must be a list of positive integers, got {self.concurrency!r}")
        if not all(isinstance(f, (int, float)) and 0 < f <= 2 for f in self.open_loop_fractions):
            raise ValueError(f"open_loop_fractions must be in (0, 2], got {self.open_loop_fractions!r}")
        for name in ("request_batch", "export_batch", "max_batch", "client_cpus", "max_requests"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (self.min_duration_s >= 0 and self.converge_rtol > 0):
            raise ValueError("min_duration_s must be >= 0 and converge_rtol > 0")
        for name in ("duration_s", "request_timeout_s", "cold_start_timeout_s", "max_wait_ms"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        Tolerance(self.atol, self.rtol)


def split_cpus(cpus: list[int], client_cpus: int) -> tuple[list[int], list[int]]:
    """(server cores, client cores): the client gets the last `client_cpus`, the server the rest; one core is shared."""
    if len(cpus) <= client_cpus:
        return list(cpus), list(cpus)
    return list(cpus[:-client_cpus]), list(cpus[-client_cpus:])


def _rec(workload: str, batch: int, phase: str, mode: str, metric: str, value: float) -> dict:
    return record(METRICS, phase, batch, metric, value, workload=workload, mode=mode)


def _post(url: str, body: bytes, content_type: str, timeout: float) -> tuple[int, bytes, str]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type, "Accept": content_type})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


def wait_until_serving(
    proc: ServerProcess, body: bytes, content_type: str, timeout_s: float
) -> tuple[float, bytes, str]:
    """Poll the prediction endpoint with a real request until it answers 200; return (seconds since start, body, type)."""
    deadline = proc.started_at + timeout_s
    last = "no answer"
    while time.perf_counter() < deadline:
        if not proc.alive():
            last_line = next((ln for ln in reversed(proc.log_tail().splitlines()) if ln.strip()), "")
            raise RuntimeError(f"server process exited with status {proc.proc.returncode} before serving: {last_line}")
        try:
            status, out, ctype = _post(proc.launch.url, body, content_type, timeout=max(1.0, timeout_s / 10))
            if status == 200:
                return time.perf_counter() - proc.started_at, out, ctype
            last = f"HTTP {status}: {out[:300].decode(errors='replace')}"
            if 400 <= status < 500:  # up, and refusing this request: waiting will not change that
                raise RuntimeError(f"server refused the first request ({last})")
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.02)
    raise TimeoutError(f"server not serving {timeout_s:g} s after start (last: {last})")


class RssSampler:
    """Samples the server's resident memory every `interval_s` in a thread, with wall-clock times."""

    def __init__(self, proc: ServerProcess, interval_s: float = 0.05):
        self.proc, self.interval_s = proc, interval_s
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            self.samples.append((time.time(), self.proc.rss_bytes()))
            self._stop.wait(self.interval_s)

    def peak(self, began: float, ended: float) -> int:
        """Largest sample taken between `began` and `ended` (the nearest one if none fell inside)."""
        inside = [rss for t, rss in self.samples if began <= t <= ended]
        if inside:
            return max(inside)
        return min(self.samples, key=lambda s: abs(s[0] - ended))[1] if self.samples else 0

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_load(
    url: str,
    body: bytes,
    content_type: str,
    levels: list[dict],
    cpus: list[int],
    workdir: Path,
    seed: int = 0,
    open_fractions: tuple[float, ...] = (),
    open_level: dict | None = None,
) -> list[dict]:
    """Run the load generator in its own process (pinned to `cpus`) through `levels`, then through open levels at
    `open_fractions` of their best throughput (settings from `open_level`); return its per-level results."""
    workdir.mkdir(parents=True, exist_ok=True)
    body_file, spec_file, out = workdir / "body.bin", workdir / "loadgen.json", workdir / "loadgen-result.json"
    body_file.write_bytes(body)
    spec_file.write_text(
        json.dumps(
            {
                "url": url,
                "body_file": str(body_file),
                "content_type": content_type,
                "levels": levels,
                "seed": seed,
                "open_fractions": list(open_fractions),
                "open_level": open_level,
                "open_seed": 1,
            }
        )
    )
    out.unlink(missing_ok=True)
    every = levels + [open_level] * len(open_fractions) if open_level else levels
    budget = sum(lv["warmup_s"] + lv["duration_s"] + lv["timeout_s"] for lv in every) + 60
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fwbench.experiments.serving.loadgen",
            "--spec",
            str(spec_file),
            "--out",
            str(out),
            "--cpus",
            ",".join(map(str, cpus)),
        ],
        capture_output=True,
        text=True,
        timeout=budget,
    )
    if proc.returncode != 0 or not out.is_file():
        raise RuntimeError(f"load generator failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(out.read_text())["levels"]


def _level(params: Params, **kw) -> dict:
    early = (
        {"min_duration_s": params.min_duration_s, "converge_rtol": params.converge_rtol}
        if kw.get("kind") == "closed"
        else {}
    )
    return {
        "duration_s": params.duration_s,
        "warmup_s": params.warmup_s,
        "max_requests": params.max_requests,
        "timeout_s": params.request_timeout_s,
        **early,
        **kw,
    }


def _load_records(workload: str, params: Params, phase: str, mode: str, res: dict, rss: int) -> list[dict]:
    b = params.request_batch
    metrics = {
        "throughput_rps": res["throughput_rps"],
        "error_rate": res["error_rate"],
        "n_requests": res["n_requests"],
        "server_rss_load_bytes": rss,
        "level_s": res["elapsed_s"],
    }
    if "ended_early" in res:
        metrics["ended_early"] = float(res["ended_early"])
    for q in ("p50", "p95", "p99"):
        if f"latency_{q}_s" in res:
            metrics[f"latency_{q}_s"] = res[f"latency_{q}_s"]
    if "latency_mean_s" in res:
        metrics["latency_mean_s"] = res["latency_mean_s"]
    if "offered_rps" in res:
        metrics.update(offered_rps=res["offered_rps"], max_send_lag_s=res["max_send_lag_s"])
    return [_rec(workload, b, phase, mode, m, v) for m, v in metrics.items()]


def _time_records(workload: str, params: Params, phase: str, mode: str, res: dict, server, launch) -> list[dict]:
    """Where a level's requests spent their time inside the server (decode, queue, runtime call, encode), and what
    the client saw beyond it (HTTP, event loop, network, the client itself): so the book can say whether a level
    measured the runtime or the frontend in front of it. Nothing where the server does not report it."""
    parts = server.timings(launch, res["began_unix"], res["ended_unix"])
    if not parts.get("requests"):
        return []
    metrics = {
        f"server_{k}": parts[k] for k in ("decode_s", "queue_s", "runtime_s", "encode_s", "handled_s", "model_busy_s")
    }
    if "latency_mean_s" in res:
        metrics["outside_server_s"] = max(0.0, res["latency_mean_s"] - parts["handled_s"])
    return [_rec(workload, params.request_batch, phase, mode, m, v) for m, v in metrics.items()]


def serve_one(
    server,
    runtime: str,
    artifact: Path,
    workload: str,
    batching: bool,
    params: Params,
    x: np.ndarray,
    source: np.ndarray,
    cpus: tuple[list[int], list[int]],
    workdir: Path,
    progress: Callable[[str], None],
) -> tuple[dict, list[dict]]:
    """One server start: cold start, parity, idle memory, every load level per format, stop. Never leaves it running."""
    server_cpus, client_cpus = cpus
    bmode = "batching" if batching else "no-batching"
    attempt = {
        "workload": workload,
        "server": server.name,
        "runtime": runtime,
        "batching": batching,
        "outcome": "fails",
        "stage": "start",
        "error": None,
        "formats": {},
        "server_cpus": server_cpus,
        "client_cpus": client_cpus,
    }
    records: list[dict] = []
    options = ServeOptions(
        sample_shape=tuple(x.shape[1:]),
        batching=batching,
        max_batch=params.max_batch,
        max_wait_ms=params.max_wait_ms,
        threads=len(server_cpus),
    )
    workdir.mkdir(parents=True, exist_ok=True)
    workdir = workdir.resolve()  # servers run with it as their working directory
    try:
        launch = server.launch(runtime, artifact.resolve(), workdir, options)
    except Exception as exc:  # noqa: BLE001 - a server that cannot be set up is this attempt's result
        attempt["error"] = error_of(exc)
        return attempt, [_rec(workload, params.request_batch, "startup", bmode, "serve_ok", 0)]
    attempt["command"] = launch.command
    proc = ServerProcess(launch, workdir / f"server-{bmode}.log", cpus=server_cpus, cwd=workdir)
    attempt["pinned"] = proc.pinned
    # The first request (and the parity check) in a format the server speaks, the profile's first if it can.
    first_fmt = next((f for f in params.formats if f in server.formats), server.formats[0])
    body, ctype = server.encode(x, first_fmt)
    try:
        proc.start()
        cold, out, out_type = wait_until_serving(proc, body, ctype, params.cold_start_timeout_s)
        attempt["stage"] = "parity"
        served = server.decode(out, out_type)
        parity = compare(served, source, Tolerance(params.atol, params.rtol))
        attempt["parity"] = parity
        info = server.info(launch)
        attempt["info"] = info
        idle = proc.rss_bytes()
        startup = {"serve_ok": 1, "cold_start_s": cold, "server_rss_idle_bytes": idle, "parity_ok": parity["passed"]}
        if parity["max_abs_err"] is not None:
            startup["max_abs_err"] = parity["max_abs_err"]
        for key, metric in (("import_s", "runtime_import_s"), ("load_s", "load_s")):
            if key in info:
                startup[metric] = info[key]
        records += [_rec(workload, params.request_batch, "startup", bmode, m, v) for m, v in startup.items()]
        attempt["stage"] = "load"
        for fmt in params.formats:
            mode = f"{bmode}/{fmt}"
            if fmt not in server.formats:
                attempt["formats"][fmt] = {"outcome": "unsupported", "reason": f"{server.name} does not speak {fmt}"}
                continue
            progress(f"{workload} {mode}")
            fbody, fctype = server.encode(x, fmt)
            closed = [_level(params, kind="closed", concurrency=c) for c in params.concurrency]
            # One generator process per format: the closed levels, then the open ones at fractions of their best
            # throughput (the generator sizes them; nothing is open if nothing was served).

            def load_once():
                with RssSampler(proc) as rss:
                    results = run_load(
                        launch.url,
                        fbody,
                        fctype,
                        closed,
                        client_cpus,
                        workdir / mode.replace("/", "-"),
                        open_fractions=params.open_loop_fractions,
                        open_level={k: v for k, v in _level(params, kind="open").items() if k != "kind"},
                    )
                return results, rss

            # The server and the load generator are this job's own processes; anything else that takes the CPUs
            # meanwhile makes every level of the run slower: such a run is run again, and kept marked busy past
            # the bound (fwbench.measure.quiet), so it never passes for the runtime's speed.
            (results, rss), quiet = guarded(load_once, Guard(params.busy_cpus, params.busy_redo))
            closed_res, opened = results[: len(closed)], results[len(closed) :]
            levels = [(f"closed-{c}", r) for c, r in zip(params.concurrency, closed_res)]
            levels += [(f"open-{f:g}", r) for f, r in zip(params.open_loop_fractions, opened)]
            for phase, res in levels:
                records += _load_records(
                    workload, params, phase, mode, res, rss.peak(res["began_unix"], res["ended_unix"])
                )
                records += _time_records(workload, params, phase, mode, res, server, launch)
                records += [_rec(workload, params.request_batch, phase, mode, m, v) for m, v in quiet.records().items()]
            peak = max(r["throughput_rps"] for r in closed_res)
            attempt["formats"][fmt] = {
                "outcome": "serves",
                "peak_closed_rps": peak,
                "other_cpus": quiet.other_cpus,
                "attempts": quiet.attempts,
                "busy": quiet.busy,
            }
            if not proc.alive():
                raise RuntimeError(f"server process died under load (exit status {proc.proc.returncode})")
        attempt.update(outcome="serves", stage="done")
    except Exception as exc:  # noqa: BLE001 - a server that fails is a result: stored with its log
        attempt["error"] = error_of(exc)
        records.append(_rec(workload, params.request_batch, "startup", bmode, "serve_ok", 0))
    finally:
        proc.stop()
        attempt["log_tail"] = proc.log_tail()
        ports = (launch.port, *launch.extra_ports)
        attempt["ports_released"] = all(port_is_free(p) for p in ports)
    return attempt, records


def prepare_artifact(
    adapter, model, spec, source: str, directory: Path, example: np.ndarray
) -> tuple[Path, str, list[str]]:
    """(artifact, runtime, steps) for a variant's source: an inference variant is served live, an export path exported."""
    directory.mkdir(parents=True, exist_ok=True)
    if source in adapter.variants:
        artifact = directory / "live.json"
        artifact.write_text(json.dumps({"workload": spec.name, "variant": source}))
        return artifact, f"live:{adapter.name}", [f"{adapter.name} {source} (no export)"]
    if source in exporters.paths(adapter.name):
        artifact, steps = exporters.export(adapter.name, model, spec, source, directory, example)
        return artifact, exporters.paths(adapter.name)[source], steps
    raise ValueError(f"{adapter.name}: serving source {source!r} is neither a variant nor an export path")


def run(job: Request) -> dict:
    """The experiment's job: every workload and batching setting of one serving variant (fwbench.measure.job's
    contract)."""
    return serve_all(job.framework, job.variant, job.params, progress=lambda what: job.progress(f"serving: {what}"))


def serve_all(
    framework: str,
    variant: str,
    params: Params,
    artifacts: Path = Path("artifacts"),
    scratch: Path = Path("scratch"),
    progress: Callable[[str], None] = lambda what: None,
) -> dict:
    """Every workload and batching setting of one serving variant. Failures are recorded; a bad name or a server
    this machine lacks raises (the runner records the latter as skipped, with its reason)."""
    how = hooks.variants(framework).get(variant)
    if how is None:
        raise ValueError(
            f"{framework} has no serving variant {variant!r}; known: {', '.join(hooks.variants(framework))}"
        )
    server_name, _, source = how.partition(":")
    server = get_server(server_name)
    reason = server.unavailable()
    if reason:  # before the framework's import: a server this machine lacks costs seconds, not an import
        raise ServerUnavailable(f"{server.name}: {reason}")
    adapter = get_adapter(framework)
    cpus = split_cpus(env.available_cpus(), params.client_cpus)
    # This process only waits and samples memory while the server is measured: keep it off the server's cores.
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus[1])
    attempts, records = [], []
    for workload in params.workloads:
        spec = get_workload(workload)
        model = adapter.build(spec, "cpu")
        x = spec.batch(params.request_batch, index=1)[0]
        example = spec.batch(params.export_batch, index=1)[0]
        source_out = adapter.to_numpy(adapter.infer_step(model, "eager")(adapter.to_device(x, "cpu")))
        try:
            artifact, runtime, steps = prepare_artifact(adapter, model, spec, source, artifacts / workload, example)
        except Exception as exc:  # noqa: BLE001 - an export that fails leaves nothing to serve: a result
            for batching in params.batching:
                attempts.append(
                    {
                        "workload": workload,
                        "server": server.name,
                        "runtime": "",
                        "batching": batching,
                        "outcome": "fails",
                        "stage": "export",
                        "error": error_of(exc),
                        "formats": {},
                    }
                )
                records.append(
                    _rec(
                        workload,
                        params.request_batch,
                        "startup",
                        "batching" if batching else "no-batching",
                        "serve_ok",
                        0,
                    )
                )
            continue
        del model
        for batching in params.batching:
            if batching and not server.batching:
                attempts.append(
                    {
                        "workload": workload,
                        "server": server.name,
                        "runtime": runtime,
                        "batching": True,
                        "outcome": "unsupported",
                        "stage": "start",
                        "error": None,
                        "formats": {},
                    }
                )
                continue
            attempt, recs = serve_one(
                server, runtime, artifact, workload, batching, params, x, source_out, cpus, scratch / workload, progress
            )
            attempt["steps"] = steps
            attempts.append(attempt)
            records += recs
    return {
        "mode": how,
        "framework_version": adapter.version(),
        "device_info": {"device_name": "cpu"},
        "server": server.name,
        "server_version": server.version(),
        "server_cpus": cpus[0],
        "client_cpus": cpus[1],
        "records": records,
        "samples": [],
        "checks": [],
        "servers": attempts,
    }
