"""Tables of the input-pipeline experiment, read from the store: every pipeline attempt, one row per pipeline
(loader, format, workers) over its processes, and the comparisons claim P1 votes on."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fwbench.experiments.input_pipeline.attempts import (  # noqa: F401 (the chapter, plots and claims read them here)
    ATTEMPT_COLUMNS,
    SUBJECT,
    attempt_rows,
    busy_mask,
    kind_of,
    loader_of,
    per_process,
    usable,
)
from fwbench.measure import stats
from fwbench.report.results import Report

EXPERIMENT = "input_pipeline"


def attempts(report: Report) -> pd.DataFrame:
    """One row per pipeline process of the newest input-pipeline jobs; a job failed as a whole gives one row."""
    return attempt_rows(
        (run.manifest["machine_label"], run.run_id, job) for run, job in report.experiment_jobs(EXPERIMENT)
    )


PIPELINE_KEYS = ["machine_label", "framework", "loader", "format", "kind", "workers", "page_cache"]


def busy_attempts(report: Report) -> pd.DataFrame:
    """The pipeline processes kept out of every table, figure and verdict because other programs took the CPUs
    while they ran, with how much (`other_cpus`) and how often the process was run (`block_attempts`)."""
    att = attempts(report)
    return att[busy_mask(att)].reset_index(drop=True) if not att.empty else att


def busy_note(report: Report) -> str:
    """The chapter's list of pipeline processes measured on a busy machine, or "" when there are none."""
    from fwbench.report.busy import busy_list, how_busy
    from fwbench.report.sanitize import md

    busy = busy_attempts(report)
    items = [
        f"{md(r['machine_label'])}, {md(r['loader'])} reading {md(r['format'])}, {int(r['workers'])} workers, "
        f"{md(r['page_cache'])} page cache, process {int(r['process']) + 1}: "
        + how_busy(r["other_cpus"], r["block_attempts"])
        for _, r in busy.iterrows()
    ]
    return busy_list(items, "pipeline process(es)", "the process was run again", "they are")


def pipelines(report: Report) -> pd.DataFrame:
    """One row per pipeline (machine, loader, format, workers, page cache): samples/s as the samples per epoch over
    the geometric mean of the per-process median epoch times, with a 95% t interval over processes; the medians
    over processes of the time to first batch, the import and CPU per 1000 samples; the largest peak RSS; and how
    many processes ran, failed, were left out by a check, or were measured on a busy machine (left out too)."""
    att = attempts(report)
    cols = PIPELINE_KEYS + [
        "samples_per_s",
        "samples_per_s_ci_low",
        "samples_per_s_ci_high",
        "first_batch_s",
        "import_s",
        "tree_peak_rss_bytes",
        "cpu_s_per_1000_samples",
        "n_processes",
        "n_failed",
        "n_excluded",
        "n_busy",
        "settings",
    ]
    if att.empty:
        return pd.DataFrame(columns=cols)
    att = att[att["outcome"] != "skipped"].copy()
    att["workers"] = att["workers"].fillna(-1)
    good = usable(att)
    rows = []
    for key, g in att.groupby(PIPELINE_KEYS, sort=False):
        row = dict(zip(PIPELINE_KEYS, key))
        mine = good.loc[good.index.intersection(g.index)]
        busy = busy_mask(g)
        row.update(
            n_processes=len(mine),
            n_failed=int((g["outcome"] != "ok").sum()),
            n_excluded=int(((g["outcome"] == "ok") & ~busy & ~g.index.isin(mine.index)).sum()),
            n_busy=int(busy.sum()),
            settings=next((s for s in g["settings"] if isinstance(s, dict) and s), {}),
        )
        if not mine.empty:
            samples = float(mine["samples_per_s"].iloc[0] * np.median(mine["epoch_s"].iloc[0]))
            est, lo, hi = stats.cell_estimate(per_process(mine))
            row.update(
                samples_per_s=samples / est,
                samples_per_s_ci_low=samples / hi if hi > 0 else np.nan,
                samples_per_s_ci_high=samples / lo if lo > 0 else math.inf,
                first_batch_s=float(mine["first_batch_s"].median()),
                import_s=float(mine["import_s"].median()),
                tree_peak_rss_bytes=float(mine["tree_peak_rss_bytes"].max()),
                cpu_s_per_1000_samples=float(mine["cpu_s_per_1000_samples"].median()),
            )
        rows.append(row)
    out = pd.DataFrame(rows, columns=cols)
    out["workers"] = out["workers"].astype(int)
    return out


