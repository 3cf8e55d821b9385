"""Each serving runtime's figures per server start, from stored jobs (no report needed): its starts, load levels and
the best of each start, and what claim X4 compares (the SavedModel fixed by rule, its bounds). The chapter's tables
and X4's rule read these, and so does the sequential rule that decides which runtime gets another start."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from fwbench.measure import stats

#: Export paths whose artifact is a TensorFlow SavedModel (claim X4's subject).
SAVEDMODEL_SOURCES = ("savedmodel",)

#: The variant that serves the SavedModel through TensorFlow Serving (experiments/serving/hooks/tensorflow.py).
TF_SERVING = "tf-serving"

#: X4: the SavedModel is "on par" with at least this share of the best other runtime's peak throughput ...
#: Why 0.9: a tenth less throughput is about what a team accepts for a runtime it already runs (a few percent
#: is within run-to-run noise; a quarter means a quarter more machines).
X4_THROUGHPUT_SHARE = 0.9

#: ... and a single-client p99 at most this multiple of the lowest other runtime's. Why 1.25: tail latency is
#: noisier than throughput, and a quarter more p99 is where a latency budget usually starts to notice.
X4_P99_FACTOR = 1.25

SERVER_COLUMNS = [
    "machine_label",
    "framework",
    "variant",
    "label",
    "server",
    "server_version",
    "source",
    "runtime",
    "runtime_version",
    "workload",
    "batching",
    "outcome",
    "stage",
    "error_type",
    "error_message",
    "traceback",
    "log_tail",
    "cold_start_s",
    "runtime_import_s",
    "load_s",
    "server_rss_idle_bytes",
    "parity_ok",
    "max_abs_err",
    "ports_released",
    "server_cpus",
    "client_cpus",
    "pinned",
    "process",
    "run_id",
]

#: Where a request's time goes (means per request), from the frontend's own log: see `time_breakdown`.
TIME_PARTS = (
    "server_decode_s",
    "server_queue_s",
    "server_runtime_s",
    "server_encode_s",
    "server_handled_s",
    "server_model_busy_s",
    "outside_server_s",
)

#: What identifies one serving setting across the processes (rounds) that measured it.
LEVEL_KEYS = [
    "machine_label",
    "framework",
    "variant",
    "label",
    "workload",
    "batching",
    "format",
    "kind",
    "concurrency",
    "fraction",
    "phase",
]

#: What a load level stores that the tables read.
LEVEL_METRICS = (
    "throughput_rps",
    "latency_p50_s",
    "latency_p95_s",
    "latency_p99_s",
    "latency_mean_s",
    "error_rate",
    "n_requests",
    "offered_rps",
    "max_send_lag_s",
    "server_rss_load_bytes",
)

LEVEL_COLUMNS = [*LEVEL_KEYS, *LEVEL_METRICS, *TIME_PARTS, "process", "run_id"]


def label(framework: str, variant: str) -> str:
    """How a serving variant is named in charts: the runtime, and the source framework where it is not obvious."""
    return f"{variant} ({framework})" if not variant.startswith(("torch", "tf", "jax")) else variant


def parse_phase(phase: str) -> tuple[str, float, float]:
    """'closed-16' -> ('closed', 16, nan); 'open-0.8' -> ('open', nan, 0.8); 'startup' -> ('startup', nan, nan)."""
    m = re.fullmatch(r"(closed|open)-([0-9.]+)", phase)
    if not m:
        return phase, np.nan, np.nan
    value = float(m.group(2))
    return (m.group(1), value, np.nan) if m.group(1) == "closed" else (m.group(1), np.nan, value)


def _startup(records: list[dict], workload: str, batching: bool) -> dict:
    mode = "batching" if batching else "no-batching"
    return {
        r["metric"]: r["value"]
        for r in records
        if r.get("workload") == workload and r["phase"] == "startup" and r.get("mode") == mode
    }


def server_rows(items) -> pd.DataFrame:
    """One row per server start of stored serving jobs (`items`: (machine label, run id, job)); a job skipped or
    failed as a whole gives one row."""
    rows = []
    for machine, run_id, job in items:
        fw, variant = job["framework"], job["variant"]
        how = job.get("mode", "")
        server, _, source = how.partition(":")
        base = {
            "machine_label": machine,
            "framework": fw,
            "variant": variant,
            "label": label(fw, variant),
            "server": job.get("server", server),
            "source": source,
            "server_version": job.get("server_version", ""),
            "process": job.get("process", 0),
            "run_id": run_id,
        }
        if job["status"] != "ok":
            err = job.get("error") or {}
            outcome = "unavailable" if job["status"] == "skipped" else "fails"
            for workload in job["params"].get("workloads", []) or [""]:
                rows.append(
                    {
                        **base,
                        "workload": workload,
                        "batching": None,
                        "outcome": outcome,
                        "stage": "job",
                        "error_type": err.get("type", ""),
                        "error_message": err.get("message", ""),
                        "traceback": err.get("traceback", ""),
                    }
                )
            continue
        for a in job.get("servers", []):
            err = a.get("error") or {}
            start = _startup(job["records"], a["workload"], a["batching"])
            info = a.get("info") or {}
            rows.append(
                {
                    **base,
                    "runtime": a.get("runtime", ""),
                    "runtime_version": info.get("runtime_version", ""),
                    "workload": a["workload"],
                    "batching": a["batching"],
                    "outcome": a["outcome"],
                    "stage": a.get("stage", ""),
                    "error_type": err.get("type", ""),
                    "error_message": err.get("message", ""),
                    "traceback": err.get("traceback", ""),
                    "log_tail": a.get("log_tail", ""),
                    "cold_start_s": start.get("cold_start_s"),
                    "runtime_import_s": start.get("runtime_import_s"),
                    "load_s": start.get("load_s"),
                    "server_rss_idle_bytes": start.get("server_rss_idle_bytes"),
                    "parity_ok": start.get("parity_ok"),
                    "max_abs_err": start.get("max_abs_err"),
                    "ports_released": a.get("ports_released"),
                    "server_cpus": ",".join(map(str, a.get("server_cpus", []))),
                    "client_cpus": ",".join(map(str, a.get("client_cpus", []))),
                    "pinned": a.get("pinned"),
                }
            )
    return pd.DataFrame(rows, columns=SERVER_COLUMNS)


def level_rows(items) -> pd.DataFrame:
    """One row per load level of stored serving jobs (`items`: (machine label, run id, job)), with `busy`: measured
    while other programs took the CPUs even when the load was run again (fwbench.measure.quiet)."""
    wanted = {"busy_block", "other_cpus", "block_attempts", *LEVEL_METRICS, *TIME_PARTS}
    cells: dict[tuple, dict] = {}
    for machine, run_id, job in items:
        if job["status"] != "ok":
            continue
        for r in job["records"]:
            if r["phase"] == "startup" or r["metric"] not in wanted:
                continue
            batching, _, fmt = r.get("mode", "").partition("/")
            key = (
                machine,
                job["framework"],
                job["variant"],
                r.get("workload"),
                batching == "batching",
                fmt,
                r["phase"],
                job.get("process", 0),
            )
            cell = cells.setdefault(key, {"run_id": run_id})
            cell[r["metric"]] = r["value"]
    rows = []
    for (machine, fw, variant, workload, batching, fmt, phase, process), values in cells.items():
        kind, concurrency, fraction = parse_phase(phase)
        rows.append(
            {
                "machine_label": machine,
                "framework": fw,
                "variant": variant,
                "label": label(fw, variant),
                "workload": workload,
                "batching": batching,
                "format": fmt,
                "kind": kind,
                "concurrency": concurrency,
                "fraction": fraction,
                "phase": phase,
                "process": process,
                **values,
            }
        )
    full = pd.DataFrame(rows)
    out = full.reindex(columns=LEVEL_COLUMNS + ["other_cpus", "block_attempts"])
    # A level stored without the flag (runs from before load was guarded) is one nothing says was busy.
    flag = full["busy_block"] if "busy_block" in full else pd.Series(np.nan, index=full.index, dtype=float)
    out["busy"] = flag.fillna(0).astype(float).gt(0).to_numpy()
    return out


def quiet(lv: pd.DataFrame) -> pd.DataFrame:
    """The load levels every table, chart and verdict reads: those not measured on a busy machine."""
    return lv[~lv["busy"]].drop(columns=["busy"]).reset_index(drop=True)


def best_per_variant(lv: pd.DataFrame) -> pd.DataFrame:
    """Per (machine, variant, workload), each over every batching setting and wire format (error-free closed-loop
    levels only): the best throughput and the lowest single-client p99 latency of each process, and their estimates
    over processes with a 95% interval (`stats.cell_estimate`: geometric mean, t interval; none from one process).
    The setting named is the one that gave the best throughput most often."""
    closed = lv[(lv["kind"] == "closed") & (lv["error_rate"] == 0)]
    keys = ["machine_label", "framework", "variant", "label", "workload"]
    rows = []
    for key, g in closed.groupby(keys):
        peaks, p99s, settings = {}, {}, []
        for process, p in g.groupby("process"):
            best = p.loc[p["throughput_rps"].idxmax()]
            peaks[process] = [float(best["throughput_rps"])]
            settings.append((best["batching"], best["format"], best["concurrency"]))
            single = p[p["concurrency"] == p["concurrency"].min()].dropna(subset=["latency_p99_s"])
            if not single.empty:
                p99s[process] = [float(single["latency_p99_s"].min())]
        batching, fmt, at = max(set(settings), key=settings.count)
        peak, peak_lo, peak_hi = stats.cell_estimate(peaks)
        p99, p99_lo, p99_hi = stats.cell_estimate(p99s) if p99s else (np.nan, np.nan, np.nan)
        rows.append(
            {
                **dict(zip(keys, key)),
                "peak_rps": peak,
                "peak_rps_ci_low": peak_lo,
                "peak_rps_ci_high": peak_hi,
                "batching": batching,
                "format": fmt,
                "at_concurrency": at,
                "single_client_p99_s": p99,
                "single_client_p99_ci_low": p99_lo,
                "single_client_p99_ci_high": p99_hi,
                "processes": len(peaks),
                "peak_by_process": peaks,
                "p99_by_process": p99s,
            }
        )
    return pd.DataFrame(rows)


def per_start(row: pd.Series, column: str) -> dict:
    """A runtime's per-process values (`peak_by_process` or `p99_by_process`), keyed so that starts of different
    runtimes are never paired: each is its own server process, and a round's order is random."""
    return {f"{row['label']}/{p}": v for p, v in row[column].items()}


