"""How sure the timing verdicts are: vote counts, false-positive rate (allowing a run's shift), exclusions, variances.

Each function reads one experiment's timed series (`experiment`); what only one experiment compares (eager-vs-graph's
cells behind E1-E6) is in that experiment's `views.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fwbench.measure import stats


def verdict_tally(report, experiment: str | None = None) -> pd.DataFrame:
    """One row per claim `experiment` settles (every claim, without one): its verdict, how many cells supported,
    contradicted or left it open, and the rerun check: how many simulated reruns agree, and the rule's own verdict
    where only a weaker one (or none) reproduced."""
    from fwbench.report.claims import ROLES, load_claims, verdict_for

    rows = []
    for claim in load_claims():
        if experiment is not None and claim.experiment != experiment:
            continue
        v = verdict_for(claim, report)
        roles = v.cells["role"] if "role" in v.cells else pd.Series(dtype=str)
        rows.append(
            {
                "claim": claim.id,
                "verdict": v.verdict,
                **{r: int((roles == r).sum()) for r in ROLES},
                "cells": len(roles),
                "reruns agreeing": f"{v.reruns[0]} of {v.reruns[1]}" if v.reruns else "",
                "rule's verdict": v.rule_verdict if v.rule_verdict and v.rule_verdict != v.verdict else "",
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "claim",
            "verdict",
            "supports",
            "contradicts",
            "inconclusive",
            "cells",
            "reruns agreeing",
            "rule's verdict",
        ],
    )


def _aa_series(report, experiment: str) -> dict:
    """Every series a verdict could read, keyed (*SAMPLE_KEYS, 0), and the A/A twins (measured alike, one more
    independent series each), keyed (*SAMPLE_KEYS, 1)."""
    out = {(*key, 0): per for key, per in report.samples(experiment).items()}
    for key, pid, entry in report._series(experiment):
        if (
            entry.get("replicate", 0) == 1
            and entry["values"]
            and entry.get("stable", True) is not False
            and entry.get("busy") is not True
        ):
            out.setdefault((*key, 1), {})[pid] = entry["values"]
    return out


def between_runs(first, second, experiment: str) -> pd.DataFrame:
    """The full-size A/A control: every cell measured by two independent runs (each with its planned processes,
    replacements, stability and busy rules) compared with the unpaired rule the cross-framework verdicts use.
    Nothing differs but the day, so every faster/slower call is a false positive of the whole pipeline."""
    from fwbench.report.results import COMPARISON_COLUMNS, SAMPLE_KEYS, comparison_columns

    a, b = _aa_series(first, experiment), _aa_series(second, experiment)
    rows = [
        {**dict(zip(SAMPLE_KEYS, key[:-1])), "replicate": key[-1], **comparison_columns(stats.compare(a[key], b[key]))}
        for key in sorted(a.keys() & b.keys(), key=str)
    ]
    return pd.DataFrame(rows, columns=[*SAMPLE_KEYS, "replicate", *COMPARISON_COLUMNS])


# ---- the shift of a whole run ------------------------------------------------------------------------------
#
# Two runs on different days can differ as a whole (the machine's clock, memory placement, what a framework's
# runtime found on start-up): every cell of a framework then moves together. Within a run every verdict compares
# alternatives measured interleaved, so such a shift cancels there; between runs (this A/A control, the changes
# page) it reads as a difference of every cell. The shift is estimated per group of cells that share it and is
# divided out of each cell's comparison, with its own uncertainty added.

#: A cell's run shift is estimated from at least this many other cells of its group; with fewer, the cell is
#: compared unadjusted (a median of one or two cells is that cell's own noise, not a run's shift).
MIN_SHIFT_CELLS = 3
#: Seed of the bootstrap over a group's cells (fixed: the same stores always give the same intervals).
SHIFT_SEED = 35


@dataclass(frozen=True)
class RunShift:
    """How much slower a group's cells ran in the second run than in the first: the median over the group's cells of
    log(step time run 2 / step time run 1), and that median's variance by bootstrap over the cells."""

    log_shift: float  # 0 where not estimated
    var: float  # 0 where not estimated
    cells: int  # the cells it was estimated from
    ci_low: float = math.nan  # 95% percentile bootstrap interval of the ratio run 2 / run 1
    ci_high: float = math.nan

    @property
    def estimated(self) -> bool:
        return self.cells >= MIN_SHIFT_CELLS

    @property
    def ratio(self) -> float:
        """Step time in run 2 over run 1 for the whole group (NaN where not estimated)."""
        return math.exp(self.log_shift) if self.estimated else math.nan