def comparisons(report: Report) -> pd.DataFrame:
    """tf.data against each other loader, per (machine, page cache, workers, format kind): speedup = the other's
    epoch time / tf.data's (above 1: tf.data delivers more samples per second), a Welch t interval over both
    loaders' processes (fwbench.measure.stats.compare), and its class against the equivalence margin. Kinds: the
    common shards (the same files: loaders alone), and each loader's own format (what a user of each would run)."""
    cols = [
        "machine_label",
        "page_cache",
        "workers",
        "kind",
        "baseline",
        "other",
        "baseline_format",
        "other_format",
        "speedup",
        "speedup_ci_low",
        "speedup_ci_high",
        "n_baseline",
        "n_candidate",
        "paired",
        "verdict",
        "note",
        "log_ratio",
        "se",
        "df",
    ]
    att = attempts(report)
    if att.empty:
        return pd.DataFrame(columns=cols)
    good = usable(att)
    rows = []
    for (machine, cache), g in att[att["outcome"] != "skipped"].groupby(["machine_label", "page_cache"]):
        levels = sorted({int(w) for w in g["workers"].dropna()})
        for workers in levels:
            for kind in ("common", "own"):
                here = g[(g["workers"] == workers) & (g["kind"] == kind)]
                tf_rows = here[here["framework"] == SUBJECT]
                for other in sorted(set(here["framework"]) - {SUBJECT}):
                    o_rows = here[here["framework"] == other]
                    row = {
                        "machine_label": machine,
                        "page_cache": cache,
                        "workers": workers,
                        "kind": kind,
                        "baseline": loader_of(SUBJECT),
                        "other": loader_of(other),
                        "baseline_format": ", ".join(sorted(set(tf_rows["format"]))),
                        "other_format": ", ".join(sorted(set(o_rows["format"]))),
                        "paired": False,
                    }
                    a, b = (
                        good.loc[good.index.intersection(o_rows.index)],
                        good.loc[good.index.intersection(tf_rows.index)],
                    )
                    if a.empty or b.empty:
                        missing = [loader_of(fw) for fw, x in ((SUBJECT, b), (other, a)) if x.empty]
                        rows.append(
                            {
                                **row,
                                "speedup": np.nan,
                                "speedup_ci_low": np.nan,
                                "speedup_ci_high": np.nan,
                                "n_baseline": len(b),
                                "n_candidate": len(a),
                                "verdict": "inconclusive",
                                "note": f"no usable process of {' or '.join(missing)} (failed, left out by a check, "
                                "or measured on a busy machine)",
                                "log_ratio": np.nan,
                                "se": np.inf,
                                "df": np.nan,
                            }
                        )
                        continue
                    c = stats.compare(per_process(a), per_process(b))
                    rows.append(
                        {
                            **row,
                            "speedup": c.ratio,
                            "speedup_ci_low": c.ci_low,
                            "speedup_ci_high": c.ci_high,
                            "n_baseline": c.n_candidate,
                            "n_candidate": c.n_baseline,
                            "verdict": c.verdict,
                            "note": "",
                            "log_ratio": c.log_ratio,
                            "se": c.se,
                            "df": c.df,
                        }
                    )
    return pd.DataFrame(rows, columns=cols)


