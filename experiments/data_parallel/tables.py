"""Tables of the data-parallel experiment, read from the store: launches, correctness, step times, start-up, coverage."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fwbench.experiments.data_parallel.coverage import COVERAGE, RUN_HERE, SETUPS, WHERE
from fwbench.measure import stats
from fwbench.report.results import Report
from fwbench.report.sanitize import md

EXPERIMENT = "data_parallel"
FRAMEWORKS = ("torch", "tensorflow", "jax")
#: The comparisons of configurations a reader needs: (baseline, candidate, what it shows).
PAIRS = (
    ("1x2", "2x1", "two processes instead of one with two threads: the same two CPUs, plus the collectives"),
    ("1x1", "2x1", "two processes of one thread against one: what a second process on a second CPU buys"),
    ("1x1", "1x2", "a second thread in one process"),
)
LAUNCH_COLUMNS = [
    "machine_label",
    "framework",
    "framework_version",
    "workload",
    "config",
    "role",
    "process",
    "outcome",
    "error_type",
    "error_message",
    "stage",
    "wall_s",
    "leftovers",
    "api",
    "busy",
    "other_cpus",
    "block_attempts",
    "run_id",
    "job_id",
]


def _jobs(report: Report):
    return [(run, job) for run, job in report.experiment_jobs(EXPERIMENT) if job["status"] == "ok"]


def launches(report: Report) -> pd.DataFrame:
    """One row per stored launch: what ran, how it ended, and what was left behind."""
    rows = []
    for run, job in _jobs(report):
        for item in job.get("launches", []):
            err = item.get("error") or {}
            stage = err.get("stage", "")
            rows.append(
                {
                    "machine_label": run.manifest["machine_label"],
                    "framework": job["framework"],
                    "framework_version": job.get("framework_version", ""),
                    "workload": job["workload"],
                    "config": item["config"],
                    "role": item["role"],
                    "process": job.get("process", 0),
                    "outcome": item["outcome"],
                    "error_type": err.get("type", ""),
                    "error_message": err.get("message", ""),
                    "stage": stage if isinstance(stage, str) else "",
                    "wall_s": float(item.get("wall_s", math.nan)),
                    "leftovers": "; ".join(item.get("leftovers", [])),
                    "api": job.get("api", "") if isinstance(job.get("api", ""), str) else "",
                    # A launch stored without the flag (untimed, or from before launches were guarded): nothing
                    # says it was busy.
                    "busy": bool(item.get("busy_block", 0)),
                    "other_cpus": item.get("other_cpus", np.nan),
                    "block_attempts": item.get("block_attempts", np.nan),
                    "run_id": run.run_id,
                    "job_id": job["job_id"],
                }
            )
    return pd.DataFrame(rows, columns=LAUNCH_COLUMNS)


def busy_launches(report: Report) -> pd.DataFrame:
    """The timed launches whose step and start-up times are kept out because other programs took the CPUs while
    they ran, with how much (`other_cpus`) and how often the launch was run (`block_attempts`)."""
    df = launches(report)
    return df[df["busy"].astype(bool)].reset_index(drop=True)


def busy_note(report: Report) -> str:
    """The chapter's list of launches measured on a busy machine, or "" when there are none."""
    from fwbench.report.busy import busy_list, how_busy

    busy = busy_launches(report)
    items = [
        f"{md(r['machine_label'])}, {md(r['framework'])} {md(r['workload'])}, {md(r['config'])}, process "
        f"{int(r['process']) + 1}: " + how_busy(r["other_cpus"], r["block_attempts"])
        for _, r in busy.iterrows()
    ]
    return busy_list(items, "timed launch(es)", "the launch was run again", "their step and start-up times are")


def correctness(report: Report) -> pd.DataFrame:
    """Per machine, framework and workload: the known-answer all-reduce and the parameter check, over every stored
    process (a single failure anywhere shows)."""
    rows = {}
    for run, job in _jobs(report):
        key = (run.manifest["machine_label"], job["framework"], job["workload"])
        row = rows.setdefault(
            key,
            {
                "all_reduce_checks": 0,
                "all_reduce_exact": 0,
                "params_checks": 0,
                "params_match": 0,
                "params_max_rel_err": np.nan,
                "rtol": np.nan,
                "leftover_launches": 0,
                "launches": 0,
            },
        )
        for c in job.get("checks", []):
            if c["name"] == "all_reduce_known_answer":
                row["all_reduce_checks"] += 1
                row["all_reduce_exact"] += bool(c["passed"])
            elif c["name"] == "params_match_single_process":
                row["params_checks"] += 1
                row["params_match"] += bool(c["passed"])
                if c.get("value") is not None:
                    row["params_max_rel_err"] = np.nanmax([row["params_max_rel_err"], c["value"]])
                row["rtol"] = c.get("tolerance")
            elif c["name"] == "no_leftovers":
                row["launches"] += 1
                row["leftover_launches"] += not c["passed"]
    out = [{"machine_label": m, "framework": f, "workload": w, **v} for (m, f, w), v in rows.items()]
    df = pd.DataFrame(out)
    if df.empty:
        return df
    df["collectives"] = [
        "correct"
        if r["all_reduce_checks"]
        and r["all_reduce_exact"] == r["all_reduce_checks"]
        and r["params_checks"]
        and r["params_match"] == r["params_checks"]
        else (
            "wrong"
            if (r["all_reduce_exact"] < r["all_reduce_checks"] or r["params_match"] < r["params_checks"])
            else "not checked"
        )
        for _, r in df.iterrows()
    ]
    return df


