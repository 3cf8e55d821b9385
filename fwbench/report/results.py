"""Read-only views of the store for the book's chapters: latest results, comparisons, machine and failure tables."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from fwbench import frameworks
from fwbench.errors import StoreError
from fwbench.experiments import params_digest, part, registry
from fwbench.measure import stats
from fwbench.measure.machine_name import display_name
from fwbench.report import sanitize, tidy
from fwbench.store.replacement import is_current
from fwbench.store.store import Run, Store

#: A cell whose step-time CV exceeds this is marked noisy in the book.
NOISY_CV = 0.10
#: A process whose median step is this many times faster or slower than its siblings' median is flagged.
OUTLIER_FACTOR = 1.25


#: What identifies a series of samples: the cell, its phase and batch, and the digest of its identity parameters.
SAMPLE_KEYS = ("machine_label", "framework", "device", "workload", "variant", "phase", "batch_size", "params_digest")
#: The columns every comparison carries.
COMPARISON_COLUMNS = (
    "speedup",
    "speedup_ci_low",
    "speedup_ci_high",
    "n_baseline",
    "n_candidate",
    "paired",
    "verdict",
    "p_faster",
    "p_slower",
    "log_ratio",
    "se",
    "df",
)


def comparison_columns(c: stats.Comparison) -> dict:
    return {
        "speedup": c.ratio,
        "speedup_ci_low": c.ci_low,
        "speedup_ci_high": c.ci_high,
        "n_baseline": c.n_baseline,
        "n_candidate": c.n_candidate,
        "paired": c.paired,
        "verdict": c.verdict,
        # One-sided p-values beyond the margin: rules that ask "any of k" correct these within the group (Holm).
        "p_faster": c.p_beyond("faster"),
        "p_slower": c.p_beyond("slower"),
        # What a rerun is drawn from (fwbench.report.claims.reruns): the log ratio, its standard error and df.
        "log_ratio": c.log_ratio,
        "se": c.se,
        "df": c.df,
    }


def _like_for_like(workload: str, a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Whether two (framework, variant) may be compared on `workload`: an RNN only with the same loop strategy
    (unrolled against unrolled, loop construct against loop construct), so a verdict compares compilers."""
    from fwbench.workloads import WORKLOADS

    spec = WORKLOADS.get(workload)
    if spec is None or spec.family != "rnn":
        return True
    return frameworks.loop_kind(*a) == frameworks.loop_kind(*b)


def _precision(fp: dict, jobs: list[dict]) -> str:
    """The run's matmul precision policy and what each framework reported after applying it."""
    policy = fp.get("numerics", {}).get("matmul_precision")
    seen = {}
    for job in jobs:
        got = (job.get("framework_settings") or {}).get("matmul_precision")
        if got is not None:
            seen.setdefault(job["framework"], set()).add(str(got))
    reported = "; ".join(f"{fw} {', '.join(sorted(v))}" for fw, v in sorted(seen.items()))
    if policy is None:
        return reported or "not recorded"
    return f"{policy} ({reported})" if reported else str(policy)


def run_of(process_id: str) -> str:
    """The run a stored process belongs to (process ids are "<run id>/<job id>")."""
    return str(process_id).split("/", 1)[0]


def same_run(a: dict, b: dict) -> tuple[dict, dict, bool]:
    """Two sides of an unpaired comparison restricted to processes of one run, so that a day effect cannot read
    as a framework effect: the newest run that measured at least two processes on each side. Where none did
    (a cell mixes runs after a partial rerun), both sides whole, flagged mixed (the book says so beside it)."""
    runs_a, runs_b = {}, {}
    for p in a:
        runs_a.setdefault(run_of(p), []).append(p)
    for p in b:
        runs_b.setdefault(run_of(p), []).append(p)
    if len(set(runs_a) | set(runs_b)) <= 1:
        return a, b, False
    shared = [r for r in runs_a if r in runs_b and len(runs_a[r]) >= 2 and len(runs_b[r]) >= 2]
    if shared:
        newest = max(shared)  # run ids start with their UTC start time
        return {p: a[p] for p in runs_a[newest]}, {p: b[p] for p in runs_b[newest]}, False
    return a, b, True


