"""Tables of the export experiment, read from the store: one row per (machine, source, path, workload)."""

from __future__ import annotations

import re

import pandas as pd

from fwbench import exporters, frameworks
from fwbench.measure import stats
from fwbench.report.busy import busy_blocks, busy_list, how_busy
from fwbench.report.results import Report, fmt_s, plain_number
from fwbench.report.sanitize import md

EXPERIMENT = "export"

#: Paths whose artifact is ONNX (run in ONNX Runtime), for claims X1 and X2.
ONNX_RUNTIME = "onnxruntime"

COLUMNS = [
    "machine_label",
    "framework",
    "framework_version",
    "path",
    "runtime",
    "runtime_version",
    "workload",
    "outcome",
    "stage",
    "steps",
    "n_steps",
    "error_type",
    "error_message",
    "traceback",
    "max_abs_err",
    "max_rel_err",
    "reference_max_abs_err",
    "parity_ok",
    "dynamic_batch_ok",
    "batches",
    "export_s",
    "export_bytes",
    "runtime_import_s",
    "load_s",
    "latency_b1_s",
    "latency_b1_ci_low_s",
    "latency_b1_ci_high_s",
    "latency_b64_s",
    "latency_b64_ci_low_s",
    "latency_b64_ci_high_s",
    "latency_b1_busy",
    "latency_b64_busy",
    "latency_processes",
    "latency_process_kind",
    "train_step_s",
    "train_batch",
    "export_batch",
    "atol",
    "rtol",
    "run_id",
]


def path_order() -> list[tuple[str, str]]:
    """(framework, path) in the order the adapters declare them, frameworks alphabetically."""
    return [(fw, p) for fw in frameworks.names() for p in exporters.paths(fw)]


def _metric(records: list[dict], workload: str, metric: str, batch: int | None = None, phase: str = "infer"):
    for r in records:
        if (
            r.get("workload") == workload
            and r["metric"] == metric
            and r["phase"] == phase
            and (batch is None or r["batch_size"] == batch)
        ):
            return r["value"]
    return None


def _series(records: list[dict], workload: str, metric: str, batch: int | None, phase: str) -> dict:
    """{process: value} of one per-process metric of a workload's timed series at `batch` (any batch: None)."""
    return {
        r.get("process", 0): r["value"]
        for r in records
        if r.get("workload") == workload
        and r["metric"] == metric
        and r["phase"] == phase
        and (batch is None or r["batch_size"] == batch)
    }


def _busy(records: list[dict], workload: str, batch: int | None = None, phase: str = "infer") -> set:
    """The processes whose series was kept past the busy bound (fwbench.measure.quiet): none in older runs."""
    return {p for p, v in _series(records, workload, "busy_block", batch, phase).items() if v > 0}


def _over_processes(
    records: list[dict], workload: str, batch: int | None = None, phase: str = "infer"
) -> tuple[float | None, float | None, float | None, int]:
    """A latency from every process that timed it on a quiet machine: (estimate, ci_low, ci_high, processes).

    The geometric mean of the per-process medians with a t interval over processes, as every
    cell in this report; one process (older runs measured only one) gives no interval. A series
    measured on a busy machine measured the neighbours too: it is left out (`busy_series` lists it).
    """
    busy = _busy(records, workload, batch, phase)
    medians = {p: m for p, m in _series(records, workload, "step_time_median_s", batch, phase).items() if p not in busy}
    if not medians:
        return None, None, None, 0
    est, lo, hi = stats.cell_estimate({p: [m] for p, m in medians.items()})
    return (est, lo, hi, len(medians)) if len(medians) > 1 else (est, None, None, 1)


def _latency(records, workload, batch) -> dict:
    est, lo, hi, _ = _over_processes(records, workload, batch)
    return {
        f"latency_b{batch}_s": est,
        f"latency_b{batch}_ci_low_s": lo,
        f"latency_b{batch}_ci_high_s": hi,
        f"latency_b{batch}_busy": len(_busy(records, workload, batch)),
    }