def steps(report: Report) -> pd.DataFrame:
    """Step time per configuration: geometric mean of the per-process medians with a t interval over processes.
    Cells that failed a stored check and launches measured on a busy machine are not here (Report.samples leaves
    them out; `excluded` names them)."""
    rows = []
    for (machine, fw, device, workload, variant, phase, batch, digest), per in report.samples(EXPERIMENT).items():
        est, lo, hi = stats.cell_estimate(per)
        rows.append(
            {
                "machine_label": machine,
                "framework": fw,
                "workload": workload,
                "config": variant,
                "batch_size": batch,
                "params_digest": digest,
                "step_time_s": est,
                "ci_low_s": lo,
                "ci_high_s": hi,
                "processes": len(per),
                "throughput_per_s": batch / est,
            }
        )
    return pd.DataFrame(rows)


def comparisons(report: Report) -> pd.DataFrame:
    """Each pair of PAIRS per framework and cell: speedup of the candidate over the baseline (paired over the
    processes that measured both, interleaved), classified against the equivalence margin."""
    samples = report.samples(EXPERIMENT)
    rows = []
    for (machine, fw, device, workload, variant, phase, batch, digest), base in samples.items():
        for baseline, candidate, meaning in PAIRS:
            if variant != baseline:
                continue
            other = samples.get((machine, fw, device, workload, candidate, phase, batch, digest))
            if not other:
                continue
            c = stats.compare(base, other)
            rows.append(
                {
                    "machine_label": machine,
                    "framework": fw,
                    "workload": workload,
                    "batch_size": batch,
                    "baseline": baseline,
                    "candidate": candidate,
                    "meaning": meaning,
                    "speedup": c.ratio,
                    "speedup_ci_low": c.ci_low,
                    "speedup_ci_high": c.ci_high,
                    "n_baseline": c.n_baseline,
                    "n_candidate": c.n_candidate,
                    "paired": c.paired,
                    "verdict": c.verdict,
                }
            )
    return pd.DataFrame(rows)


STARTUP = ("group_init_s", "group_ready_s", "spawn_to_ready_s", "import_s")


def startup(report: Report) -> pd.DataFrame:
    """Time to a ready process group per framework (two-process launches): geometric mean over the stored launches
    with a t interval over them (each launch is a fresh pair of processes); launches measured on a busy machine
    are left out."""
    rec = report.records
    rec = rec[(rec["experiment"] == EXPERIMENT) & (rec["variant"] == "2x1") & rec["metric"].isin(STARTUP)]
    busy = busy_launches(report)
    busy = set(zip(busy["run_id"], busy["job_id"], busy["config"]))
    rec = rec[[k not in busy for k in zip(rec["run_id"], rec["job_id"], rec["variant"])]]
    rows = []
    for (machine, fw, workload, metric), g in rec.groupby(["machine_label", "framework", "workload", "metric"]):
        values = {str(i): [v] for i, v in enumerate(g["value"]) if v > 0}
        if not values:
            continue
        est, lo, hi = stats.cell_estimate(values)
        rows.append(
            {
                "machine_label": machine,
                "framework": fw,
                "workload": workload,
                "metric": metric,
                "seconds": est,
                "ci_low_s": lo,
                "ci_high_s": hi,
                "launches": len(values),
            }
        )
    return pd.DataFrame(rows)


def keras_fit(report: Report) -> pd.DataFrame:
    """Every stored attempt at Keras fit under MultiWorkerMirroredStrategy, with its error."""
    df = launches(report)
    return df[df["role"] == "keras_fit"].reset_index(drop=True)


