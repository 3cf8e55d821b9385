"""Tables of the outside_python experiment, read from the store: one row per (machine, source, workload, host:runtime)."""

from __future__ import annotations

import pandas as pd

from fwbench.measure import stats
from fwbench.report.busy import busy_blocks, busy_list, how_busy
from fwbench.report.results import Report, fmt_s, plain_number
from fwbench.report.sanitize import md

EXPERIMENT = "outside_python"
#: Where each runtime ran, in the chapter's order.
RUNTIME_ORDER = [
    "node:onnxruntime-node",
    "node:onnxruntime-web",
    "node:tfjs-wasm",
    "node:tfjs-node",
    "browser:onnxruntime-web",
    "browser:tfjs-wasm",
]
ONNX_RUNTIMES = ("onnxruntime-node", "onnxruntime-web")
#: What a runtime is called in the chapter.
NAMES = {
    "onnxruntime-node": "ONNX Runtime for Node (native)",
    "onnxruntime-web": "ONNX Runtime Web (WebAssembly)",
    "tfjs-wasm": "TensorFlow.js (WebAssembly backend)",
    "tfjs-node": "TensorFlow.js on tfjs-node (native)",
}

COLUMNS = [
    "machine_label",
    "framework",
    "framework_version",
    "workload",
    "runtime",
    "host",
    "runtime_name",
    "format",
    "source_path",
    "outcome",
    "stage",
    "steps",
    "error_type",
    "error_message",
    "traceback",
    "max_abs_err",
    "max_rel_err",
    "parity_ok",
    "dynamic_batch_ok",
    "batches",
    "install_ok",
    "package_bytes",
    "bundle_bytes",
    "model_bytes",
    "convert_s",
    "runtime_import_s",
    "load_s",
    "load_ci_low_s",
    "load_ci_high_s",
    "latency_b1_s",
    "latency_b1_ci_low_s",
    "latency_b1_ci_high_s",
    "latency_b64_s",
    "latency_b64_ci_low_s",
    "latency_b64_ci_high_s",
    "processes",
    "busy_processes",
    "runtime_version",
    "threads",
    "threads_used",
    "cross_origin_isolated",
    "converter",
    "export_batch",
    "atol",
    "rtol",
    "run_id",
]


def _one(records: list[dict], mode: str, workload: str, metric: str):
    for r in records:
        if r.get("mode") == mode and r.get("workload") == workload and r["metric"] == metric:
            return r["value"]
    return None


def per_process(records: list[dict], mode: str, workload: str, metric: str, batch: int | None = None) -> dict:
    """{process: value} of a metric stored once per process (latency medians, imports, loads)."""
    return {
        r.get("process", 0): r["value"]
        for r in records
        if r.get("mode") == mode
        and r.get("workload") == workload
        and r["metric"] == metric
        and (batch is None or r["batch_size"] == batch)
    }


def busy_processes(records: list[dict], mode: str, workload: str) -> set:
    """The processes (pages) of a runtime measured on a busy machine even when run again (fwbench.measure.quiet):
    the whole process is the block, so its import, load and latencies all measured the neighbours too. None in
    runs stored before processes were watched."""
    return {p for p, v in per_process(records, mode, workload, "busy_block").items() if v > 0}


def timings(records: list[dict], mode: str, workload: str, metric: str, batch: int | None = None) -> dict:
    """{process: value} of a timing stored once per process, the processes measured on a busy machine left out:
    what every table, chart and verdict reads."""
    busy = busy_processes(records, mode, workload)
    return {p: v for p, v in per_process(records, mode, workload, metric, batch).items() if p not in busy}


def over_processes(values: dict) -> tuple[float | None, float | None, float | None]:
    """Geometric mean of per-process values with a t interval over processes (none from one process)."""
    if not values:
        return None, None, None
    est, lo, hi = stats.cell_estimate({p: [v] for p, v in values.items()})
    return (est, lo, hi) if len(values) > 1 else (est, None, None)


def _batches(attempt: dict) -> str:
    """'1 ok, 64 differs' for the batch sizes other than the exported one."""
    parts = []
    for b, e in sorted(attempt.get("batches", {}).items(), key=lambda kv: int(kv[0])):
        if int(b) != attempt.get("export_batch"):
            parts.append(f"{b} " + ("fails" if not e.get("ran") else "ok" if e.get("passed") else "differs"))
    return ", ".join(parts)


