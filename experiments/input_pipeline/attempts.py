"""Each input pipeline's processes, from stored jobs (no report needed): every attempt with its epochs, which of them
P1 may read, and each loader's per-process figures. The chapter's tables and P1's rule read these, and so does the
sequential rule that decides which loader gets another process."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fwbench.experiments.input_pipeline.dataset import COMMON
from fwbench.experiments.input_pipeline.hooks import LOADERS

#: The loader P1 is about, and the framework it comes with.
SUBJECT = "tensorflow"

ATTEMPT_COLUMNS = [
    "machine_label",
    "framework",
    "loader",
    "format",
    "kind",
    "workers",
    "page_cache",
    "process",
    "outcome",
    "stage",
    "error_type",
    "error_message",
    "traceback",
    "first_batch_s",
    "import_s",
    "samples_per_s",
    "tree_peak_rss_bytes",
    "cpu_s_per_1000_samples",
    "labels_ok",
    "pixel_stats_ok",
    "epoch_s",
    "settings",
    "busy",
    "other_cpus",
    "block_attempts",
    "run_id",
    "job_id",
]


def loader_of(framework: str) -> str:
    return LOADERS.get(framework, (framework, ()))[0]


def kind_of(fmt: str) -> str:
    """'common' for the shards every loader reads, 'own' for a loader's idiomatic format."""
    return "common" if fmt == COMMON else "own"


def _checks(job: dict) -> dict:
    """(check name, format) -> passed, of one job: any failure of a format's check marks the whole format."""
    out: dict = {}
    for c in job.get("checks", []):
        key = (c["name"], c.get("variant", ""))
        out[key] = out.get(key, True) and bool(c["passed"])
    return out


def attempt_rows(items) -> pd.DataFrame:
    """One row per pipeline process of stored input-pipeline jobs (`items`: (machine label, run id, job)); a job
    failed as a whole gives one row."""
    rows = []
    for machine, run_id, job in items:
        fw = job["framework"]
        base = {
            "machine_label": machine,
            "framework": fw,
            "loader": loader_of(fw),
            "page_cache": job["params"].get("page_cache", "warm"),
            "run_id": run_id,
            "job_id": job["job_id"],
        }
        if job["status"] != "ok":
            err = job.get("error") or {}
            for fmt in str(job["variant"]).split(","):
                rows.append(
                    {
                        **base,
                        "format": fmt,
                        "kind": kind_of(fmt),
                        "workers": np.nan,
                        "process": np.nan,
                        "outcome": "skipped" if job["status"] == "skipped" else "fails",
                        "stage": "job",
                        "error_type": err.get("type", ""),
                        "error_message": err.get("message", ""),
                        "traceback": err.get("traceback", ""),
                    }
                )
            continue
        checks = _checks(job)
        for a in job.get("pipelines", []):
            err = a.get("error") or {}
            steady = a.get("epoch_s", [])[1:]
            samples = (job.get("dataset") or {}).get("samples") or job["params"].get("samples")
            cpu = (
                a["steady_cpu_s"] / a["steady_samples"] * 1000
                if a.get("steady_samples") and a.get("steady_cpu_s") is not None
                else np.nan
            )
            fmt = a["format"]
            rows.append(
                {
                    **base,
                    "format": fmt,
                    "kind": kind_of(fmt),
                    "workers": a["workers"],
                    "page_cache": a.get("page_cache", base["page_cache"]),
                    "process": a["process"],
                    "outcome": a["outcome"],
                    "stage": a.get("stage", ""),
                    "error_type": err.get("type", ""),
                    "error_message": err.get("message", ""),
                    "traceback": err.get("traceback", ""),
                    "first_batch_s": a.get("first_batch_s", np.nan),
                    "import_s": a.get("import_s", np.nan),
                    "samples_per_s": samples / float(np.median(steady)) if steady and samples else np.nan,
                    "tree_peak_rss_bytes": a.get("peak_tree_rss_bytes", np.nan),
                    "cpu_s_per_1000_samples": cpu,
                    "labels_ok": checks.get(("labels per epoch", fmt), True),
                    "pixel_stats_ok": checks.get(("pixel statistics", fmt), True),
                    "epoch_s": steady,
                    "settings": a.get("settings") or {},
                    # An attempt stored without the flag (before pipelines were guarded): nothing says it was busy.
                    "busy": bool(a.get("busy_block", 0)),
                    "other_cpus": a.get("other_cpus", np.nan),
                    "block_attempts": a.get("block_attempts", np.nan),
                }
            )
    return pd.DataFrame(rows, columns=ATTEMPT_COLUMNS)


def usable(att: pd.DataFrame) -> pd.DataFrame:
    """Attempts that ran, with steady epochs, whose format passed every check (a loader that delivered other
    data is not timed against the others), measured on a quiet machine (`busy_attempts` lists the others)."""
    if att.empty:
        return att
    ok = (att["outcome"] == "ok") & att["labels_ok"].astype(bool) & att["pixel_stats_ok"].astype(bool)
    return att[ok & ~busy_mask(att) & att["epoch_s"].map(lambda e: isinstance(e, list) and len(e) > 0)]


def busy_mask(att: pd.DataFrame) -> pd.Series:
    """Which attempts ran while other programs took the CPUs, even when their process was run again."""
    return (att["outcome"] == "ok") & att["busy"].eq(True)


def per_process(rows: pd.DataFrame) -> dict:
    """{process id: steady epoch times} of one pipeline's attempts (the statistics' input)."""
    return {f"{r['run_id']}/{r['job_id']}/{int(r['process'])}": list(r["epoch_s"]) for _, r in rows.iterrows()}