def coverage(report: Report) -> pd.DataFrame:
    """The documentation table (coverage.COVERAGE), one row per setup and framework, with the status: *ran here*
    where a stored launch of the setup worked (and, for data parallel, its collectives checked correct), else
    *documented, needs more than one host* / *documented, not run here* / *absent*; a setup run here that failed
    reads *failed here*. A launch that failed on a busy machine counts neither way."""
    runs = launches(report)
    # Whether a setup runs here is no timing, but a neighbour can make a group miss its timeout: a busy launch that
    # failed shows nothing. One that worked still shows the setup works (load cannot make collectives right).
    runs = runs[~(runs["busy"].astype(bool) & (runs["outcome"] != "ok"))]
    right = correctness(report)
    rows = []
    for setup in SETUPS:
        for fw in FRAMEWORKS:
            documented, api, source, note = COVERAGE[(fw, setup)]
            status = (
                "absent"
                if not documented
                else "documented, needs more than one host"
                if WHERE.get(setup) == "several hosts"
                else "documented, not run here"
            )
            if setup in RUN_HERE and documented:
                role, config = RUN_HERE[setup]
                tried = runs[(runs["framework"] == fw) & (runs["role"] == role) & (runs["config"] == config)]
                if not tried.empty:
                    ok = bool((tried["outcome"] == "ok").all())
                    if setup == "data parallel":
                        checked = right[right["framework"] == fw] if not right.empty else right
                        ok = ok and not checked.empty and bool((checked["collectives"] == "correct").all())
                    status = "ran here" if ok else "failed here"
            rows.append(
                {
                    "setup": setup,
                    "framework": fw,
                    "status": status,
                    "api": api,
                    "source": source,
                    "note": note,
                    "where": WHERE.get(setup, "one host"),
                }
            )
    return pd.DataFrame(rows)


def documented_counts(cov: pd.DataFrame) -> dict[str, int]:
    """framework -> setups its documentation covers natively (ran here, failed here or documented)."""
    return {fw: int((cov[cov["framework"] == fw]["status"] != "absent").sum()) for fw in FRAMEWORKS}


def failures(report: Report) -> pd.DataFrame:
    """Launches that failed or hung, with their errors, and failed jobs of this experiment."""
    df = launches(report)
    return df[df["outcome"] != "ok"].reset_index(drop=True)


def what_is_timed(report: Report) -> pd.DataFrame:
    """Per framework and configuration, the API and the step as the launched processes described it."""
    rows = {}
    for run, job in _jobs(report):
        for item in job.get("launches", []):
            if item["role"] != "timed":
                continue
            rank = next(
                (r for r in item.get("ranks", []) if isinstance(r, dict) and isinstance(r.get("timed"), str)), None
            )
            if rank:
                rows[(job["framework"], item["config"])] = {
                    "framework": job["framework"],
                    "config": item["config"],
                    "API": rank.get("api", "") if item.get("world", 1) > 1 else "none: one process, no group",
                    "timed step": rank["timed"],
                    "batch per process": rank.get("local_batch"),
                }
    return pd.DataFrame(list(rows.values()))


def meaning(report: Report) -> list[str]:
    """The chapter's "what this means", one sentence per framework, every number from the store."""
    comp, right, start = comparisons(report), correctness(report), startup(report)
    fit = keras_fit(report)
    out = []
    for fw in FRAMEWORKS:
        parts = []
        r = right[right["framework"] == fw] if not right.empty else right
        if not r.empty:
            state = r["collectives"].iloc[0] if r["collectives"].nunique() == 1 else "mixed"
            parts.append(
                f"collectives checked **{md(state)}** ({int(r['all_reduce_exact'].sum())} of "
                f"{int(r['all_reduce_checks'].sum())} known-answer all-reduces exact, "
                f"{int(r['params_match'].sum())} of {int(r['params_checks'].sum())} parameter checks within "
                f"tolerance)"
            )
        s = start[(start["framework"] == fw) & (start["metric"] == "group_ready_s")] if not start.empty else start
        if not s.empty:
            row = s.iloc[0]
            parts.append(
                f"a ready two-process group in {row['seconds']:.2f} s after the start call "
                f"({_interval(row['ci_low_s'], row['ci_high_s'])}, {int(row['launches'])} launches)"
            )
        c = (
            comp[(comp["framework"] == fw) & (comp["baseline"] == "1x2") & (comp["candidate"] == "2x1")]
            if not comp.empty
            else comp
        )
        if not c.empty:
            row = c.iloc[0]
            parts.append(
                f"two processes of one thread step at {row['speedup']:.2f}x the speed of one process of "
                f"two threads ({_interval(row['speedup_ci_low'], row['speedup_ci_high'])}, "
                f"{int(row['n_baseline'])} processes: **{row['verdict']}**)"
            )
        f = fit[fit["framework"] == fw] if not fit.empty else fit
        if not f.empty:
            ok = int((f["outcome"] == "ok").sum())
            parts.append(
                f"Keras fit under the strategy worked in {ok} of {len(f)} attempts"
                + ("" if ok == len(f) else f" ({md(f['error_type'].iloc[-1])}: {md(f['error_message'].iloc[-1])})")
            )
        if parts:
            out.append(f"**{fw}**: " + "; ".join(parts) + ".")
    return out


def _interval(low: float, high: float) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no interval: too few processes"
    return f"95% CI {low:.2f}-{high:.2f}"