def cell_key(run: Run, job: dict) -> tuple:
    """What makes two jobs the same measurement (same cell, same process slot) on the same machine."""
    return (
        run.manifest["machine_id"],
        job["experiment"],
        job["framework"],
        job["device"],
        job["workload"],
        job["variant"],
        json.dumps(job["params"], sort_keys=True),
        job.get("process", 0),
    )


@dataclass
class Report:
    """Everything a chapter needs, loaded once from the store."""

    runs: list[Run]
    problems: list[str] = field(default_factory=list)
    #: run_id -> the bundle it was imported from; runs measured into this store are absent.
    origins: dict = field(default_factory=dict)
    #: Keep series stored as unstable (not those measured on a busy machine) in the comparisons: the view that
    #: shows whether a verdict rests on the stability rule (replacement processes select on the series they judge).
    include_unstable: bool = False
    #: Derived tables, computed once: every verdict and chapter cell asks for the same bootstrapped ones.
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def with_unstable(self) -> "Report":
        """The same store with unstable series kept in (busy ones still out)."""

        def make():
            other = Report(runs=self.runs, problems=self.problems, origins=self.origins, include_unstable=True)
            other.__dict__["latest"] = self.latest  # the same newest results; only the sample filter differs
            return other

        # One view for every rule that asks (each timing claim does): its comparisons are computed once.
        return self.memoized(("with_unstable",), make)

    def unstable_share(self, experiment: str) -> tuple[int, int]:
        """(series stored as unstable or busy, timed series) over the latest ok jobs, A/A twins left out."""
        bad = total = 0
        for _, _, entry in self._series(experiment):
            if entry.get("replicate", 0) != 0 or not entry["values"]:
                continue
            total += 1
            bad += entry.get("stable", True) is False or entry.get("busy") is True
        return bad, total

    def memoized(self, key: tuple, compute):
        """`compute()`, once per report (and per key): derived tables every chapter cell and verdict asks for. An
        experiment's own views (its `views.py`) keep theirs here too, under a key starting with its name."""
        if key not in self._memo:
            self._memo[key] = compute()
        value = self._memo[key]
        return value.copy() if isinstance(value, pd.DataFrame) else value

    @classmethod
    def load(cls, root=None) -> "Report":
        from fwbench.store.bundle import imported_runs

        store = Store(root)  # None: FWBENCH_STORE, else results/
        runs, problems = store.load(strict=False)
        distinct_labels(runs)
        try:
            origins = imported_runs(store)
        except StoreError as exc:
            origins = {}
            problems.append(str(exc))
        return cls(runs=runs, problems=problems, origins={rid: e.get("bundle", "?") for rid, e in origins.items()})

    def origin(self, run_id: str) -> str:
        """Where a run's numbers were measured from this store's point of view."""
        bundle = self.origins.get(run_id)
        return f"imported from {bundle}" if bundle else "measured into this store"

    @cached_property
    def latest(self) -> list[tuple[Run, dict]]:
        """The newest stored result of each cell per machine (runs are ordered oldest first).

        A replacement process (fwbench.run.replace) counts only while every process it was added for is still
        the newest of its slot: once they are measured again, it belongs to a cell that no longer exists.
        """
        newest = {}
        for run in self.runs:
            for job in run.jobs:
                newest[cell_key(run, job)] = (run, job)
        current: dict[str, dict[str, str]] = {}
        for run, job in newest.values():
            current.setdefault(run.manifest["machine_id"], {})[job["job_id"]] = run.run_id
        return [
            (run, job) for run, job in newest.values() if is_current(job, current.get(run.manifest["machine_id"], {}))
        ]

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
            rows.append(
                {
                    "machine": run.manifest["machine_label"],
                    "machine id": mid,
                    "source": self.origin(run.run_id),
                    "CPU": hw["cpu_model"],
                    "usable CPUs": hw["usable_cpus"],
                    "physical cores": hw["physical_cores"],
                    "RAM (GiB)": round((hw["memory_bytes"] or 0) / 2**30, 1),
                    "GPU": gpus,
                    "OS": fp["os"]["platform"],
                    "Python": fp["python"]["version"],
                    "torch": pk.get("torch", "-"),
                    "tensorflow": pk.get("tensorflow-cpu", pk.get("tensorflow", "-")),
                    "jax": pk.get("jax", "-"),
                    "threads": ", ".join(
                        str(t)
                        for t in sorted(
                            {j["settings"]["threads"] for j in run.jobs if j.get("settings", {}).get("threads")}
                        )
                    )
                    or "-",
                    "CPU governor": fp.get("conditions", {}).get("cpu_governor", "-"),
                    "matmul precision": _precision(fp, run.jobs),
                    "runs": counts[mid],
                    "latest run": run.run_id,
                    "fwbench commit": (fp["fwbench"]["commit"] or "")[:10]
                    + (" (dirty)" if fp["fwbench"].get("dirty") else ""),
                }
            )
        return pd.DataFrame(rows)

    def job_table(self, experiment: str) -> pd.DataFrame:
        """Status of every latest job of an experiment, with threads and cache settings."""
        rows = []
        for run, job in self.experiment_jobs(experiment):
            settings = job.get("settings", {})
            rows.append(
                {
                    "machine": run.manifest["machine_label"],
                    "framework": job["framework"],
                    "version": job.get("framework_version", ""),
                    "device": job["device"],
                    "workload": job["workload"],
                    "variant": job["variant"],
                    "status": job["status"],
                    "threads": settings.get("threads"),
                    "OS threads": settings.get("os_threads"),
                    "compile cache": settings.get("compile_cache"),
                    "run": run.run_id,
                }
            )
        return pd.DataFrame(rows)

    def status_counts(self) -> dict:
        """What the book shows: the newest result of each cell, by status (older results of a cell are kept in
        the store but superseded), plus how many runs hold them."""
        statuses = [job["status"] for _, job in self.latest]
        return {
            "runs": len(self.runs),
            "results": len(statuses),
            "ok": statuses.count("ok"),
            "failed": statuses.count("failed"),
            "skipped": statuses.count("skipped"),
            "machines": len({run.manifest["machine_id"] for run in self.runs}),
        }

    def failures(self, experiment: str | None = None) -> pd.DataFrame:
        rows = []
        for run, job in self.latest:
            if job["status"] == "ok" or (experiment and job["experiment"] != experiment):
                continue
            rows.append(
                {
                    "machine": run.manifest["machine_label"],
                    "experiment": job["experiment"],
                    "framework": job["framework"],
                    "device": job["device"],
                    "workload": job["workload"],
                    "variant": job["variant"],
                    "status": job["status"],
                    "error": job["error"]["type"],
                    "message": job["error"]["message"],
                    "run": run.run_id,
                }
            )
        return pd.DataFrame(
            rows,
            columns=[
                "machine",
                "experiment",
                "framework",
                "device",
                "workload",
                "variant",
                "status",
                "error",
                "message",
                "run",
            ],
        )

    def checks(self, experiment: str) -> pd.DataFrame:
        rows = []
        for run, job in self.experiment_jobs(experiment):
            for check in job.get("checks", []):
                if check.get("replicate", 0):
                    continue  # the A/A twin's checks: the same code as its variant's
                rows.append(
                    {
                        "machine": run.manifest["machine_label"],
                        "framework": job["framework"],
                        "device": job["device"],
                        "workload": job["workload"],
                        **check,
                        "variant": check.get("variant", job["variant"]),
                    }
                )
        return pd.DataFrame(rows)

    def checks_summary(self, experiment: str) -> pd.DataFrame:
        """One row per cell, one column per check: 'pass' or 'FAIL' with the measured value."""
        checks = self.checks(experiment)
        if checks.empty:
            return checks
        checks = checks.assign(
            result=[
                f"{'pass' if p else 'FAIL'} ({plain_number(v, 2)})" for p, v in zip(checks["passed"], checks["value"])
            ]
        )
        keys = ["machine", "framework", "variant", "device", "workload"]
        table = checks.pivot_table(index=keys, columns="name", values="result", aggfunc="first").reset_index()
        table.columns.name = None
        return table

    def samples(self, experiment: str) -> dict[tuple, dict[str, list[float]]]:
        """Steady-state samples of every comparable cell, one series per process, keyed by
        (machine, framework, device, workload, variant, phase, batch, params digest) -> {process id: values}.

        Left out, and listed by `excluded`: A/A twins (see `aa_controls`), series stored as unstable, and
        cells that failed a correctness check.
        """
        return self.memoized(("samples", experiment), lambda: self._samples(experiment))[0]

    def excluded(self, experiment: str) -> pd.DataFrame:
        """Cells and series kept out of every comparison and verdict, with the reason."""
        return self.memoized(("samples", experiment), lambda: self._samples(experiment))[1].copy()

    def _series(self, experiment: str):
        """(key, process id, sample entry) of every stored series of the latest ok jobs."""
        for run, job in self.experiment_jobs(experiment):
            if job["status"] != "ok":
                continue
            digest = params_digest(job)
            for entry in job.get("samples", []):
                key = (
                    run.manifest["machine_label"],
                    job["framework"],
                    job["device"],
                    job["workload"],
                    entry.get("variant", job["variant"]),
                    entry["phase"],
                    entry["batch_size"],
                    digest,
                )
                yield key, f"{run.run_id}/{job['job_id']}", entry

    def _samples(self, experiment: str):
        failed = self._failed_checks(experiment)
        out: dict[tuple, dict[str, list[float]]] = {}
        excluded = []
        for key, pid, entry in self._series(experiment):
            if entry.get("replicate", 0) != 0 or not entry["values"]:
                continue
            reason = failed.get((key[0], key[1], key[2], key[3], key[4], key[7]))
            if reason:
                excluded.append({**dict(zip(SAMPLE_KEYS, key)), "process": pid, "reason": reason})
                continue
            if entry.get("busy") is True or (entry.get("stable", True) is False and not self.include_unstable):
                # A series measured while other work held the CPUs measured the neighbours: it never votes.
                what = "busy machine" if entry.get("busy") is True else "unstable series"
                excluded.append(
                    {
                        **dict(zip(SAMPLE_KEYS, key)),
                        "process": pid,
                        "reason": f"{what}: {entry.get('problem', '') or 'disturbed blocks kept past the bound'}",
                    }
                )
                continue
            out.setdefault(key, {})[pid] = entry["values"]
        return out, pd.DataFrame(excluded, columns=[*SAMPLE_KEYS, "process", "reason"])

    def _failed_checks(self, experiment: str) -> dict[tuple, str]:
        """(machine, framework, device, workload, variant, digest) -> the checks that cell failed."""
        failed: dict[tuple, set] = {}
        for run, job in self.experiment_jobs(experiment):
            if job["status"] != "ok":
                continue
            for c in job.get("checks", []):
                if not c.get("passed", True) and c.get("replicate", 0) == 0:
                    key = (
                        run.manifest["machine_label"],
                        job["framework"],
                        job["device"],
                        job["workload"],
                        c.get("variant", job["variant"]),
                        params_digest(job),
                    )
                    failed.setdefault(key, set()).add(c["name"])
        # Checks across jobs that only the experiment knows (its views.py `failed_cells`), e.g. a loss that
        # disagrees with the other frameworks': kept out like a cell whose own check failed.
        views = part(experiment, "views") if experiment in registry() else None
        for key, names in (views.failed_cells(self) if hasattr(views, "failed_cells") else {}).items():
            failed.setdefault(key, set()).update(names)
        return {k: "failed check: " + ", ".join(sorted(v)) for k, v in failed.items()}

    def metric_table(self, experiment: str) -> pd.DataFrame:
        """Per-process records, wide: one row per (machine, framework, ..., batch, run, job), metrics as columns."""
        df = self.records
        df = df[(df.experiment == experiment) & (df.status == "ok")]
        if df.empty:
            return pd.DataFrame()
        index = [
            "machine_id",
            "machine_label",
            "framework",
            "framework_version",
            "device",
            "workload",
            "phase",
            "mode",
            "variant",
            "batch_size",
            "params_digest",
            "run_id",
            "job_id",
        ]
        return df.pivot_table(index=index, columns="metric", values="value", aggfunc="first").reset_index()

    def cell_table(self, experiment: str) -> pd.DataFrame:
        """One row per measured cell, phase and batch, from its processes.

        The step time is the geometric mean of the per-process medians with a t interval over processes
        (so between-process noise is in it); `process_spread` is the range of the per-process medians
        relative to it. Cold and warm first calls are kept apart; shape-change cost is the median over
        processes. Cells left out of comparisons (`excluded`) keep their first calls but no step time.
        """
        return self.memoized(("cells", experiment), lambda: self._cell_table(experiment))

    def _cell_table(self, experiment: str) -> pd.DataFrame:
        from fwbench.workloads import WORKLOADS

        per_process = self.metric_table(experiment)
        if per_process.empty:
            return pd.DataFrame()
        samples = self.samples(experiment)
        keys = list(SAMPLE_KEYS)
        rows = []
        for key, group in per_process.groupby(
            ["machine_label", "framework", "device", "workload", "variant", "phase", "batch_size", "params_digest"]
        ):

            def col(name, how):
                return getattr(group[name].dropna(), how)() if name in group else np.nan

            row = {
                **dict(zip(keys, key)),
                "framework_version": group["framework_version"].iloc[0],
                "machine_id": group["machine_id"].iloc[0],
                "mode": group["mode"].iloc[0],
                "runs": ", ".join(sorted(set(group["run_id"]))),
                "first_call_cold_s": col("first_call_cold_s", "median"),
                "first_call_warm_s": col("first_call_warm_s", "median"),
                "shape_change_s": col("shape_change_s", "median"),
                "shape_change_automatic_s": col("shape_change_automatic_s", "median"),
                "warmup_steps": col("warmup_steps", "median"),
                "peak_rss_bytes": col("peak_rss_bytes", "max"),
                "peak_device_memory_bytes": col("peak_device_memory_bytes", "max"),
            }
            per = samples.get(key)
            if per:
                est, lo, hi = stats.cell_estimate(per)
                medians = [float(np.median(p)) for p in per.values()]
                spec = WORKLOADS.get(key[3])
                row.update(
                    n_processes=len(per),
                    step_time_median_s=est,
                    step_time_ci_low_s=lo,
                    step_time_ci_high_s=hi,
                    n_repeats=int(sum(len(p) for p in per.values())),
                    step_time_cv=float(
                        np.mean([np.std(p, ddof=1) / np.mean(p) for p in per.values() if len(p) > 1] or [np.nan])
                    ),
                    process_spread=(max(medians) - min(medians)) / est,
                    throughput_per_s=key[6] / est,
                    gflops=(spec.flops_per_sample(key[5]) * key[6] / est / 1e9) if spec else np.nan,
                )
            rows.append(row)
        return pd.DataFrame(rows)

    def cross_framework(
        self, experiment: str, baseline: tuple[str, str], candidates: list[tuple[str, str]]
    ) -> pd.DataFrame:
        """Speedup of `baseline` (framework, variant) over each candidate, per shared cell: candidate time / baseline time."""
        samples = self.samples(experiment)
        rows = []
        for (machine, fw, device, workload, variant, phase, batch, digest), base in samples.items():
            if (fw, variant) != baseline:
                continue
            for cand_fw, cand_variant in candidates:
                other = samples.get((machine, cand_fw, device, workload, cand_variant, phase, batch, digest))
                if other is None or not _like_for_like(workload, (fw, variant), (cand_fw, cand_variant)):
                    continue
                b, o, mixed = same_run(base, other)
                c = stats.compare(o, b)
                rows.append(
                    {
                        "machine_label": machine,
                        "device": device,
                        "workload": workload,
                        "phase": phase,
                        "batch_size": batch,
                        "params_digest": digest,
                        "baseline": f"{fw} {variant}",
                        "other": f"{cand_fw} {cand_variant}",
                        "baseline_median_s": stats.cell_estimate(b)[0],
                        "other_median_s": stats.cell_estimate(o)[0],
                        **comparison_columns(c),
                        "mixed_runs": mixed,
                    }
                )
        return pd.DataFrame(rows)

    def aa_controls(self, experiment: str) -> pd.DataFrame:
        """The harness's own false positives: identical alternatives compared by the code that compares real ones.

        *in-process twin*: a variant against its twin measured interleaved in the same processes (the
        paired comparison behind E1, E4, E6). *between processes*: a cell's processes split in two
        halves by position (the unpaired comparison behind E2, E3, E5); needs four or more processes.
        """
        return self.memoized(("aa", experiment), lambda: self._aa_controls(experiment))

    def _aa_controls(self, experiment: str) -> pd.DataFrame:
        twins: dict[tuple, dict[int, dict]] = {}
        for key, pid, entry in self._series(experiment):
            if entry["values"] and entry.get("stable", True) is not False:
                twins.setdefault(key, {}).setdefault(entry.get("replicate", 0), {})[pid] = entry["values"]
        rows = []
        for key, reps in twins.items():
            if 1 in reps and 0 in reps:
                a = {p: v for p, v in reps[0].items() if p in reps[1]}
                if len(a) >= 2:
                    rows.append(
                        {
                            **dict(zip(SAMPLE_KEYS, key)),
                            "kind": "in-process twin",
                            **comparison_columns(stats.compare(a, reps[1])),
                        }
                    )
        for key, per in self.samples(experiment).items():
            if len(per) >= 4:
                ids = sorted(per)
                first = {p: per[p] for p in ids[0::2]}
                second = {p: per[p] for p in ids[1::2]}
                rows.append(
                    {
                        **dict(zip(SAMPLE_KEYS, key)),
                        "kind": "between processes",
                        **comparison_columns(stats.compare(first, second)),
                    }
                )
        return pd.DataFrame(rows, columns=[*SAMPLE_KEYS, "kind", *COMPARISON_COLUMNS])

    def outlier_processes(self, experiment: str) -> pd.DataFrame:
        """Processes far from their siblings: a median step more than OUTLIER_FACTOR away from the median of the
        other processes' medians of the same series (three or more processes). Flagged and shown, never dropped:
        dropping them would select on the values compared."""
        rows = []
        for key, per in self.samples(experiment).items():
            if len(per) < 3:
                continue
            logs = {p: float(np.log(np.median(v))) for p, v in per.items()}
            for p, own in logs.items():
                siblings = float(np.median([x for q, x in logs.items() if q != p]))
                factor = float(np.exp(own - siblings))
                if factor > OUTLIER_FACTOR or factor < 1 / OUTLIER_FACTOR:
                    rows.append({**dict(zip(SAMPLE_KEYS, key)), "process": p, "times_siblings": factor})
        return pd.DataFrame(rows, columns=[*SAMPLE_KEYS, "process", "times_siblings"])

    def false_positive_rates(self, experiment: str) -> pd.DataFrame:
        """Per machine and kind of A/A control: how often identical alternatives were called faster or slower."""
        aa = self.aa_controls(experiment)
        rows = []
        for (machine, kind), g in aa.groupby(["machine_label", "kind"]):
            differ = g["verdict"].isin(["faster", "slower"])
            excludes_one = (g["speedup_ci_low"] > 1) | (g["speedup_ci_high"] < 1)
            rows.append(
                {
                    "machine_label": machine,
                    "kind": kind,
                    "controls": len(g),
                    "false_positives": int(differ.sum()),
                    "false_positive_rate": float(differ.mean()),
                    "equivalent": int((g["verdict"] == "equivalent").sum()),
                    "inconclusive": int((g["verdict"] == "inconclusive").sum()),
                    "intervals_excluding_1": float(excludes_one.mean()),
                }
            )
        return pd.DataFrame(
            rows,
            columns=[
                "machine_label",
                "kind",
                "controls",
                "false_positives",
                "false_positive_rate",
                "equivalent",
                "inconclusive",
                "intervals_excluding_1",
            ],
        )