def x4_places(servers: pd.DataFrame, best: pd.DataFrame):
    """(machine, workload, the SavedModel row X4 reads or None, the other runtimes' rows) per machine and workload
    that some server start served: the one choice of what X4 compares, for its rule and for the sequential rule
    (experiments/serving/sequential.py) alike."""
    for (machine, workload), g in servers[servers["outcome"] != "unavailable"].groupby(["machine_label", "workload"]):
        b = best[(best["machine_label"] == machine) & (best["workload"] == workload)] if not best.empty else best
        sm_variants = set(g[g["source"].isin(SAVEDMODEL_SOURCES)]["variant"])
        sm = b[b["variant"].isin(sm_variants) & (b["framework"] == "tensorflow")] if not b.empty else b
        other = b[~(b["variant"].isin(sm_variants) & (b["framework"] == "tensorflow"))] if not b.empty else b
        if sm.empty:
            yield machine, workload, None, other
            continue
        # Fixed by rule before looking at the numbers: TensorFlow Serving where it ran, else the common frontend
        # loading the SavedModel; never the one that happened to be fastest.
        top = (
            sm.assign(_rank=sm["variant"].map(lambda v: 0 if v == TF_SERVING else 1))
            .sort_values(["_rank", "variant"])
            .iloc[0]
        )
        yield machine, workload, top, other