def _batches(attempt: dict) -> str:
    """'1 ok, 64 differs, 256 fails' for the batch sizes other than the exported one."""
    parts = []
    for b, e in sorted(attempt.get("batches", {}).items(), key=lambda kv: int(kv[0])):
        if int(b) == attempt.get("export_batch"):
            continue
        parts.append(f"{b} " + ("fails" if not e.get("ran") else "ok" if e.get("passed") else "differs"))
    return ", ".join(parts)


def attempts(report: Report) -> pd.DataFrame:
    """Every workload of every newest export job; a job that failed as a whole gives one 'fails' row per workload."""
    rows = []
    for run, job in report.experiment_jobs(EXPERIMENT):
        base = {
            "machine_label": run.manifest["machine_label"],
            "framework": job["framework"],
            "framework_version": job.get("framework_version", ""),
            "path": job["variant"],
            "runtime": job.get("runtime", job.get("mode", "")),
            "run_id": run.run_id,
            "export_batch": job["params"].get("export_batch"),
            "atol": job["params"].get("atol"),
            "rtol": job["params"].get("rtol"),
        }
        if job["status"] != "ok":
            for workload in job["params"].get("workloads", [job["workload"]]):
                rows.append(
                    {
                        **base,
                        "workload": workload,
                        "outcome": "fails",
                        "stage": "job",
                        "error_type": job["error"]["type"],
                        "error_message": job["error"]["message"],
                        "traceback": job["error"].get("traceback", ""),
                    }
                )
            continue
        records = job["records"]
        for a in job.get("attempts", []):
            w = a["workload"]
            err = a.get("error") or {}
            first = a.get("batches", {}).get(str(a.get("export_batch")), {})
            rows.append(
                {
                    **base,
                    "runtime_version": a.get("runtime_version", ""),
                    "workload": w,
                    "outcome": a["outcome"],
                    "stage": a.get("stage", ""),
                    "steps": " → ".join(a.get("steps", [])),
                    "n_steps": len(a.get("steps", [])),
                    "error_type": err.get("type", ""),
                    "error_message": err.get("message", ""),
                    "traceback": err.get("traceback", ""),
                    "max_abs_err": first.get("max_abs_err"),
                    "max_rel_err": first.get("max_rel_err"),
                    "reference_max_abs_err": first.get("reference_max_abs_err"),
                    "parity_ok": first.get("passed"),
                    "dynamic_batch_ok": _bool(_metric(records, w, "dynamic_batch_ok")),
                    "batches": _batches(a),
                    "export_s": _metric(records, w, "export_s"),
                    "export_bytes": _metric(records, w, "export_bytes"),
                    "runtime_import_s": _metric(records, w, "runtime_import_s"),
                    "load_s": _metric(records, w, "load_s"),
                    **_latency(records, w, 1),
                    **_latency(records, w, 64),
                    "train_step_s": _over_processes(records, w, phase="train")[0],
                    "latency_processes": _over_processes(records, w, 1)[3],
                    # Stored before the kind was recorded: forks (the only way then).
                    "latency_process_kind": a.get("latency_process_kind")
                    if a.get("latency_process_kind") in ("fresh", "fork")
                    else "fork",
                    "train_batch": next(
                        (r["batch_size"] for r in records if r.get("workload") == w and r["phase"] == "train"), None
                    ),
                }
            )
    df = pd.DataFrame(rows, columns=COLUMNS)
    if df.empty:
        return df.assign(blame=pd.Series(dtype=str))
    df["blame"] = [
        HARNESS if harness_failure(m, t) else ""
        for m, t in zip(df["error_message"].fillna(""), df["traceback"].fillna(""))
    ]
    order = {key: i for i, key in enumerate(path_order())}
    df["_order"] = [order.get((f, p), len(order)) for f, p in zip(df["framework"], df["path"])]
    return df.sort_values(["machine_label", "_order", "workload"]).drop(columns="_order").reset_index(drop=True)


#: Columns of `busy_series`.
BUSY_COLUMNS = [
    "machine_label",
    "framework",
    "path",
    "runtime",
    "workload",
    "phase",
    "batch_size",
    "process",
    "other_cpus",
    "block_attempts",
]