def shift_group(experiment: str, key: tuple) -> tuple:
    """The cells that share a run shift: (machine, framework, device, mode) with mode eager or graph.

    Per mode rather than per framework: a framework's eager steps go through its Python dispatch and its compiled
    steps through one executable, so a day effect can move one and not the other (in the quick A/A pairs of issue 35
    JAX eager moved more than jax.jit). Per mode rather than per variant: a variant has only its workloads x
    phases x batches of cells (2 to 4 in the quick profile; an unrolled variant exists for the RNN only), too few
    to leave one out and keep three, while a framework's compiled variants share its compiler's runtime."""
    from fwbench.experiments import EXPERIMENTS

    machine, framework, device, _workload, variant = key[:5]
    try:
        mode = EXPERIMENTS[experiment].variants_of(framework).get(variant, variant)
    except (KeyError, ValueError):  # a framework or experiment this checkout does not know: the variant alone
        mode = variant
    return machine, framework, device, ",".join(mode) if isinstance(mode, (list, tuple)) else str(mode)


def cell_moves(first: dict, second: dict) -> dict:
    """Per cell measured in both ({key: {process: steps}}): log(step time run 2 / step time run 1), a cell's step time
    being the geometric mean of its per-process medians (stats.cell_estimate)."""
    return {
        key: math.log(stats.cell_estimate(second[key])[0]) - math.log(stats.cell_estimate(first[key])[0])
        for key in first.keys() & second.keys()
    }


def run_shift(moves) -> RunShift:
    """The run shift from the log moves of a group's cells: their median, and its variance and 95% interval from
    stats.N_BOOT bootstrap resamples of the cells (seeded); not estimated (0, 0) below MIN_SHIFT_CELLS cells."""
    x = np.sort(np.asarray(list(moves), dtype=float))
    if x.size < MIN_SHIFT_CELLS:
        return RunShift(0.0, 0.0, int(x.size))
    rng = np.random.default_rng([SHIFT_SEED, x.size])
    boots = np.median(x[rng.integers(0, x.size, size=(stats.N_BOOT, x.size))], axis=1)
    lo, hi = np.quantile(boots, [(1 - stats.LEVEL) / 2, (1 + stats.LEVEL) / 2])
    return RunShift(float(np.median(x)), float(boots.var(ddof=1)), int(x.size), math.exp(lo), math.exp(hi))


def run_shifts(first: dict, second: dict, experiment: str) -> dict:
    """Each group's run shift from all its cells measured in both ({group: RunShift}; for the reader, not for
    adjusting a cell, which uses `loo_shifts`)."""
    groups: dict[tuple, list] = {}
    for key, move in cell_moves(first, second).items():
        groups.setdefault(shift_group(experiment, key), []).append(move)
    return {group: run_shift(moves) for group, moves in sorted(groups.items())}


def loo_shifts(first: dict, second: dict, experiment: str) -> dict:
    """Per cell measured in both: its group's run shift from the group's *other* cells (leave one out), so that a
    real difference of one cell is not subtracted from itself. Keys may carry a replicate after the sample keys
    (A/A twins): a twin is left out with its cell, and only replicate-0 cells estimate shifts."""
    from fwbench.report.results import SAMPLE_KEYS

    n = len(SAMPLE_KEYS)
    by_group: dict[tuple, dict] = {}
    for key, move in cell_moves(first, second).items():
        if len(key) == n or key[n] == 0:
            by_group.setdefault(shift_group(experiment, key), {})[tuple(key[:n])] = move
    out = {}
    for key in first.keys() & second.keys():
        group = by_group.get(shift_group(experiment, key), {})
        out[key] = run_shift(m for k, m in group.items() if k != tuple(key[:n]))
    return out