def timed_table() -> pd.DataFrame:
    """What each loader is asked to do and what its clock holds: the chapter's "what is timed" table (from the
    hooks' settings, not from memory of them)."""
    rows = [
        (
            "read",
            "FixedLengthRecordDataset over the .npy shards (header skipped) / TFRecordDataset",
            "memory-mapped .npy shards, one row per item / one .npy file per item (np.load)",
            "memory-mapped .npy shards / ArrayRecordDataSource (one record per chunk)",
        ),
        (
            "decode",
            "tf.io.decode_raw (TFRecord: parse_single_example first)",
            "NumPy view of the row's bytes",
            "NumPy view of the record's bytes",
        ),
        (
            "crop and flip",
            "tf.image.random_crop, random_flip_left_right",
            "NumPy slices, offsets from torch's RNG",
            "NumPy slices, offsets from grain's per-element RNG",
        ),
        ("normalise", "TensorFlow ops, float32", "NumPy, float32 (shared code)", "NumPy, float32 (shared code)"),
        (
            "shuffle",
            "shuffle buffer of the whole dataset, reshuffled each epoch",
            "RandomSampler, seeded",
            "MapDataset.shuffle, seeded, reshuffled each epoch",
        ),
        (
            "batch",
            "batch (last partial batch kept)",
            "default collate (last partial batch kept)",
            "MapDataset.batch (last partial batch kept)",
        ),
        (
            "workers",
            "map threads (num_parallel_calls), private thread pool of that size, intra-op 1, autotune off",
            "worker processes (fork), persistent across epochs",
            "worker processes (mp_prefetch, spawn); read threads off",
        ),
        (
            "prefetch",
            "prefetch(depth x workers) at the end",
            "prefetch_factor = depth per worker",
            "per_worker_buffer_size = depth",
        ),
        ("caching", "none", "none", "none"),
        (
            "in the clock",
            "everything from asking for the stream to the last batch's labels as NumPy",
            "the same",
            "the same",
        ),
    ]
    return pd.DataFrame(rows, columns=["step", "tf.data (TensorFlow)", "DataLoader (PyTorch)", "grain (JAX)"])


def _fmt(v: float, digits: int = 3) -> str:
    from fwbench.report.results import plain_number

    return plain_number(v, digits)


def what_this_means(report: Report) -> str:
    """The chapter's reading of its own numbers, per machine and page cache, every figure from the store (Markdown,
    store strings escaped)."""
    from fwbench.report.sanitize import md

    pipes = pipelines(report)
    cmp = comparisons(report)
    if pipes.empty:
        return ""
    out = []
    for (machine, cache), g in pipes.groupby(["machine_label", "page_cache"]):
        g = g.dropna(subset=["samples_per_s"])
        if g.empty:
            continue
        lines = [f"**{md(machine)}, {md(cache)} page cache.**"]
        common = g[g["kind"] == "common"]
        for workers, w in common.groupby("workers"):
            best = w.sort_values("samples_per_s", ascending=False)
            c = cmp[
                (cmp["machine_label"] == machine)
                & (cmp["page_cache"] == cache)
                & (cmp["workers"] == workers)
                & (cmp["kind"] == "common")
            ]
            classes = "; ".join(f"tf.data vs {md(r['other'])}: {r['verdict']}" for _, r in c.iterrows())
            lines.append(
                f"- Common shards, {int(workers)} workers: "
                + ", ".join(f"{md(r['loader'])} {_fmt(r['samples_per_s'])}" for _, r in best.iterrows())
                + " samples/s"
                + (f" ({classes})." if classes else ".")
            )
        for loader, s in g[g["kind"] == "common"].groupby("loader"):
            s = s.sort_values("workers")
            if len(s) > 1 and s["samples_per_s"].iloc[0] > 0:
                lines.append(
                    f"- {md(loader)} from {int(s['workers'].iloc[0])} to {int(s['workers'].iloc[-1])} "
                    f"workers: {s['samples_per_s'].iloc[-1] / s['samples_per_s'].iloc[0]:.2f}x the samples/s, "
                    f"first batch {s['first_batch_s'].iloc[0]:.2f} s -> {s['first_batch_s'].iloc[-1]:.2f} s "
                    f"(no worker starts at {int(s['workers'].iloc[0])}), CPU per 1000 samples "
                    f"{_fmt(s['cpu_s_per_1000_samples'].iloc[0])} s -> "
                    f"{_fmt(s['cpu_s_per_1000_samples'].iloc[-1])} s, peak memory of the process tree "
                    f"{s['tree_peak_rss_bytes'].iloc[0] / 2**20:.0f} -> "
                    f"{s['tree_peak_rss_bytes'].iloc[-1] / 2**20:.0f} MiB."
                )
        own = g[g["kind"] == "own"]
        for loader, s in own.groupby("loader"):
            base = common[(common["loader"] == loader)].set_index("workers")["samples_per_s"]
            ratios = [
                f"{int(r['workers'])} workers {r['samples_per_s'] / base[r['workers']]:.2f}x"
                for _, r in s.sort_values("workers").iterrows()
                if r["workers"] in base.index
            ]
            if ratios:
                lines.append(
                    f"- {md(loader)} reading its own format ({md(s['format'].iloc[0])}) against the common "
                    f"shards: " + ", ".join(ratios) + " the samples/s."
                )
        out.append("\n".join(lines))
    return "\n\n".join(out)
