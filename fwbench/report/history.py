"""History of one timing over every stored run: per machine, by date and by framework version."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from fwbench.measure import stats


@dataclass(frozen=True)
class Selection:
    """Which timing to follow through the store's history."""

    framework: str = field(metadata={"help": "framework adapter name (torch, tensorflow, jax)"})
    workload: str = field(metadata={"help": "workload name (mlp, cnn, ...)"})
    variant: str = field(metadata={"help": "the framework's variant (eager, torch.compile, jax.jit, ...)"})
    phase: str = field(default="train", metadata={"help": "'train' (one optimizer step) or 'infer'"})
    batch: int | None = field(default=None, metadata={"help": "batch size; None takes the largest measured"})

    def label(self) -> str:
        return f"{self.framework} {self.variant}, {self.workload} {self.phase}"


def _started(run) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime.fromisoformat(run.manifest["started"]))


def _default_experiment() -> str:
    """The first experiment (in the book's order) that stores timing series: the one a history follows by default."""
    from fwbench.experiments import timed

    found = timed()
    return found[0] if found else ""


def history_table(report, sel: Selection, experiment: str | None = None) -> pd.DataFrame:
    """One row per (stored run, machine) that timed the selection: step time with its 95% interval over processes.

    Unlike the chapters, which show each cell's newest result, this reads every
    run, so a framework upgrade or a new machine appears as a new point. `experiment` defaults to the first
    experiment that stores timing series.
    """
    experiment = experiment or _default_experiment()
    rows = []
    for run in report.runs:
        per_process, version, device, batch = {}, "", "", sel.batch
        for job in run.jobs:
            if (
                job["status"] != "ok"
                or job["experiment"] != experiment
                or job["framework"] != sel.framework
                or job["workload"] != sel.workload
            ):
                continue
            entries = [
                e
                for e in job.get("samples", [])
                if e["phase"] == sel.phase
                and e["values"]
                and e.get("variant", job["variant"]) == sel.variant
                and e.get("replicate", 0) == 0
                and e.get("stable", True) is not False
                # Measured while other programs held the CPUs: the neighbours' speed, kept out as everywhere else.
                and e.get("busy") is not True
            ]
            if not entries:
                continue
            batch = sel.batch if sel.batch is not None else max(e["batch_size"] for e in entries)
            for e in entries:
                if e["batch_size"] == batch:
                    per_process[job["job_id"]] = e["values"]
            version, device = job.get("framework_version", ""), job["device"]
        if not per_process:
            continue
        # Over processes, as everywhere in the book: a run's steps are not independent samples of the machine.
        est, lo, hi = stats.cell_estimate(per_process)
        rows.append(
            {
                "machine": run.manifest["machine_label"],
                "started": _started(run),
                "run": run.run_id,
                "device": device,
                "framework version": version,
                "processes": len(per_process),
                "median_s": est,
                "ci_low_s": lo,
                "ci_high_s": hi,
                "batch": batch,
            }
        )
    cols = [
        "machine",
        "started",
        "run",
        "device",
        "framework version",
        "processes",
        "median_s",
        "ci_low_s",
        "ci_high_s",
        "batch",
    ]
    return pd.DataFrame(rows, columns=cols).sort_values(["machine", "started"]).reset_index(drop=True)


def default_selections(report, experiment: str | None = None) -> list[Selection]:
    """Each framework's eager mode and its compiled variants on the most measured workload (of `experiment`, by
    default the first that stores timing series)."""
    experiment = experiment or _default_experiment()
    jobs = [j for r in report.runs for j in r.jobs if j["experiment"] == experiment and j["status"] == "ok"]
    if not jobs:
        return []
    counts = pd.Series([j["workload"] for j in jobs]).value_counts()
    workload = counts.index[0]
    pairs = sorted(
        {
            (j["framework"], e.get("variant", j["variant"]))
            for j in jobs
            if j["workload"] == workload
            for e in j.get("samples", [])
        }
    )
    return [Selection(fw, workload, variant) for fw, variant in pairs]


def has_trend(tables: dict[str, pd.DataFrame]) -> bool:
    """Whether a chart over time would show anything a table does not: some machine timed some selection in two
    or more runs. With one run per machine each panel is a lone point, and the table says it all."""
    return any(not t.empty and t.groupby("machine")["run"].nunique().max() >= 2 for t in tables.values())