def shift_adjusted(
    c: stats.Comparison, shift: RunShift, level: float = stats.LEVEL, margin: float = stats.EQUIVALENCE_MARGIN
) -> stats.Comparison:
    """A run-1-vs-run-2 comparison (ratio = run 1 time / run 2 time) with run 2's steps divided by the run shift:
    the log ratio moves by the shift, and the shift's bootstrap variance is added to the comparison's log-scale
    variance, with Welch-Satterthwaite degrees of freedom (the shift's own taken as its cells less one) capped at the
    comparison's own, so the interval only widens; then the usual rule classifies it. A shift not estimated leaves
    the comparison as it was."""
    if not shift.estimated or not math.isfinite(c.se):
        return c
    est = c.log_ratio + shift.log_shift
    var = c.se**2 + shift.var
    se = math.sqrt(var)
    parts = (c.se**4 / c.df if c.se > 0 else 0.0) + (shift.var**2 / (shift.cells - 1) if shift.var > 0 else 0.0)
    # Welch-Satterthwaite can exceed the comparison's own df (and narrow the interval): never more than that.
    df = min(c.df, var**2 / parts) if parts > 0 else c.df
    half = stats._t(level, df) * se
    lo, hi = stats._exp(est - half), stats._exp(est + half)
    return stats.Comparison(
        ratio=math.exp(est),
        ci_low=lo,
        ci_high=hi,
        n_baseline=c.n_baseline,
        n_candidate=c.n_candidate,
        paired=c.paired,
        verdict=stats.classify(lo, hi, margin),
        log_ratio=est,
        se=se,
        df=float(df),
    )


#: Columns the shift-adjusted control adds: the run shift divided out (run 2 / run 1; NaN where none) and its cells.
SHIFT_COLUMNS = ("run_shift", "shift_cells")


def adjusted_comparisons(first: dict, second: dict, experiment: str) -> pd.DataFrame:
    """Every cell of `first` against the same cell of `second` ({(*SAMPLE_KEYS, replicate): {process: steps}}),
    unpaired as in `between_runs`, with the group's leave-one-out run shift divided out (`shift_adjusted`)."""
    from fwbench.report.results import COMPARISON_COLUMNS, SAMPLE_KEYS, comparison_columns

    shifts, n = loo_shifts(first, second, experiment), len(SAMPLE_KEYS)
    rows = []
    for key in sorted(first.keys() & second.keys(), key=str):
        s = shifts[key]
        rows.append(
            {
                **dict(zip(SAMPLE_KEYS, key[:n])),
                "replicate": key[n] if len(key) > n else 0,
                **comparison_columns(shift_adjusted(stats.compare(first[key], second[key]), s)),
                "run_shift": s.ratio,
                "shift_cells": s.cells,
            }
        )
    return pd.DataFrame(rows, columns=[*SAMPLE_KEYS, "replicate", *COMPARISON_COLUMNS, *SHIFT_COLUMNS])


def between_runs_adjusted(first, second, experiment: str) -> pd.DataFrame:
    """The full-size A/A control of `between_runs` with each group's shift of the whole run divided out (see
    `shift_group`, `loo_shifts`, `shift_adjusted`): what is left is the pipeline's false-positive rate for
    comparisons within one run, where every verdict is made."""
    return adjusted_comparisons(_aa_series(first, experiment), _aa_series(second, experiment), experiment)


def shift_table(first, second, experiment: str) -> pd.DataFrame:
    """Per group (`shift_group`): the whole run's shift, step time in run 2 over run 1, with its bootstrap interval
    and the cells it rests on (NaN below MIN_SHIFT_CELLS)."""
    rows = [
        {
            "machine_label": g[0],
            "framework": g[1],
            "device": g[2],
            "mode": g[3],
            "cells": s.cells,
            "run_shift": s.ratio,
            "ci_low": s.ci_low,
            "ci_high": s.ci_high,
        }
        for g, s in run_shifts(first.samples(experiment), second.samples(experiment), experiment).items()
    ]
    return pd.DataFrame(
        rows, columns=["machine_label", "framework", "device", "mode", "cells", "run_shift", "ci_low", "ci_high"]
    )


def false_positive_summary(controls: pd.DataFrame) -> dict:
    """How often identical alternatives were called faster or slower, with a one-sided 95% upper bound
    (Clopper-Pearson): a rate of 0 of 12 still allows 22%."""
    n = int(len(controls))
    fp = int(controls["verdict"].isin(["faster", "slower"]).sum()) if n else 0
    return {
        "controls": n,
        "false_positives": fp,
        "rate": fp / n if n else math.nan,
        "upper_95": stats.binomial_upper(fp, n),
        "equivalent": int((controls["verdict"] == "equivalent").sum()) if n else 0,
        "inconclusive": int((controls["verdict"] == "inconclusive").sum()) if n else 0,
    }