def busy_series(report: Report) -> pd.DataFrame:
    """The timed series (one batch size's latency, or the training step, in one process) kept out of every latency
    above because other programs took the CPUs while they ran, even when run again: how much (`other_cpus`) and
    how often the series ran (`block_attempts`)."""
    rows = []
    for run, job in report.experiment_jobs(EXPERIMENT):
        if job["status"] != "ok":
            continue
        blocks = busy_blocks(
            job["records"], lambda r: (r.get("workload"), r["phase"], r["batch_size"], r.get("process", 0))
        )
        for key, how in blocks:
            rows.append(
                {
                    "machine_label": run.manifest["machine_label"],
                    "framework": job["framework"],
                    "path": job["variant"],
                    "runtime": job.get("runtime", job.get("mode", "")),
                    "workload": key[0],
                    "phase": key[1],
                    "batch_size": key[2],
                    "process": key[3],
                    "other_cpus": how.get("other_cpus"),
                    "block_attempts": how.get("block_attempts"),
                }
            )
    return pd.DataFrame(rows, columns=BUSY_COLUMNS)


def busy_note(report: Report) -> str:
    """The chapter's list of timed series measured on a busy machine, or "" when there are none."""
    busy = busy_series(report)
    if busy.empty:
        return ""
    items = [
        f"{md(r['machine_label'])}, {md(r['framework'])} {md(r['path'])} on {md(r['workload'])}, "
        + (
            f"training step at batch {int(r['batch_size'])}"
            if r["phase"] == "train"
            else f"batch {int(r['batch_size'])}"
        )
        + f", process {int(r['process']) + 1}: "
        + how_busy(r["other_cpus"], r["block_attempts"])
        for _, r in busy.iterrows()
    ]
    return busy_list(items, "timed series", "the series was run again", "they are")


def latency_text(row, batch: int) -> str:
    """A latency cell of the chapter's tables: the time, else why there is none (every process that timed it was
    measured on a busy machine, or the artifact did not run at that batch size)."""
    value = row[f"latency_b{batch}_s"]
    if pd.notna(value):
        return fmt_s(value)
    return "busy machine" if row[f"latency_b{batch}_busy"] > 0 else "did not run"


#: What a failure that is fwbench's, not the framework's, is labelled: TorchScript compiling fwbench's own model code
#: (written for eager PyTorch: getattr on a computed name, f-strings, a Python spec object) stops at that code.
HARNESS = "harness: fwbench's model code is not written for this compiler (not the framework's failure)"
_OWN_SOURCE = re.compile(r'File "[^"\n]*fwbench/(?:frameworks|workloads)/[^"\n]*", line \d+')


def harness_failure(message: str, traceback: str) -> bool:
    """Whether a failed export stopped at fwbench's own model source, as a source-compiling exporter (TorchScript's
    `script`) reports it: the file and line of our code, marked `<--- HERE`."""
    text = f"{message}\n{traceback}"
    return "<--- HERE" in text and bool(_OWN_SOURCE.search(text))


def _bool(value):
    return None if value is None else bool(value)


def is_true(value) -> bool:
    """True for a stored yes (bool or numpy bool); False for no, missing (None) and NaN."""
    return value is not None and not (isinstance(value, float) and value != value) and bool(value)


def label(row) -> str:
    """'torch onnx-dynamo': how a (source, path) is named in tables and charts."""
    return f"{row['framework']} {row['path']}"


def matrix(df: pd.DataFrame) -> pd.DataFrame:
    """Outcome per (source, path) row and workload column, for one machine's rows."""
    d = df.assign(source_path=[label(r) for _, r in df.iterrows()])
    rows = list(dict.fromkeys(d["source_path"]))
    return d.pivot_table(index="source_path", columns="workload", values="outcome", aggfunc="first").reindex(rows)