def distinct_labels(runs: list[Run]) -> None:
    """Name each run's machine for the book, in memory (the store is not changed): a chosen label, else one
    built from its hardware ("H100 80GB, 16 CPU Intel Xeon"), never a bare host name like `vm`.

    Every chart and table groups by label; two machines under one name would be
    pooled into one, so a shared name gets the machine id appended. One machine measured under several profiles
    (a quick first look beside the full profile's reference) would pool a profile's small models and short budgets
    with the other's: each profile's runs get their own label, the profile named in it ("... (full profile)").
    """
    for run in runs:
        run.manifest["machine_label"] = display_name(run.manifest)
    _split_shared_labels(runs, lambda m: m["machine_id"], "{label} [{part}]")
    _split_shared_labels(runs, profile_name, "{label} ({part} profile)")


def _split_shared_labels(runs: list[Run], part, form: str) -> None:
    """Where runs under one label differ in `part(manifest)`, each gets `form` with its own part in its label."""
    parts: dict[str, set] = {}
    for run in runs:
        parts.setdefault(run.manifest["machine_label"], set()).add(part(run.manifest))
    for run in runs:
        label = run.manifest["machine_label"]
        if len(parts[label]) > 1:
            run.manifest["machine_label"] = form.format(label=label, part=part(run.manifest))