def resolution(controls: pd.DataFrame) -> dict:
    """What comparisons of this size can decide, read off the A/A control's intervals: the median ratio at which a
    difference is called faster or slower about half the time (the interval's half-width beyond the margin), and
    the share of cells whose interval is narrow enough ever to be called equivalent (narrower than the margin).
    An A/A control with no false positives says little when its intervals can decide nothing: this says how much."""
    lo, hi = controls.get("speedup_ci_low"), controls.get("speedup_ci_high")
    if lo is None or hi is None or controls.empty:  # (an empty frame's columns are of no numeric type)
        return {"cells": 0, "detectable_ratio": math.nan, "can_be_equivalent": math.nan}
    lo, hi = pd.to_numeric(lo, errors="coerce").astype(float), pd.to_numeric(hi, errors="coerce").astype(float)
    ok = np.isfinite(lo) & np.isfinite(hi) & (lo > 0) & (hi > 0)
    half = (np.log(hi[ok]) - np.log(lo[ok])) / 2
    if half.empty:
        return {"cells": 0, "detectable_ratio": math.nan, "can_be_equivalent": math.nan}
    edge = math.log1p(stats.EQUIVALENCE_MARGIN)
    return {
        "cells": int(len(half)),
        "detectable_ratio": float(np.exp(edge + np.median(half))),
        "can_be_equivalent": float((half < edge).mean()),
    }


def aa_sentence(report, experiment: str) -> str:
    """The A/A false-positive rate per machine, in one sentence for the claims page and the chapter."""
    rates = report.false_positive_rates(experiment)
    if rates.empty:
        return "No A/A control was stored, so the harness's false-positive rate is unknown here."
    parts = []
    for machine, g in rates.groupby("machine_label"):
        n, fp = int(g["controls"].sum()), int(g["false_positives"].sum())
        parts.append(
            f"{machine}: {fp} of {n} A/A comparisons called faster or slower ({fp / n:.0%}; "
            f"95% upper bound {stats.binomial_upper(fp, n):.0%})"
        )
    return (
        "Harness false-positive rate (identical alternatives compared by the same code, equivalence margin "
        f"±{stats.EQUIVALENCE_MARGIN:.0%}): " + "; ".join(parts) + "."
    )


def variance_plan(report, experiment: str) -> pd.DataFrame:
    """Per machine: the measured between- and within-process spread, and the processes x steps that reach an
    interval of ± the margin at least cost (Kalibera & Jones), against what was run."""
    durations = {}
    for run, job in report.experiment_jobs(experiment):
        if job["status"] == "ok" and job.get("duration_s"):
            alternatives = max(1, len(job.get("samples", [])))
            durations.setdefault(run.manifest["machine_label"], []).append(job["duration_s"] / alternatives)
    rows = []
    per_machine: dict[str, list] = {}
    for key, per in report.samples(experiment).items():
        if len(per) >= 2:
            per_machine.setdefault(key[0], []).append(per)
    for machine, cells in per_machine.items():
        comps = [stats.variance_components(p) for p in cells]
        between = float(np.nanmedian([c.between for c in comps]))
        within = float(np.nanmedian([c.within for c in comps]))
        steps = float(np.median([c.steps for c in comps]))
        step_s = float(np.median([np.median(np.concatenate(list(p.values()))) for p in cells]))
        process_s = float(np.median(durations.get(machine, [math.nan])))
        plan = (
            stats.plan(stats.Variance(between, within, steps, 0), process_s, step_s)
            if np.isfinite(process_s)
            else {"processes": math.nan, "steps_per_process": math.nan}
        )
        rows.append(
            {
                "machine": machine,
                "cells": len(cells),
                "between-process sd": math.sqrt(between),
                "within-process sd": math.sqrt(within),
                "processes run": int(np.median([len(p) for p in cells])),
                "steps run": int(steps),
                "processes needed": plan["processes"],
                "steps needed": plan["steps_per_process"],
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "machine",
            "cells",
            "between-process sd",
            "within-process sd",
            "processes run",
            "steps run",
            "processes needed",
            "steps needed",
        ],
    )


def replacement_sentence(report, experiment: str) -> str:
    """Per machine, how many replacement processes (fwbench.run.replace) joined how many cells;
    empty where none ran."""
    per: dict[str, dict] = {}
    for run, job in report.experiment_jobs(experiment):
        if isinstance(job.get("replacement"), dict):
            counts = per.setdefault(run.manifest["machine_label"], {"processes": 0, "cells": set()})
            counts["processes"] += 1
            counts["cells"].add(job.get("cell_id", job["job_id"]))
    if not per:
        return ""
    parts = [
        f"{machine}: {c['processes']} replacement process{'es' * (c['processes'] != 1)} in "
        f"{len(c['cells'])} cell{'s' * (len(c['cells']) != 1)}"
        for machine, c in sorted(per.items())
    ]
    return (
        "A cell whose series came out unstable measured itself again in fresh processes (see the method "
        "page), so that it keeps its planned processes: " + "; ".join(parts) + ". Their stable series count "
        "like any other process's; the series they replaced are listed below."
    )


