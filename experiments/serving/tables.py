"""Tables of the serving experiment, read from the store: server starts, load levels, and what claim X4 compares."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fwbench import frameworks
from fwbench.experiments.serving import hooks
from fwbench.experiments.serving.loadgen import CHECK_EVERY_S, MIN_CONVERGED_REQUESTS
from fwbench.experiments.serving.starts import (  # noqa: F401 (the chapter, picks and findings read them here)
    LEVEL_COLUMNS,
    LEVEL_KEYS,
    SAVEDMODEL_SOURCES,
    SERVER_COLUMNS,
    TIME_PARTS,
    best_per_variant,
    label,
    level_rows,
    parse_phase,
    per_start,
    quiet,
    server_rows,
)
from fwbench.report.busy import busy_list, how_busy
from fwbench.report.results import Report, fmt_s, plain_number
from fwbench.report.sanitize import md

EXPERIMENT = "serving"


def variant_order() -> list[tuple[str, str]]:
    return [(fw, v) for fw in frameworks.names() for v in hooks.variants(fw)]


def _items(report: Report) -> list[tuple]:
    """The newest serving jobs as (machine label, run id, job), what fwbench.experiments.serving.starts reads."""
    return [(run.manifest["machine_label"], run.run_id, job) for run, job in report.experiment_jobs(EXPERIMENT)]


def servers(report: Report) -> pd.DataFrame:
    """One row per server start of the newest serving jobs; a job skipped or failed as a whole gives one row."""
    return server_rows(_items(report))


def levels(report: Report) -> pd.DataFrame:
    """One row per (machine, variant, workload, batching, format, load level, process) of the newest serving jobs:
    each process (round of the profile) is one server start of every setting, interleaved with the other variants'.
    Levels measured on a busy machine (other programs took the CPUs even when the load was run again) are not
    here: every table, chart and verdict reads these, and `busy_levels` lists the others."""
    return quiet(_all_levels(report))


def busy_levels(report: Report) -> pd.DataFrame:
    """The load levels kept out because other programs took the CPUs while they ran, with how much (`other_cpus`)
    and how often the load was run (`block_attempts`)."""
    lv = _all_levels(report)
    return lv[lv["busy"]].drop(columns=["busy"]).reset_index(drop=True)


def busy_note(report: Report) -> str:
    """The chapter's list of load levels measured on a busy machine, or "" when there are none."""
    busy = busy_levels(report)
    if busy.empty:
        return ""
    runs = busy.drop_duplicates(["machine_label", "label", "workload", "batching", "format", "process"])
    items = [
        f"{md(r['machine_label'])}, {md(r['label'])} on {md(r['workload'])}, batching "
        f"{'on' if r['batching'] else 'off'}, {md(r['format'])}, server start {int(r['process']) + 1}: "
        + how_busy(r["other_cpus"], r["block_attempts"])
        for _, r in runs.iterrows()
    ]
    return busy_list(items, "load-generator run(s)", "the load was run again", "their levels are")


def _all_levels(report: Report) -> pd.DataFrame:
    def compute() -> pd.DataFrame:
        return level_rows(_items(report))

    return report.memoized((EXPERIMENT, "levels"), compute)


def batching_note(lv: pd.DataFrame) -> str:
    """What the batching section says when the stored starts ran one batching setting only (the quick profile serves
    with batching off); else ""."""
    if lv.empty or lv["batching"].nunique() > 1:
        return ""
    setting = "on" if bool(lv["batching"].iloc[0]) else "off"
    return (
        f"Every stored server start ran with dynamic batching {setting}, so there is nothing to divide here: the "
        "full profile starts each server with batching off and on, `PROFILE=full make report`."
    )


def _geomean(values: pd.Series) -> float:
    v = values.dropna()
    return float(np.exp(np.log(v).mean())) if len(v) and (v > 0).all() else (float(v.mean()) if len(v) else np.nan)


def level_estimates(lv: pd.DataFrame) -> pd.DataFrame:
    """One row per setting and load level over its processes (what the chapter's tables and charts show): rates and
    latencies as the geometric mean over processes, the error rate as the mean, memory and the load generator's lag
    as the worst; `processes` counts them."""
    if lv.empty:
        return lv.assign(processes=pd.Series(dtype=int))
    how = {
        c: _geomean
        for c in ("throughput_rps", "latency_p50_s", "latency_p95_s", "latency_p99_s", "latency_mean_s", "offered_rps")
    }
    how.update(
        error_rate="mean",
        n_requests="sum",
        max_send_lag_s="max",
        server_rss_load_bytes="max",
        run_id="last",
        process="nunique",
        **{c: "mean" for c in TIME_PARTS if c in lv},
    )
    out = lv.groupby(LEVEL_KEYS, dropna=False, sort=False).agg(how).reset_index()
    return out.rename(columns={"process": "processes"})