def profile_name(manifest: dict) -> str:
    """The name of the profile a run measured ("?" for a run stored without one; the manifest is validated on read)."""
    return str(manifest["profile"].get("name") or "?")


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


def escape(text) -> str:
    """HTML-escape a string from the store (error messages, host names) before it reaches a page."""
    return sanitize.html(text)


def plain_number(value: float, digits: int = 4) -> str:
    """A float as a reader writes it: `digits` significant digits, thousands separated, never e-notation."""
    if not np.isfinite(value):
        return "-" if value != value else ("unbounded" if value > 0 else "-unbounded")
    if value == 0:
        return "0"
    magnitude = int(np.floor(np.log10(abs(value))))
    if magnitude >= digits - 1:
        return f"{value:,.0f}"
    return f"{value:.{max(digits - 1 - magnitude, 0)}f}".rstrip("0").rstrip(".") if magnitude > -7 else "≈0"


_TEXT = re.compile(r">([^<>]+)<")
_LONG = re.compile(r"[^\s<>]{13,}")


def _break_points(html: str) -> str:
    """Let long tokens (ids, variant lists, dotted names) wrap after their punctuation, so a table fits its column
    without breaking words like "TensorFlow" in the middle, and anything still longer every 24 characters; <wbr>
    adds no characters to what a reader copies."""

    def token(m):
        text = re.sub(r"([_./,+-])(?=[^\s])", r"\1<wbr>", m.group(0))
        # What still runs on (a hash, a row of ^ under a traceback line) may break anywhere, never inside an entity.
        return re.sub(r"[^\s<>&;]{24}(?=[^\s<>&;])", r"\g<0><wbr>", text)

    return _TEXT.sub(lambda m: ">" + _LONG.sub(token, m.group(1)) + "<", html)