def attempts(report: Report) -> pd.DataFrame:
    """Every (workload, runtime) of every newest job; a job that failed as a whole gives one 'fails' row."""
    rows = []
    for run, job in report.experiment_jobs(EXPERIMENT):
        params = job.get("params", {})
        base = {
            "machine_label": run.manifest["machine_label"],
            "framework": job["framework"],
            "framework_version": job.get("framework_version", ""),
            "run_id": run.run_id,
            "export_batch": params.get("export_batch"),
            "atol": params.get("atol"),
            "rtol": params.get("rtol"),
        }
        if job["status"] != "ok":
            for workload in params.get("workloads", [job["workload"]]):
                rows.append(
                    {
                        **base,
                        "workload": workload,
                        "runtime": "(job)",
                        "host": "",
                        "runtime_name": "",
                        "outcome": "fails",
                        "stage": "job",
                        "error_type": job["error"]["type"],
                        "error_message": job["error"]["message"],
                        "traceback": job["error"].get("traceback", ""),
                    }
                )
            continue
        recs = job["records"]
        for a in job.get("attempts", []):
            w, mode = a["workload"], a["runtime"]
            err = a.get("error") or {}
            first = a.get("batches", {}).get(str(a.get("export_batch")), {})
            load = over_processes(timings(recs, mode, w, "load_s"))
            row = {
                **base,
                "workload": w,
                "runtime": mode,
                "host": a.get("host", ""),
                "runtime_name": mode.split(":", 1)[-1],
                "format": a.get("format", ""),
                "source_path": a.get("source_path", ""),
                "outcome": a["outcome"],
                "stage": a.get("stage", ""),
                "steps": " → ".join(a.get("steps", [])),
                "error_type": err.get("type", ""),
                "error_message": err.get("message", ""),
                "traceback": err.get("traceback", ""),
                "max_abs_err": first.get("max_abs_err"),
                "max_rel_err": first.get("max_rel_err"),
                "parity_ok": first.get("passed"),
                "dynamic_batch_ok": _bool(_one(recs, mode, w, "dynamic_batch_ok")),
                "batches": _batches(a),
                "install_ok": _bool(_one(recs, mode, w, "install_ok")),
                "package_bytes": _one(recs, mode, w, "package_bytes"),
                "bundle_bytes": over_processes(per_process(recs, mode, w, "bundle_bytes"))[0],
                "model_bytes": _one(recs, mode, w, "model_bytes"),
                "convert_s": _one(recs, mode, w, "convert_s"),
                "runtime_import_s": over_processes(timings(recs, mode, w, "runtime_import_s"))[0],
                "load_s": load[0],
                "load_ci_low_s": load[1],
                "load_ci_high_s": load[2],
                "processes": a.get("processes", 0),
                "busy_processes": len(busy_processes(recs, mode, w)),
                "runtime_version": a.get("runtime_version", ""),
                "threads": job.get("settings", {}).get("threads"),
                "threads_used": a.get("threads_used"),
                "cross_origin_isolated": a.get("cross_origin_isolated"),
                "converter": a.get("converter", ""),
            }
            for b in (1, 64):
                est, lo, hi = over_processes(timings(recs, mode, w, "step_time_median_s", b))
                row.update({f"latency_b{b}_s": est, f"latency_b{b}_ci_low_s": lo, f"latency_b{b}_ci_high_s": hi})
            rows.append(row)
    df = pd.DataFrame(rows, columns=COLUMNS)
    if df.empty:
        return df
    order = {r: i for i, r in enumerate(RUNTIME_ORDER)}
    df["_order"] = [order.get(r, len(order)) for r in df["runtime"]]
    return (
        df.sort_values(["machine_label", "framework", "workload", "_order"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def _bool(value):
    return None if value is None else bool(value)


def is_true(value) -> bool:
    """True for a stored yes; False for no, missing (None) and NaN."""
    return value is not None and not (isinstance(value, float) and value != value) and bool(value)


def works(row) -> bool:
    """Ran, matched its source model, and ran and matched at the other batch sizes too."""
    return row["outcome"] == "matches" and is_true(row["dynamic_batch_ok"])


def latency_samples(report: Report) -> dict:
    """{(machine, framework, workload, runtime, batch): {process: median}}: what comparisons between runtimes read
    (processes measured on a busy machine left out)."""
    out: dict = {}
    for run, job in report.experiment_jobs(EXPERIMENT):
        if job["status"] != "ok":
            continue
        busy = {
            (r.get("mode"), r.get("workload"), r.get("process", 0))
            for r in job["records"]
            if r["metric"] == "busy_block" and r["value"] > 0
        }
        for r in job["records"]:
            if (
                r["metric"] == "step_time_median_s"
                and (r.get("mode"), r.get("workload"), r.get("process", 0)) not in busy
            ):
                key = (
                    run.manifest["machine_label"],
                    job["framework"],
                    r.get("workload"),
                    r.get("mode"),
                    r["batch_size"],
                )
                out.setdefault(key, {})[r.get("process", 0)] = r["value"]
    return out


#: Columns of `busy_runs`.
BUSY_COLUMNS = ["machine_label", "framework", "workload", "runtime", "process", "other_cpus", "block_attempts"]


def busy_runs(report: Report) -> pd.DataFrame:
    """The fresh processes and pages kept out of every timing because other programs took the CPUs while they ran,
    even when run again: how much (`other_cpus`) and how often the process was started (`block_attempts`)."""
    rows = []
    for run, job in report.experiment_jobs(EXPERIMENT):
        if job["status"] != "ok":
            continue
        for key, how in busy_blocks(job["records"], lambda r: (r.get("mode"), r.get("workload"), r.get("process", 0))):
            rows.append(
                {
                    "machine_label": run.manifest["machine_label"],
                    "framework": job["framework"],
                    "workload": key[1],
                    "runtime": key[0],
                    "process": key[2],
                    "other_cpus": how.get("other_cpus"),
                    "block_attempts": how.get("block_attempts"),
                }
            )
    return pd.DataFrame(rows, columns=BUSY_COLUMNS)


def busy_note(report: Report) -> str:
    """The chapter's list of processes and pages measured on a busy machine, or "" when there are none."""
    busy = busy_runs(report)
    if busy.empty:
        return ""
    items = [
        f"{md(r['machine_label'])}, {md(r['framework'])} {md(r['workload'])} in {md(r['runtime'])}, "
        f"{'page' if str(r['runtime']).startswith('browser:') else 'process'} {int(r['process']) + 1}: "
        + how_busy(r["other_cpus"], r["block_attempts"])
        for _, r in busy.iterrows()
    ]
    return busy_list(
        items, "fresh process(es) or page(s)", "they were run again", "their import, load and latency times are"
    )


def what_was_measured(att: pd.DataFrame) -> str:
    """The sources, runtimes, versions and parity rule behind the rows (Markdown)."""
    versions = att.groupby("framework")["framework_version"].first()
    ran = att[att["runtime_version"].fillna("") != ""].drop_duplicates("runtime")
    first = att.iloc[0]
    converter = att[att["converter"].fillna("") != ""]["converter"]
    return (
        f"{att['runtime'].nunique()} host:runtime pairs, models from {att['framework'].nunique()} source "
        f"frameworks ({', '.join(f'{md(f)} {md(v)}' for f, v in versions.items())}), on the workloads "
        f"{md(', '.join(sorted(att['workload'].unique())))}, on {att['machine_label'].nunique()} machine(s): "
        f"{len(att)} (source, workload, runtime) rows in all.\n\n"
        "Runtimes and the versions that ran: "
        + (", ".join(f"{md(r['runtime'])} ({md(r['runtime_version'])})" for _, r in ran.iterrows()) or "none")
        + ".\n\n"
        + (
            f"TF.js models come from the official converter, {md(converter.iloc[0])}, in an environment of its own. "
            if not converter.empty
            else ""
        )
        + f"Parity is checked at the exported batch ({int(first['export_batch'])}) and at every timed batch: the "
        "runtime's logits against the source framework's own eager model on the same input, float32, passing "
        f"when every logit is within atol {plain_number(first['atol'])} + rtol {plain_number(first['rtol'])} x "
        "|source logit| (the export chapter's tolerances)."
    )


def what_this_means(att: pd.DataFrame) -> str:
    """The findings per machine, every number computed here from the rows (Markdown)."""
    out = []
    for machine, g in att.groupby("machine_label"):
        ok = g.apply(works, axis=1)
        out.append(
            f"- {md(machine)}: {int(ok.sum())} of {len(g)} (source, workload, runtime) rows ran and matched "
            f"their source model at every batch size; {int((g['outcome'] == 'differs').sum())} ran but "
            f"differ; {int((g['outcome'] == 'fails').sum())} failed."
        )
        onnx = g[g["runtime_name"].isin(ONNX_RUNTIMES)]
        if not onnx.empty:
            good = onnx[onnx.apply(works, axis=1)]
            out.append(
                f"  ONNX: {len(good)} of {len(onnx)} ONNX rows worked ("
                + "; ".join(
                    f"{md(fw)}: {', '.join(md(r) for r in sorted(set(x['runtime'])))}"
                    for fw, x in good.groupby("framework")
                )
                + ")."
            )
        failed = g[g["outcome"] == "fails"]
        for _, r in failed.iterrows():
            out.append(
                f"  Failed: {md(r['framework'])} → {md(r['runtime'])} on {md(r['workload'])} at "
                f"{md(r['stage'])}: {md(r['error_type'])}: {md(str(r['error_message'])[:200])}."
            )
        web = g[g["host"] == "browser"].dropna(subset=["latency_b1_s"])
        for (fw, w), x in web.groupby(["framework", "workload"]):
            parts = [
                f"{md(r['runtime_name'])} {fmt_s(r['latency_b1_s'])} at batch 1"
                + (f", {r['bundle_bytes'] / 1e6:.1f} MB of runtime files" if pd.notna(r["bundle_bytes"]) else "")
                for _, r in x.iterrows()
            ]
            out.append(f"  In the browser, {md(fw)} {md(w)}: " + "; ".join(parts) + ".")
        sizes = g[g["package_bytes"].notna()].drop_duplicates("runtime_name")
        if not sizes.empty:
            out.append(
                "  Installed size (node_modules): "
                + ", ".join(f"{md(r['runtime_name'])} {r['package_bytes'] / 1e6:.0f} MB" for _, r in sizes.iterrows())
                + "."
            )
    out.append("\nSee {doc}`claims` (X7) for the verdict these rows feed.")
    return "\n".join(out)