def time_breakdown(lv: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """Where a request's time went, per runtime and workload, at the setting of its best throughput (`best`), means
    over its server starts: the runtime's own call, queued (waiting for the model thread or a batch), the frontend's
    decode + encode, and outside the server (HTTP, event loop, loopback, the client); `runtime_share` is the call's
    share of the mean latency the client saw; `model_busy` the share of the time the model thread was computing
    (throughput x its busy time per request): near 1 the runtime set the peak, well below it something else did
    (the frontend, on the same cores). Also the call alone at a single client without batching: the runtimes
    compared with the frontend taken out. Servers that do not report their time (TorchServe, TensorFlow Serving)
    have no parts: `reported` is False."""
    if best.empty:
        return pd.DataFrame()
    closed = lv[(lv["kind"] == "closed") & (lv["error_rate"] == 0)]
    rows = []
    for _, b in best.iterrows():
        mine = closed[
            (closed["machine_label"] == b["machine_label"])
            & (closed["label"] == b["label"])
            & (closed["workload"] == b["workload"])
        ]
        at = mine[
            (mine["batching"] == b["batching"])
            & (mine["format"] == b["format"])
            & (mine["concurrency"] == b["at_concurrency"])
        ]
        single = mine[(mine["batching"] == False) & (mine["concurrency"] == mine["concurrency"].min())]  # noqa: E712

        def mean(frame, column):
            return float(frame[column].mean()) if column in frame and frame[column].notna().any() else np.nan

        latency, call = mean(at, "latency_mean_s"), mean(at, "server_runtime_s")
        rows.append(
            {
                "machine_label": b["machine_label"],
                "workload": b["workload"],
                "runtime": b["label"],
                "at": f"batching {'on' if b['batching'] else 'off'}, {b['format']}, {int(b['at_concurrency'])} "
                f"client{'s' if b['at_concurrency'] != 1 else ''}",
                "latency_mean_s": latency,
                "runtime_call_s": call,
                "queue_s": mean(at, "server_queue_s"),
                "decode_encode_s": mean(at, "server_decode_s") + mean(at, "server_encode_s"),
                "outside_server_s": mean(at, "outside_server_s"),
                "runtime_share": call / latency if latency > 0 else np.nan,
                "model_busy": mean(at, "throughput_rps") * mean(at, "server_model_busy_s"),
                "single_client_call_s": mean(single, "server_runtime_s"),
                "reported": bool(np.isfinite(call)),
            }
        )
    return pd.DataFrame(rows)


#: Below this share of busy time at its peak, the model thread was not what limited a server's throughput.
FRONTEND_BOUND_BUSY = 0.5


def frontend_bound(breakdown: pd.DataFrame, busy: float = FRONTEND_BOUND_BUSY) -> bool:
    """Whether every runtime that reported its time kept its model thread busy less than `busy` of the time at its
    best throughput: then something other than the runtimes (the shared frontend) set the throughput compared, and
    a tie between runtimes says little about the runtimes."""
    known = breakdown[breakdown["reported"]] if not breakdown.empty else breakdown
    return bool(len(known)) and bool((known["model_busy"] < busy).all())


def breakdown_table(breakdown: pd.DataFrame) -> pd.DataFrame:
    """`time_breakdown` for the page (plain text: the HTML table escapes it)."""
    if breakdown.empty:
        return breakdown

    def pct(v):
        return "" if pd.isna(v) else f"{v:.0%}"

    b = breakdown
    return pd.DataFrame(
        {
            "machine_label": b["machine_label"],
            "workload": b["workload"],
            "runtime": b["runtime"],
            "at": b["at"],
            "mean latency": b["latency_mean_s"].map(ms),
            "runtime call": [
                ms(v) if r else "not reported by this server" for v, r in zip(b["runtime_call_s"], b["reported"])
            ],
            "queued": b["queue_s"].map(ms),
            "decode + encode": b["decode_encode_s"].map(ms),
            "outside the server": b["outside_server_s"].map(ms),
            "runtime share": b["runtime_share"].map(pct),
            "model busy": b["model_busy"].map(pct),
            "call alone, 1 client": b["single_client_call_s"].map(ms),
        }
    )


def _with_ci(mid: float, lo: float, hi: float, unit: str, scale: float = 1.0) -> str:
    """'6,196 [3,760 – 10,210] req/s': three significant digits, the unit once."""
    if not np.isfinite(mid):
        return ""
    num = lambda v: plain_number(v * scale, 3)  # noqa: E731
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{num(mid)} {unit} [one start: no interval]"
    return f"{num(mid)} [{num(lo)} – {num(hi)}] {unit}"


def best_runtimes(best: pd.DataFrame) -> pd.DataFrame:
    """The chapter's *best of each runtime* table from `best_per_variant`: per machine and workload, runtimes by
    estimated peak throughput (with its 95% interval over server starts), the setting that gave it, and the
    lowest single-client p99 (plain text: the HTML table escapes it)."""
    if best.empty:
        return pd.DataFrame()
    b = best.sort_values(["machine_label", "workload", "peak_rps"], ascending=[True, True, False])
    return pd.DataFrame(
        {
            "machine_label": b["machine_label"],
            "workload": b["workload"],
            "runtime": b["label"],
            "peak throughput [95% CI]": [
                _with_ci(m, lo, hi, "req/s")
                for m, lo, hi in zip(b["peak_rps"], b["peak_rps_ci_low"], b["peak_rps_ci_high"])
            ],
            "reached with": [
                f"batching {'on' if bt else 'off'}, {f}, {int(c)} client{'s' if c != 1 else ''}"
                for bt, f, c in zip(b["batching"], b["format"], b["at_concurrency"])
            ],
            "single-client p99 [95% CI]": [
                _with_ci(m, lo, hi, "ms", 1e3)
                for m, lo, hi in zip(
                    b["single_client_p99_s"], b["single_client_p99_ci_low"], b["single_client_p99_ci_high"]
                )
            ],
            "starts": b["processes"],
        }
    )


def ms(seconds) -> str:
    """Milliseconds to three significant digits, never in e-notation; '' where nothing was measured."""
    return "" if pd.isna(seconds) else f"{plain_number(seconds * 1e3, 3)} ms"


def _early_ends(jobs, p: dict) -> str:
    """How closed-loop levels may end before their duration, and how many did (from the stored records)."""
    if not p.get("min_duration_s"):
        return ""
    flags = [
        r["value"]
        for _, j in jobs
        if j["status"] == "ok"
        for r in j.get("records", [])
        if r.get("metric") == "ended_early"
    ]
    return (
        f"A closed-loop level may end after {p['min_duration_s']:g} s once its latency distribution has "
        f"converged: checked every {CHECK_EVERY_S:g} s, the median, mean and 99th percentile each moved less than "
        f"{p['converge_rtol']:.0%}, over at least {MIN_CONVERGED_REQUESTS} answers and with no failed request; "
        f"{int(sum(flags))} of {len(flags)} closed-loop levels ended early. "
    )


def what_was_measured(report: Report, srv: pd.DataFrame) -> str:
    """The variants, servers, runtimes, load levels, batching, wire formats and pinning behind the stored
    server starts, from the jobs' own parameters (Markdown)."""
    serving = srv[srv["outcome"] == "serves"]
    jobs = report.experiment_jobs(EXPERIMENT)
    # Stored parameters are complete (the profile's values over the experiment's defaults).
    p = next((j["params"] for _, j in jobs if j["status"] == "ok"), jobs[0][1]["params"])
    servers_v = srv[srv["server_version"].fillna("") != ""].groupby("server")["server_version"].first()
    rt = serving[serving["runtime_version"].fillna("") != ""].drop_duplicates("label")
    pin = serving.drop_duplicates(["machine_label"])
    starts = sorted(srv.groupby(["machine_label", "label"])["process"].nunique().unique())
    return (
        f"{srv['label'].nunique()} serving variants from {srv['framework'].nunique()} source frameworks, on the "
        f"workloads {', '.join(sorted(w for w in srv['workload'].unique() if w))}, on "
        f"{srv['machine_label'].nunique()} machine(s). Each setting was started "
        f"{' or '.join(map(str, starts))} time(s), once per process of the profile; the processes of all "
        "variants took turns in a seeded random order, so that drift of the machine reaches every variant "
        "alike and shows as spread between starts.\n\n"
        "Servers: "
        + ", ".join(f"{md(s)} ({md(v)})" for s, v in servers_v.items())
        + ". Runtimes behind them: "
        + ", ".join(f"{md(r['label'])}: {md(r['runtime'])} ({md(r['runtime_version'])})" for _, r in rt.iterrows())
        + ".\n\n"
        f"Each request carries {p['request_batch']} sample(s). Load levels, each after "
        f"{p['warmup_s']:g} s of unrecorded warm-up, recorded for {p['duration_s']:g} s or "
        f"{md(p['max_requests'])} requests: a **closed loop** of {', '.join(map(str, p['concurrency']))} "
        "concurrent clients (each sends its next request when the last returns), then an **open loop** of Poisson "
        "arrivals at "
        + ", ".join(f"{f:.0%}" for f in p["open_loop_fractions"])
        + " of the best closed-loop throughput of the same server. "
        + _early_ends(jobs, p)
        + "Open-loop latency runs from each request's "
        "*scheduled* time, so a stalled server shows in the tail instead of quietly lowering the load "
        "(coordinated omission). Dynamic batching, where on, collects requests for up to "
        f"{p['max_wait_ms']:g} ms into one model call of at most {md(p['max_batch'])} rows. Wire formats: "
        + ", ".join(f"{md(f)}" for f in p["formats"])
        + " (`npy`: a binary NumPy array).\n\n"
        "Pinning (server cores / load-generator cores): "
        + "; ".join(
            f"{md(r['machine_label'])}: {md(r['server_cpus'])} / {md(r['client_cpus'])}"
            + ("" if r["pinned"] else " (not pinned: no taskset)")
            for _, r in pin.iterrows()
        )
        + ". The runtime uses as many threads as the server has cores."
    )


def what_this_means(srv: pd.DataFrame, lv: pd.DataFrame, best: pd.DataFrame | None = None) -> str:
    """The findings per machine and workload, every number computed here from the levels and starts (Markdown).
    `best` is `best_per_variant` of the stored levels (computed here when `lv` still has its processes)."""
    serving = srv[srv["outcome"] == "serves"] if not srv.empty else srv
    out = []
    closed = lv[(lv["kind"] == "closed") & (lv["error_rate"] == 0)].dropna(subset=["latency_p99_s"])
    # The best p99 and the highest throughput are the *best of each runtime* table's estimates over server starts
    # (and the introduction's), so every page cites the same number; the worst p99 is one level's, said so.
    if best is None:
        best = best_per_variant(lv) if "process" in lv else pd.DataFrame()
    for (machine, workload), g in closed.groupby(["machine_label", "workload"]):
        b = best[(best["machine_label"] == machine) & (best["workload"] == workload)] if not best.empty else best
        hi = g.loc[g["latency_p99_s"].idxmax()]
        parts = []
        quick = b.dropna(subset=["single_client_p99_s"]) if not b.empty else b
        if not quick.empty:
            lo = quick.loc[quick["single_client_p99_s"].idxmin()]
            parts.append(
                f"best single-client p99 {ms(lo['single_client_p99_s'])} ({md(lo['label'])}, estimated over "
                f"{int(lo['processes'])} server start(s))"
            )
        parts.append(
            f"worst p99 of any level {ms(hi['latency_p99_s'])} ({md(hi['label'])}, {int(hi['concurrency'])} clients)"
        )
        text = f"- {md(machine)}, {md(workload)}: " + "; ".join(parts) + "."
        if not b.empty:
            top = b.loc[b["peak_rps"].idxmax()]
            text += (
                f" Highest throughput {plain_number(top['peak_rps'], 3)} req/s ({md(top['label'])}, batching "
                f"{'on' if top['batching'] else 'off'}, {md(top['format'])})."
            )
        out.append(text)
        fmts = g.pivot_table(index=["label", "batching", "concurrency"], columns="format", values="throughput_rps")
        if {"json", "npy"} <= set(fmts.columns):
            ratio = (fmts["npy"] / fmts["json"]).median()
            out.append(f"  Binary requests instead of JSON: median throughput ratio {ratio:.2f}x over all settings.")
    for machine, g in serving.dropna(subset=["cold_start_s"]).groupby("machine_label"):
        f, s = g.loc[g["cold_start_s"].idxmin()], g.loc[g["cold_start_s"].idxmax()]
        out.append(
            f"- {md(machine)}: quickest cold start {fmt_s(f['cold_start_s'])} ({md(f['label'])} on {md(f['workload'])}), "
            f"slowest {fmt_s(s['cold_start_s'])} ({md(s['label'])} on {md(s['workload'])})."
        )
    bad = srv[srv["outcome"].isin(["fails", "unavailable"])]
    if not bad.empty:
        out.append(
            "- Did not serve: "
            + "; ".join(
                f"{md(r['label'])} on {md(r['workload'] or 'all workloads')} ({md(r['outcome'])})"
                for _, r in bad.drop_duplicates(["label", "workload", "outcome"]).iterrows()
            )
            + "."
        )
    return "\n".join(out)
