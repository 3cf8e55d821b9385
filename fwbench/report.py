"""Read-only views of the store for the book's chapters: latest results, comparisons, machine and failure tables."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from fwbench import stats, tidy
from fwbench.store import Run, Store

#: A cell whose step-time CV exceeds this is marked noisy in the book.
NOISY_CV = 0.10


def cell_key(run: Run, job: dict) -> tuple:
    """What makes two jobs the same measurement (same cell, same process slot) on the same machine."""
    return (run.manifest["machine_id"], job["experiment"], job["framework"], job["device"], job["workload"],
            job["variant"], json.dumps(job["params"], sort_keys=True), job.get("process", 0))


@dataclass
class Report:
    """Everything a chapter needs, loaded once from the store."""

    runs: list[Run]
    problems: list[str] = field(default_factory=list)
    #: run_id -> the bundle it was imported from; runs measured into this store are absent.
    origins: dict = field(default_factory=dict)
    #: Derived tables, computed once: every verdict and chapter cell asks for the same bootstrapped ones.
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def _memoized(self, key: tuple, compute):
        if key not in self._memo:
            self._memo[key] = compute()
        value = self._memo[key]
        return value.copy() if isinstance(value, pd.DataFrame) else value

    @classmethod
    def load(cls, root=None) -> "Report":
        from fwbench.bundle import imported_runs

        store = Store(root)  # None: FWBENCH_STORE, else results/
        runs, problems = store.load(strict=False)
        distinct_labels(runs)
        return cls(runs=runs, problems=problems,
                   origins={rid: e.get("bundle", "?") for rid, e in imported_runs(store).items()})

    def origin(self, run_id: str) -> str:
        """Where a run's numbers were measured from this store's point of view."""
        bundle = self.origins.get(run_id)
        return f"imported from {bundle}" if bundle else "measured into this store"

    @cached_property
    def latest(self) -> list[tuple[Run, dict]]:
        """The newest stored result of each cell per machine (runs are ordered oldest first)."""
        newest = {}
        for run in self.runs:
            for job in run.jobs:
                newest[cell_key(run, job)] = (run, job)
        return list(newest.values())

    @cached_property
    def records(self) -> pd.DataFrame:
        """Tidy records of the latest results."""
        runs = {}
        for run, job in self.latest:
            runs.setdefault(run.run_id, Run(run.path, run.manifest, []))
            runs[run.run_id].jobs.append(job)
        return tidy.frame(list(runs.values()))

    def experiment_jobs(self, experiment: str) -> list[tuple[Run, dict]]:
        return [(r, j) for r, j in self.latest if j["experiment"] == experiment]

    def runs_used(self, experiment: str) -> list[str]:
        return sorted({r.run_id for r, _ in self.experiment_jobs(experiment)})

    def machines(self) -> pd.DataFrame:
        """One row per machine in the store, from the newest run's fingerprint."""
        latest_run = {}
        counts = {}
        for run in self.runs:
            mid = run.manifest["machine_id"]
            latest_run[mid] = run
            counts[mid] = counts.get(mid, 0) + 1
        rows = []
        for mid, run in latest_run.items():
            fp = run.manifest["fingerprint"]
            hw, pk = fp["hardware"], fp["packages"]
            gpus = ", ".join(f"{g['name']} (driver {g['driver']})" for g in hw.get("gpus", [])) or "none"
            rows.append({
                "machine": run.manifest["machine_label"], "machine id": mid, "source": self.origin(run.run_id),
                "CPU": hw["cpu_model"],
                "usable CPUs": hw["usable_cpus"], "physical cores": hw["physical_cores"],
                "RAM (GiB)": round((hw["memory_bytes"] or 0) / 2**30, 1), "GPU": gpus,
                "OS": fp["os"]["platform"], "Python": fp["python"]["version"],
                "torch": pk.get("torch", "-"), "tensorflow": pk.get("tensorflow-cpu", pk.get("tensorflow", "-")),
                "jax": pk.get("jax", "-"), "threads": ", ".join(str(t) for t in sorted(
                    {j["settings"]["threads"] for j in run.jobs if j.get("settings", {}).get("threads")})) or "-",
                "runs": counts[mid], "latest run": run.run_id,
                "fwbench commit": (fp["fwbench"]["commit"] or "")[:10] + (" (dirty)" if fp["fwbench"].get("dirty") else ""),
            })
        return pd.DataFrame(rows)

    def job_table(self, experiment: str) -> pd.DataFrame:
        """Status of every latest job of an experiment, with threads and cache settings."""
        rows = []
        for run, job in self.experiment_jobs(experiment):
            settings = job.get("settings", {})
            rows.append({"machine": run.manifest["machine_label"], "framework": job["framework"],
                         "version": job.get("framework_version", ""), "device": job["device"],
                         "workload": job["workload"], "variant": job["variant"], "status": job["status"],
                         "threads": settings.get("threads"), "compile cache": settings.get("compile_cache"),
                         "run": run.run_id})
        return pd.DataFrame(rows)

    def failures(self, experiment: str | None = None) -> pd.DataFrame:
        rows = []
        for run, job in self.latest:
            if job["status"] == "ok" or (experiment and job["experiment"] != experiment):
                continue
            rows.append({"machine": run.manifest["machine_label"], "experiment": job["experiment"],
                         "framework": job["framework"], "device": job["device"], "workload": job["workload"],
                         "variant": job["variant"], "status": job["status"], "error": job["error"]["type"],
                         "message": job["error"]["message"], "run": run.run_id})
        return pd.DataFrame(rows, columns=["machine", "experiment", "framework", "device", "workload",
                                           "variant", "status", "error", "message", "run"])

    def checks(self, experiment: str) -> pd.DataFrame:
        rows = []
        for run, job in self.experiment_jobs(experiment):
            for check in job.get("checks", []):
                rows.append({"machine": run.manifest["machine_label"], "framework": job["framework"],
                             "variant": job["variant"], "device": job["device"], "workload": job["workload"],
                             **check})
        return pd.DataFrame(rows)

    def checks_summary(self, experiment: str) -> pd.DataFrame:
        """One row per cell, one column per check: 'pass' or 'FAIL' with the measured value."""
        checks = self.checks(experiment)
        if checks.empty:
            return checks
        checks = checks.assign(result=[f"{'pass' if p else 'FAIL'} ({v:.2g})"
                                       for p, v in zip(checks["passed"], checks["value"])])
        keys = ["machine", "framework", "variant", "device", "workload"]
        table = checks.pivot_table(index=keys, columns="name", values="result", aggfunc="first").reset_index()
        table.columns.name = None
        return table

    def samples(self, experiment: str) -> dict[tuple, list[list[float]]]:
        """Raw steady-state samples, one list per process, keyed by
        (machine, framework, device, workload, variant, phase, batch)."""
        return self._memoized(("samples", experiment), lambda: self._samples(experiment))

    def _samples(self, experiment: str) -> dict[tuple, list[list[float]]]:
        out: dict[tuple, list[list[float]]] = {}
        for run, job in self.experiment_jobs(experiment):
            if job["status"] != "ok":
                continue
            for entry in job.get("samples", []):
                key = (run.manifest["machine_label"], job["framework"], job["device"], job["workload"],
                       job["variant"], entry["phase"], entry["batch_size"])
                out.setdefault(key, []).append(entry["values"])
        return out

    def metric_table(self, experiment: str) -> pd.DataFrame:
        """Per-process records, wide: one row per (machine, framework, ..., batch, run, job), metrics as columns."""
        df = self.records
        df = df[(df.experiment == experiment) & (df.status == "ok")]
        if df.empty:
            return pd.DataFrame()
        index = ["machine_id", "machine_label", "framework", "framework_version", "device", "workload", "phase",
                 "mode", "variant", "batch_size", "run_id", "job_id"]
        return df.pivot_table(index=index, columns="metric", values="value", aggfunc="first").reset_index()

    def cell_table(self, experiment: str = "eager_vs_graph") -> pd.DataFrame:
        """One row per measured cell, phase and batch, its processes pooled.

        Steady-state statistics come from all processes' samples together;
        `process_spread` is the range of the per-process medians relative to the
        pooled median (between-process noise). Cold and warm first calls are kept
        apart; shape-change cost is the median over processes.
        """
        return self._memoized(("cells", experiment), lambda: self._cell_table(experiment))

    def _cell_table(self, experiment: str) -> pd.DataFrame:
        from fwbench.workloads import WORKLOADS

        per_process = self.metric_table(experiment)
        if per_process.empty:
            return pd.DataFrame()
        samples = self.samples(experiment)
        keys = ["machine_label", "framework", "device", "workload", "variant", "phase", "batch_size"]
        rows = []
        for key, group in per_process.groupby(keys):
            def col(name, how):
                return getattr(group[name].dropna(), how)() if name in group else np.nan
            row = {**dict(zip(keys, key)), "framework_version": group["framework_version"].iloc[0],
                   "machine_id": group["machine_id"].iloc[0], "mode": group["mode"].iloc[0],
                   "runs": ", ".join(sorted(set(group["run_id"]))),
                   "first_call_cold_s": col("first_call_cold_s", "median"),
                   "first_call_warm_s": col("first_call_warm_s", "median"),
                   "shape_change_s": col("shape_change_s", "median"),
                   "peak_rss_bytes": col("peak_rss_bytes", "max"),
                   "peak_device_memory_bytes": col("peak_device_memory_bytes", "max")}
            per = samples.get(key)
            if per:
                pooled = stats.summarize(np.concatenate(per))
                medians = [float(np.median(p)) for p in per]
                spec = WORKLOADS.get(key[3])
                row.update(n_processes=len(per), step_time_median_s=pooled.median, step_time_ci_low_s=pooled.ci_low,
                           step_time_ci_high_s=pooled.ci_high, step_time_iqr_s=pooled.iqr, step_time_cv=pooled.cv,
                           n_repeats=pooled.n, process_spread=(max(medians) - min(medians)) / pooled.median,
                           throughput_per_s=key[6] / pooled.median,
                           gflops=(spec.flops_per_sample(key[5]) * key[6] / pooled.median / 1e9) if spec else np.nan)
            rows.append(row)
        return pd.DataFrame(rows)

    def pooled_samples(self, experiment: str) -> dict[tuple, np.ndarray]:
        return self._memoized(("pooled", experiment), lambda: {
            k: np.concatenate(v) for k, v in self.samples(experiment).items()})

    def comparisons(self, experiment: str = "eager_vs_graph") -> pd.DataFrame:
        """Each graph variant against its framework's eager mode in the same cell: speedup with CI, break-even."""
        return self._memoized(("comparisons", experiment), lambda: self._comparisons(experiment))

    def _comparisons(self, experiment: str) -> pd.DataFrame:
        cells = self.cell_table(experiment)
        if cells.empty or "step_time_median_s" not in cells:
            return pd.DataFrame()
        # Rows of a shape-change probe carry no steady state; only timed cells compare.
        cells = cells.dropna(subset=["step_time_median_s"])
        samples = self.pooled_samples(experiment)
        rows = []
        keys = ["machine_label", "framework", "device", "workload", "phase", "batch_size"]
        for cell, group in cells.groupby(keys):
            eager = group[group["mode"] == "eager"]
            if eager.empty:
                continue
            e = eager.iloc[0]
            for _, g in group[group["mode"] == "graph"].iterrows():
                s_e = samples[(*cell[:4], e["variant"], cell[4], cell[5])]
                s_g = samples[(*cell[:4], g["variant"], cell[4], cell[5])]
                ratio, lo, hi = stats.ratio_ci(s_e, s_g)
                row = {**dict(zip(keys, cell)), "variant": g["variant"], "machine_id": g["machine_id"],
                       "framework_version": g["framework_version"], "runs": g["runs"],
                       "eager_median_s": e["step_time_median_s"], "graph_median_s": g["step_time_median_s"],
                       "speedup": ratio, "speedup_ci_low": lo, "speedup_ci_high": hi,
                       "first_call_eager_s": e["first_call_cold_s"], "first_call_graph_s": g["first_call_cold_s"],
                       "first_call_graph_warm_s": g["first_call_warm_s"], "verdict": classify(lo, hi)}
                # Break-even from the cold first calls: what a fresh machine pays.
                row["break_even_steps"] = (stats.break_even_steps(e["first_call_cold_s"], e["step_time_median_s"],
                                                                  g["first_call_cold_s"], g["step_time_median_s"])
                                           if np.isfinite(g["first_call_cold_s"]) else np.nan)
                rows.append(row)
        return pd.DataFrame(rows)

    def cross_framework(self, baseline: tuple[str, str], candidates: list[tuple[str, str]],
                        experiment: str = "eager_vs_graph") -> pd.DataFrame:
        """Speedup of `baseline` (framework, variant) over each candidate, per shared cell: candidate time / baseline time."""
        samples = self.pooled_samples(experiment)
        rows = []
        for (machine, fw, device, workload, variant, phase, batch), base in samples.items():
            if (fw, variant) != baseline:
                continue
            for cand_fw, cand_variant in candidates:
                other = samples.get((machine, cand_fw, device, workload, cand_variant, phase, batch))
                if other is None:
                    continue
                ratio, lo, hi = stats.ratio_ci(other, base)
                rows.append({"machine_label": machine, "device": device, "workload": workload, "phase": phase,
                             "batch_size": batch, "baseline": f"{fw} {variant}",
                             "other": f"{cand_fw} {cand_variant}", "baseline_median_s": float(np.median(base)),
                             "other_median_s": float(np.median(other)), "speedup": ratio,
                             "speedup_ci_low": lo, "speedup_ci_high": hi, "verdict": classify(lo, hi)})
        return pd.DataFrame(rows)

    def loss_agreement(self, experiment: str = "eager_vs_graph") -> pd.DataFrame:
        """Loss after the recorded training steps, across frameworks and variants, against each workload's tolerance."""
        from fwbench.workloads import WORKLOADS

        df = self.records
        df = df[(df.experiment == experiment) & (df.status == "ok") & (df.metric == "loss_after_steps")]
        rows = []
        for (machine, device, workload, batch), g in df.groupby(["machine_label", "device", "workload", "batch_size"]):
            ref = float(g["value"].median())
            spread = float((g["value"] - ref).abs().max() / abs(ref))
            spec = WORKLOADS.get(workload)
            tol = getattr(spec, "loss_rtol_after_steps", np.nan)
            rows.append({"machine": machine, "device": device, "workload": workload, "batch": batch,
                         "frameworks x variants": g[["framework", "variant"]].drop_duplicates().shape[0],
                         "median loss": ref, "max relative deviation": spread, "tolerance": tol,
                         "agree": bool(spread <= tol) if np.isfinite(tol) else None})
        return pd.DataFrame(rows)