def counts(df: pd.DataFrame) -> pd.DataFrame:
    """Per (machine, source framework): how many (path, workload) pairs match, differ, fail."""
    out = df.groupby(["machine_label", "framework", "outcome"]).size().unstack("outcome", fill_value=0)
    return out.reindex(columns=["matches", "differs", "fails"], fill_value=0).reset_index()


def keras_backends(df: pd.DataFrame) -> pd.DataFrame:
    """The Keras 3 rows: one model definition on each framework's backend, per workload."""
    # str.split, not str.partition: partition of an empty column has no column 2 (a store without keras3 rows).
    return df[df["path"] == "keras3"].assign(backend=lambda d: d["runtime"].str.split(":", n=1).str[1])


def what_was_measured(att: pd.DataFrame) -> str:
    """The paths, frameworks, runtimes, parity rule and each path's conversion steps behind the attempts (Markdown)."""
    versions = att.groupby("framework")["framework_version"].first()
    runtimes = att[att["runtime_version"].fillna("") != ""].groupby("runtime")["runtime_version"].first()
    paths = att.drop_duplicates(["framework", "path"])
    first = att.iloc[0]
    # One line per counted path: a path that failed before recording a step still gets one, saying so.
    with_steps = att[att["steps"].fillna("") != ""].drop_duplicates(["framework", "path"])
    steps = paths[["framework", "path", "runtime"]].merge(
        with_steps[["framework", "path", "steps"]], on=["framework", "path"], how="left"
    )
    steps["steps"] = (
        steps["steps"].fillna("").map(lambda s: md(s) if s else "no conversion step recorded (it failed first)")
    )
    return (
        f"{len(paths)} export paths from {att['framework'].nunique()} source frameworks "
        f"({', '.join(f'{md(f)} {md(v)}' for f, v in versions.items())}), on the workloads "
        f"{', '.join(sorted(att['workload'].unique()))}, on {att['machine_label'].nunique()} machine(s): "
        f"{len(att)} (path, workload) pairs in all.\n\n"
        "Target runtimes and the versions that ran: "
        + ", ".join(f"{md(r)} ({md(v)})" for r, v in runtimes.items())
        + ".\n\n"
        f"The exporter sees an example batch of {int(first['export_batch'])}; the batch dimension is declared "
        "dynamic wherever the path has a way to say so. Parity is checked at that batch: the artifact's logits "
        "against the source framework's own eager model on the same input, float32, passing when every logit is "
        f"within atol {plain_number(first['atol'])} + rtol {plain_number(first['rtol'])} x |source logit|. Each path's conversion steps:\n\n"
        + "\n".join(
            f"- **{md(r['framework'])} {md(r['path'])}** → {md(r['runtime'])}: {r['steps']}"
            for _, r in steps.iterrows()
        )
    )


def count_lines(att: pd.DataFrame) -> str:
    """Per machine and source framework, how many pairs match, differ and fail; paths that ran only at the
    exported batch (Markdown)."""
    lines = [
        f"- {md(r['machine_label'])}, from {md(r['framework'])}: {r['matches']} match, {r['differs']} differ, "
        f"{r['fails']} fail"
        for _, r in counts(att).iterrows()
    ]
    ok = att[att["outcome"] != "fails"]
    nodyn = ok[ok["dynamic_batch_ok"] == False]  # noqa: E712 (None = not checked)
    if not nodyn.empty:
        lines.append(
            "- Ran at the exported batch but not at every other size: "
            + "; ".join(
                f"{md(r['framework'])} {md(r['path'])} on {md(r['workload'])} ({md(r['batches'])})"
                for _, r in nodyn.iterrows()
            )
        )
    return "\n".join(lines)


def _with_interval(row) -> str:
    if pd.isna(row["latency_b1_ci_low_s"]):
        return f"{fmt_s(row['latency_b1_s'])}, one process: no interval"
    return (
        f"{fmt_s(row['latency_b1_s'])}, 95% CI {fmt_s(row['latency_b1_ci_low_s'])}–"
        f"{fmt_s(row['latency_b1_ci_high_s'])} over {int(row['latency_processes'])} processes"
    )