def disturbance(report, experiment: str) -> pd.DataFrame:
    """Per cell and variant: timed blocks kept, blocks dropped and run again because the machine was busy (the
    job's threads waited for a CPU) or the hypervisor stole time, their share of all blocks run, series marked
    busy, and the garbage collector's share of the timed steps. Empty where no job recorded it."""
    rows = {}
    for run, job in report.experiment_jobs(experiment):
        if job["status"] != "ok":
            continue
        for entry in job.get("samples", []):
            if "stolen_blocks_dropped" not in entry or entry.get("replicate", 0):
                continue
            key = (
                run.manifest["machine_label"],
                job["framework"],
                job["workload"],
                entry.get("variant", job["variant"]),
                entry["phase"],
                entry["batch_size"],
            )
            r = rows.setdefault(
                key,
                {
                    "blocks": 0,
                    "busy_dropped": 0,
                    "stolen_dropped": 0,
                    "kept_past_bound": 0,
                    "busy_series": 0,
                    "series": 0,
                    "gc_s": 0.0,
                    "timed_s": 0.0,
                },
            )
            blocks = entry.get("blocks")
            r["blocks"] += (
                blocks if isinstance(blocks, int) else math.ceil(len(entry["values"]) / max(entry.get("block", 1), 1))
            )
            r["busy_dropped"] += entry.get("busy_blocks_dropped", 0)
            r["stolen_dropped"] += entry["stolen_blocks_dropped"]
            r["kept_past_bound"] += entry.get("busy_blocks_kept", 0) + entry.get("stolen_blocks_kept", 0)
            r["busy_series"] += entry.get("busy") is True
            r["series"] += 1
            r["gc_s"] += entry.get("gc_s", 0.0) or 0.0
            r["timed_s"] += float(sum(entry["values"]))
    out = []
    for (machine, fw, workload, variant, phase, batch), r in rows.items():
        dropped = r["busy_dropped"] + r["stolen_dropped"]
        out.append(
            {
                "machine_label": machine,
                "framework": fw,
                "workload": workload,
                "variant": variant,
                "phase": phase,
                "batch_size": batch,
                "blocks_kept": r["blocks"],
                "dropped_busy": r["busy_dropped"],
                "dropped_stolen": r["stolen_dropped"],
                "disturbed_share": dropped / (dropped + r["blocks"]) if dropped + r["blocks"] else 0.0,
                "kept_past_bound": r["kept_past_bound"],
                "busy_series": f"{r['busy_series']} of {r['series']}",
                "gc_share_of_steps": r["gc_s"] / r["timed_s"] if r["timed_s"] > 0 else np.nan,
            }
        )
    return pd.DataFrame(
        out,
        columns=[
            "machine_label",
            "framework",
            "workload",
            "variant",
            "phase",
            "batch_size",
            "blocks_kept",
            "dropped_busy",
            "dropped_stolen",
            "disturbed_share",
            "kept_past_bound",
            "busy_series",
            "gc_share_of_steps",
        ],
    )


def stolen_sentence(report, experiment: str) -> str:
    """Per machine, how many timed blocks were dropped and run again because the machine was busy or the
    hypervisor took the CPUs during them (fwbench.measure.timing), and how many series were measured on a busy
    machine past the bound; empty where no job recorded it."""
    table = disturbance(report, experiment)
    if table.empty:
        return ""
    parts = []
    for machine, g in table.groupby("machine_label"):
        busy, stolen, kept = int(g["dropped_busy"].sum()), int(g["dropped_stolen"].sum()), int(g["blocks_kept"].sum())
        marked = sum(int(x.split(" of ")[0]) for x in g["busy_series"])
        share = (busy + stolen) / (busy + stolen + kept) if busy + stolen + kept else 0.0
        parts.append(
            f"{machine}: {busy + stolen} of {busy + stolen + kept} timed blocks ({share:.0%}) dropped and "
            f"run again ({busy} busy, {stolen} with steal), largest share in one cell "
            f"{g['disturbed_share'].max():.0%}"
            + (
                f"; {marked} series measured on a busy machine past the bound, kept out of every verdict"
                if marked
                else ""
            )
        )
    return (
        "A block during which other work held the CPUs the job wanted (its threads waited for a CPU for more "
        "than the stated share of the block) or the hypervisor gave the CPUs to another guest measured the "
        "neighbours, not the framework: " + "; ".join(parts) + "."
    )