def distinct_labels(runs: list[Run]) -> None:
    """Give machines that share a label (host names like `vm` or `localhost` are common) distinct ones, in memory.

    Every chart and table groups by label; two machines under one label would be
    pooled into one. The label gets the machine id appended; the store is not changed.
    """
    ids_per_label: dict[str, set] = {}
    for run in runs:
        ids_per_label.setdefault(run.manifest["machine_label"], set()).add(run.manifest["machine_id"])
    for run in runs:
        label = run.manifest["machine_label"]
        if len(ids_per_label[label]) > 1:
            run.manifest["machine_label"] = f"{label} [{run.manifest['machine_id']}]"


def headline_batch(df: pd.DataFrame) -> pd.DataFrame:
    """Keep one batch size per (workload, phase): the training batch, also for inference where it was measured."""
    if df.empty:
        return df
    train_batch = df[df["phase"] == "train"].groupby("workload")["batch_size"].max().to_dict()
    keep = []
    for (workload, _), g in df.groupby(["workload", "phase"]):
        wanted = train_batch.get(workload)
        keep.append(g[g["batch_size"] == (wanted if wanted in set(g["batch_size"]) else g["batch_size"].max())])
    return pd.concat(keep)


def classify(ci_low: float, ci_high: float) -> str:
    """'faster' when the speedup's whole 95% CI is above 1, 'slower' when below, else 'no clear difference'."""
    if ci_low > 1.0:
        return "faster"
    if ci_high < 1.0:
        return "slower"
    return "no clear difference"


def escape(text) -> str:
    """HTML-escape a string from the store (error messages, host names) before it reaches a page."""
    return html.escape(str(text), quote=True)


def html_table(df: pd.DataFrame, floatfmt: str = "{:.4g}") -> str:
    """Render a DataFrame as an HTML table with every cell escaped."""
    return df.to_html(index=False, escape=True, na_rep="-", border=0, classes="fwbench-table",
                      float_format=lambda v: floatfmt.format(v))


def fmt_s(seconds: float) -> str:
    """A duration with a sensible unit."""
    if not np.isfinite(seconds):
        return "never"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"