#: Tables with more columns than this show the first ones and keep all of them behind "all columns".
MAX_COLUMNS = 9


def html_table(df: pd.DataFrame, floatfmt: str | None = None, key: list[str] | None = None) -> str:
    """Render a DataFrame as an HTML table with every cell escaped, headers in words (no underscores) and numbers
    without e-notation. A table wider than MAX_COLUMNS (or with `key` columns named) shows those columns and keeps
    the whole table behind an "all columns" toggle, where it may scroll sideways."""

    def fmt(v):
        text = floatfmt.format(v) if floatfmt and np.isfinite(v) else plain_number(v)
        return plain_number(v) if "e" in text.lower() and np.isfinite(v) else text  # a format's e-notation too

    def render(frame, classes):
        frame = frame.rename(columns=lambda c: str(c).replace("_", " ") if isinstance(c, str) else c)
        for column in frame.columns[frame.dtypes == object]:  # None in text columns reads as a gap, not "None"
            frame[column] = frame[column].map(lambda v: "-" if v is None else v)
        return _break_points(
            frame.to_html(index=False, escape=True, na_rep="-", border=0, classes=classes, float_format=fmt)
        )

    if key is None and df.shape[1] > MAX_COLUMNS:
        key = list(df.columns[:MAX_COLUMNS])
    if key is None or list(key) == list(df.columns):
        return render(df, "fwbench-table")
    return (
        render(df[key], "fwbench-table") + f"<details class='fwbench-scrolls'><summary>all {df.shape[1]} "
        f"columns</summary>{render(df, 'fwbench-table')}</details>"
    )