def _apart(fast, other) -> bool:
    """True if `fast`'s batch-1 interval ends below `other`'s by more than the equivalence margin."""
    if pd.isna(fast["latency_b1_ci_high_s"]) or pd.isna(other["latency_b1_ci_low_s"]):
        return False
    return fast["latency_b1_ci_high_s"] * (1 + stats.EQUIVALENCE_MARGIN) < other["latency_b1_ci_low_s"]


def what_this_means(att: pd.DataFrame) -> str:
    """The findings per machine, every number computed here from the attempts (Markdown)."""
    out = []
    for machine, g in att.groupby("machine_label"):
        out.append(
            f"- {md(machine)}: {(g['outcome'] == 'matches').sum()} of {len(g)} (path, workload) pairs work and "
            f"match, {(g['outcome'] == 'differs').sum()} work but differ, {(g['outcome'] == 'fails').sum()} fail."
        )
        # "Matched on every workload" counts a workload only where the model also ran and matched at the other batch
        # sizes (the portability matrix's batch column); one that matched at its export batch only is named apart.
        said_no = g["dynamic_batch_ok"].map(lambda v: v is not None and v == v and not bool(v))  # (NaN: not tried)
        works = g.assign(ok=(g["outcome"] == "matches") & ~said_no)
        everywhere = works.groupby(["framework", "path"])["ok"].all()
        out.append(
            "  Paths that worked and matched on every workload, at every batch size tried: "
            + (", ".join(f"{md(f)} {md(p)}" for (f, p), v in everywhere.items() if v) or "none")
            + "."
        )
        fixed = works[(works["outcome"] == "matches") & ~works["ok"]]
        if not fixed.empty:
            out.append(
                "  Matched at the exported batch size only: "
                + "; ".join(
                    f"{md(r['framework'])} {md(r['path'])} on {md(r['workload'])} ({md(r['batches'])})"
                    for _, r in fixed.iterrows()
                )
                + "."
            )
        fails = g[g["outcome"] == "fails"]
        broken = fails[fails["blame"] == ""].groupby(["framework", "path"])["workload"].apply(", ".join)
        if not broken.empty:
            out.append("  Failed: " + "; ".join(f"{md(f)} {md(p)} ({md(w)})" for (f, p), w in broken.items()) + ".")
        ours = fails[fails["blame"] != ""].groupby(["framework", "path"])["workload"].apply(", ".join)
        if not ours.empty:
            out.append(
                "  Failed at fwbench's own model code, a harness limit and not the framework's failure (left "
                "out of every verdict): " + "; ".join(f"{md(f)} {md(p)} ({md(w)})" for (f, p), w in ours.items()) + "."
            )
        worst = g.dropna(subset=["max_abs_err"])
        if not worst.empty:
            w = worst.loc[worst["max_abs_err"].idxmax()]
            out.append(
                f"  Largest error of a model that ran: {md(w['framework'])} {md(w['path'])} on {md(w['workload'])}, "
                f"{plain_number(w['max_abs_err'], 2)} ({md(w['outcome'])})."
            )
        for workload, lw in g.dropna(subset=["latency_b1_s"]).groupby("workload"):
            fast, slow = lw.loc[lw["latency_b1_s"].idxmin()], lw.loc[lw["latency_b1_s"].idxmax()]
            text = (
                f"  {md(workload)} at batch 1: fastest {md(fast['framework'])} {md(fast['path'])} "
                f"({_with_interval(fast)}), slowest {md(slow['framework'])} {md(slow['path'])} "
                f"({_with_interval(slow)})."
            )
            tied = [r for _, r in lw.iterrows() if r.name != fast.name and not _apart(fast, r)]
            if tied:
                text += (
                    " Not separable from the fastest by the 95% intervals over processes: "
                    + ", ".join(f"{md(r['framework'])} {md(r['path'])}" for r in tied)
                    + "."
                )
            out.append(text)
    out.append("\nSee {doc}`claims` (X1, X2, X3, X5, X6) for the verdicts these outcomes feed.")
    return "\n".join(out)