def failure_table(fail: pd.DataFrame) -> str:
    """`Report.failures` as a chapter shows it: who failed and why up front, the run and the rest behind the toggle."""
    return html_table(fail, key=["machine", "framework", "variant", "workload", "error", "message"])


def compact_table(df: pd.DataFrame, cols: list[str], floatfmt: str | None = None) -> str:
    """`html_table` of the columns that say something: the machine only when there are several, and no column
    that is empty throughout."""
    cols = [c for c in cols if c != "machine_label" or df["machine_label"].nunique() > 1]
    cols = [c for c in cols if df[c].replace("", None).notna().any()]
    return html_table(df[cols], floatfmt=floatfmt)


def break_even_text(steps: float) -> str:
    """A break-even step count in words where it is not a number: compiled steps that are not faster never pay the
    compile back, and a missing first call or step time leaves nothing to compute."""
    if steps != steps:
        return "not computable (a first call or step time is missing)"
    if not np.isfinite(steps):
        return "does not pay off (compiled steps are not faster)"
    return f"{steps:,.0f} steps"


def ms_text(seconds: float) -> str:
    """Seconds as milliseconds to three significant digits, never in e-notation; '-' where nothing was measured."""
    return "-" if seconds != seconds else f"{plain_number(seconds * 1e3, 3)} ms"


def interval_ms(low: float, high: float) -> str:
    """A 95% interval of a time in milliseconds, or in words where there is none (one process)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no interval (one process)"
    return f"{plain_number(low * 1e3, 3)} to {plain_number(high * 1e3, 3)} ms"


def fmt_s(seconds: float) -> str:
    """A duration with a sensible unit; in words where there is none (never NaN, infinity or e-notation)."""
    if seconds != seconds:
        return "not measured"
    if not np.isfinite(seconds):
        return "no finite time"
    # Thresholds at what rounds to the next unit, so 0.99999 ms reads "1.00 ms", not "1000.0 µs".
    if seconds >= 0.995:
        return f"{seconds:.2f} s"
    if seconds >= 0.99995e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"
