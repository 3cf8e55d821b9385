"""The eager-vs-graph chapter's tables and sentences, computed from the report so the page only displays them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fwbench.frameworks.base import INTER_OP_THREADS
from fwbench.measure.stats import EQUIVALENCE_MARGIN
from fwbench.report.findings import framework_name
from fwbench.report.results import NOISY_CV, break_even_text, fmt_s, headline_batch, plain_number
from fwbench.report.sanitize import md
from fwbench.workloads import WORKLOADS

EXP = "eager_vs_graph"

#: Columns of the table, in reading order (after machine, device, framework, variant).
FACTS = ["compiled scope", "update", "layers", "rnn loop", "inference shapes"]


def _join(values: dict[str, object]) -> str:
    """'mlp 55 · rnn 1624' from {workload: value}; '-' when nothing was recorded."""
    shown = [f"{w} {v}" for w, v in sorted(values.items()) if v is not None]
    return " · ".join(shown) or "-"


def _span(values: list) -> str:
    values = sorted(set(values))
    if not values:
        return "-"
    return str(values[0]) if len(values) == 1 else f"{values[0]}-{values[-1]}"


def what_is_timed(report, experiment: str = "eager_vs_graph") -> pd.DataFrame:
    """One row per (machine, device, framework, variant) of the latest jobs: what its step did and ran with.

    Static facts (scope, update, loop) are what the job recorded when it ran, so an old run keeps its own
    description; counts and threads aggregate over the cell's processes and workloads.
    """
    groups: dict[tuple, dict] = {}
    for run, job in report.experiment_jobs(experiment):
        if job.get("status") != "ok" or not isinstance(job.get("timed"), dict):
            continue
        settings = job.get("settings", {}) or {}
        in_effect = job.get("framework_settings") or settings.get("framework_threads") or {}
        usage = (job.get("process_info") or {}).get("train_threads") or {}
        for variant, facts in job["timed"].items():
            key = (run.manifest["machine_label"], job["device"], job["framework"], variant)
            g = groups.setdefault(
                key,
                {
                    "facts": {},
                    "train_ops": {},
                    "infer_ops": {},
                    "donation": set(),
                    "precision": set(),
                    "intra": set(),
                    "inter": set(),
                    "requested": set(),
                    "busy": [],
                    "parallel": [],
                    "cache": [],
                    "workloads": set(),
                },
            )
            for name in FACTS:
                if name in facts:
                    g["facts"].setdefault(name, facts[name])
            g["workloads"].add(job["workload"])
            g["train_ops"].setdefault(job["workload"], facts.get("ops per train step"))
            g["infer_ops"].setdefault(job["workload"], facts.get("ops per inference step"))
            if facts.get("buffer donation"):
                g["donation"].add(facts["buffer donation"])
            g["precision"].add(str(in_effect.get("matmul_precision", facts.get("precision", "-"))))
            g["intra"].add(in_effect.get("intra_op_threads"))
            g["inter"].add(in_effect.get("inter_op_threads"))
            g["requested"].add(settings.get("threads"))
            if usage:
                g["busy"].append(usage.get("threads_busy"))
                g["parallel"].append(usage.get("cpu_parallelism"))
            g["cache"].append(settings.get("compile_cache", "-"))
    rows = []
    for (machine, device, framework, variant), g in sorted(groups.items()):
        requested = _span([t for t in g["requested"] if t is not None])
        in_effect = (
            f"{_span([t for t in g['intra'] if t is not None])} / {_span([t for t in g['inter'] if t is not None])}"
        )
        cache = pd.Series(g["cache"]).value_counts()
        rows.append(
            {
                "machine": machine,
                "device": device,
                "framework": framework,
                "variant": variant,
                **{name: g["facts"].get(name, "-") for name in FACTS},
                "ops per eager train step": _join(g["train_ops"]),
                "ops per eager inference step": _join(g["infer_ops"]),
                "matmul precision": ", ".join(sorted(g["precision"])),
                "buffer donation": ", ".join(sorted(g["donation"])) or "-",
                "threads requested (intra / inter)": f"{requested} / {INTER_OP_THREADS}",
                "threads in effect (intra / inter)": in_effect,
                "busy threads seen by the OS": _span([b for b in g["busy"] if b is not None]),
                "CPUs in use at once (max)": f"{max(g['parallel']):.2f}" if g["parallel"] else "-",
                "compiler cache (processes)": ", ".join(f"{state} {n}" for state, n in cache.items()),
            }
        )
    return pd.DataFrame(rows)


def timed_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells with a steady-state step time (rows that only hold a shape-change probe have none)."""
    return cells.dropna(subset=["step_time_median_s"]) if "step_time_median_s" in cells else cells.iloc[:0]


def what_was_measured(report, jobs: pd.DataFrame) -> str:
    """The workloads (size, optimiser, data), batch sizes and processes behind the stored jobs, as Markdown."""
    lines = []
    for name in sorted(jobs["workload"].unique()):
        spec = WORKLOADS.get(name)
        if spec is None:
            lines.append(f"- **{md(name)}**: not defined in this version of fwbench.")
            continue
        doc = (type(spec).__doc__ or "").strip().splitlines()[0]
        lines.append(
            f"- **{md(name)}** ({spec.n_params:,} parameters): {md(doc)} SGD learning rate {spec.lr}, "
            f"{spec.dtype}, synthetic data from seed {spec.seed}."
        )
    ok = jobs[jobs.status == "ok"]
    params = [j["params"] for _, j in report.experiment_jobs(EXP)]
    train_b = sorted({p["batch_size"] for p in params})
    infer_b = sorted({b for p in params for b in p.get("infer_batch_sizes", [p["batch_size"]])})
    procs = jobs.groupby(["machine", "framework", "workload"]).size()
    return (
        "Workloads:\n\n" + "\n".join(lines) + "\n\n"
        f"**train** steps (forward, backward and SGD update) at batch {', '.join(map(str, train_b))}; **infer** "
        f"steps (forward only) at batch sizes {', '.join(map(str, infer_b))}, each on a graph compiled for that "
        f"size (section {{ref}}`sec-what-is-timed`). Each (framework, workload) ran in {procs.min()}-{procs.max()} "
        "separate processes, each measuring all of that framework's variants interleaved; the first started with "
        f"empty compiler caches. {len(ok)} of {len(jobs)} processes produced results; the table below (click to "
        "show) lists each with its framework version, thread count and compile-cache state."
    )


def checks_text(checks: pd.DataFrame) -> str:
    """Each correctness check with its tolerance, and how many passed (the failed ones named), as Markdown."""
    failed = checks[~checks["passed"]]
    defs = checks.drop_duplicates("name")
    return (
        "\n".join(
            f"- {md(r.name)}: {md(r.detail)}; passes at or below {plain_number(r.tolerance)}."
            for r in defs.itertuples()
        )
        + f"\n\n**{int(checks['passed'].sum())} of {len(checks)} checks passed.**"
        + (
            ""
            if failed.empty
            else " Failed: "
            + ", ".join(
                f"{md(r.framework)} {md(r.variant)} {md(r.workload)} ({md(r.name)})" for r in failed.itertuples()
            )
        )
    )


def compile_cost(cmp: pd.DataFrame) -> pd.DataFrame:
    """First calls (eager, compiled cold and warm) and the steps after which compiling pays off, per train cell."""
    train = cmp[cmp.phase == "train"]
    return pd.DataFrame(
        {
            "machine": train["machine_label"],
            "framework": train["framework"],
            "variant": train["variant"],
            "workload": train["workload"],
            "eager first call": train["first_call_eager_s"].map(fmt_s),
            "cold first call": train["first_call_graph_s"].map(fmt_s),
            "warm first call": train["first_call_graph_warm_s"].map(
                lambda v: fmt_s(v) if np.isfinite(v) else "no disk cache"
            ),
            # Which modes' steps are faster than eager beyond the margin: the introduction's longest break-even is
            # among these only (the others' break-even rests on a difference the data do not establish).
            "compiled steps vs eager": train["verdict"] if "verdict" in train else "",
            "break-even": train["break_even_steps"].map(break_even_text),
        }
    )


def shape_change(cells: pd.DataFrame, metric: str = "shape_change_s") -> pd.DataFrame:
    """The first call at a new batch size, per cell and variant (median over processes); empty if not measured."""
    rows = cells.dropna(subset=[metric]) if metric in cells else cells.iloc[:0]
    if rows.empty:
        return pd.DataFrame()
    index = (
        ["machine_label", "workload", "phase", "batch_size"]
        if metric == "shape_change_s"
        else ["machine_label", "workload", "batch_size"]
    )
    table = rows.pivot_table(index=index, columns=["framework", "variant"], values=metric, aggfunc="first")
    return table.map(fmt_s).reset_index()


def machine_peaks(report) -> dict[tuple[str, str], dict]:
    """(machine, device) -> its float32 matmul ceiling: {"gflops": median over the processes' calibrations,
    "how": what measured it}. The CPU's comes from NumPy on the host; an accelerator's from the job's
    framework on that device (runs stored before device peaks were measured have only the CPU's)."""
    peaks: dict[tuple[str, str], dict] = {}
    for run, job in report.experiment_jobs(EXP):
        cal = job.get("calibration") if job["status"] == "ok" else None
        if not cal:
            continue
        machine = run.manifest["machine_label"]
        peaks.setdefault((machine, "cpu"), {"values": [], "how": set()})
        peaks[(machine, "cpu")]["values"].append(cal["peak_gflops"])
        peaks[(machine, "cpu")]["how"].add(f"NumPy float32, n={cal['matmul_n']}")
        dev = cal.get("device")
        if isinstance(dev, dict) and dev.get("peak_gflops"):
            entry = peaks.setdefault((machine, dev["device"]), {"values": [], "how": set()})
            entry["values"].append(dev["peak_gflops"])
            entry["how"].add(f"{framework_name(dev['framework'])} float32, n={dev['matmul_n']}")
    return {
        key: {"gflops": float(np.median(v["values"])), "how": ", ".join(sorted(v["how"]))} for key, v in peaks.items()
    }


def peaks_text(peaks: dict[tuple[str, str], dict], timed: pd.DataFrame) -> str:
    """The ceilings as one sentence above the step-time tables, naming each timed device that has none."""
    parts = [
        f"{md(machine)} {md(device)}: {plain_number(p['gflops'])} GFLOP/s ({md(p['how'])})"
        for (machine, device), p in sorted(peaks.items())
    ]
    text = ("Matmul peak, median over processes: " + "; ".join(parts) + ".") if parts else "No matmul peak is stored."
    missing = sorted(
        {(m, d) for m, d in zip(timed["machine_label"], timed["device"]) if (m, d) not in peaks}
        if not timed.empty
        else set()
    )
    if missing:
        text += (
            " No peak for " + ", ".join(f"{md(m)} {md(d)}" for m, d in missing) + " (measured before device "
            "peaks were), so its GFLOP/s have no ceiling to compare with."
        )
    return text


def step_times(timed: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """workload -> one row per (machine, phase, batch, framework, variant): the step time with its interval and
    everything that could explain it (warm-up, spread over processes, memory, throughput, noise)."""
    tables = {}
    for workload, w in timed.groupby("workload"):
        w = w.sort_values(["machine_label", "phase", "batch_size", "framework", "variant"])
        table = pd.DataFrame(
            {
                "machine": w["machine_label"],
                "phase": w["phase"],
                "batch": w["batch_size"],
                "framework": w["framework"],
                "variant": w["variant"],
                # One estimate per process, pooled as the statistics pool them: not a median of all steps.
                "step (geometric mean of process medians)": w["step_time_median_s"].map(fmt_s),
                "95% CI": [
                    f"{fmt_s(lo)} – {fmt_s(hi)}" for lo, hi in zip(w["step_time_ci_low_s"], w["step_time_ci_high_s"])
                ],
                "CV": w["step_time_cv"].map("{:.0%}".format),
                "warm-up": w["warmup_steps"],
                "spread": w["process_spread"].map("{:.0%}".format),
                "n": w["n_repeats"].astype(int),
                "processes": w["n_processes"].astype(int),
                "samples/s": w["throughput_per_s"].round(0).astype(int),
                "GFLOP/s": w["gflops"].round(2),
                "peak RSS (MiB)": (w["peak_rss_bytes"] / 2**20).round(0),
                "peak device memory (MiB)": (w["peak_device_memory_bytes"] / 2**20).round(0),
                "noisy": w["step_time_cv"] > NOISY_CV,
            }
        )
        if table["peak device memory (MiB)"].isna().all():  # CPU-only store: nothing to show
            table = table.drop(columns="peak device memory (MiB)")
        tables[workload] = table
    return tables


#: Models outside the MLP size sweep with at least this many parameters are "large" (ResNet-18-class and
#: GPT-2-small-class blocks in the full profile), the half of claim E3 the quick profile's small models cannot speak to.
LARGE_PARAMS = 5_000_000


def _n_params(workload: str) -> float:
    spec = WORKLOADS.get(workload)
    return float(spec.n_params) if spec is not None else np.nan


def _params_text(n: float) -> str:
    return f"{plain_number(n / 1e6, 3)}M parameters"


def size_lines(cmp: pd.DataFrame) -> list[str]:
    """What model size does to compiling, computed: per machine and phase, each compiled variant's speedup over its
    eager mode (and that comparison's verdict) at the smallest and the largest MLP of the size sweep, where the
    sweep has at least three sizes; then every variant's speedup on each large model (LARGE_PARAMS)."""
    if cmp.empty:
        return []
    head = headline_batch(cmp)
    head = head.assign(n_params=head["workload"].map(_n_params))
    family = head["workload"].map(lambda w: getattr(WORKLOADS.get(w), "family", ""))
    out = []
    sweep = head[(family == "mlp") & head["n_params"].notna()]
    for (machine, phase), g in sweep.groupby(["machine_label", "phase"]):
        if g["n_params"].nunique() < 3:
            continue
        low, high = g["n_params"].min(), g["n_params"].max()
        parts = []
        for variant, v in g.groupby("variant"):
            small, large = v[v["n_params"] == low], v[v["n_params"] == high]
            if small.empty or large.empty:
                continue
            s, b = small.iloc[0], large.iloc[0]
            parts.append(
                f"{md(variant)} {s['speedup']:.2f}x ({md(s['verdict'])}) to {b['speedup']:.2f}x ({md(b['verdict'])})"
            )
        if parts:
            out.append(
                f"- MLP size sweep on **{md(machine)}**, {md(phase)}: from {md(g.loc[g['n_params'].idxmin(), 'workload'])} "
                f"({_params_text(low)}) to {md(g.loc[g['n_params'].idxmax(), 'workload'])} ({_params_text(high)}), "
                "speedup over eager: " + "; ".join(parts) + "."
            )
    large = head[(family != "mlp") & (head["n_params"] >= LARGE_PARAMS)]
    for (machine, workload, phase), g in large.groupby(["machine_label", "workload", "phase"]):
        parts = [f"{md(r['variant'])} {r['speedup']:.2f}x ({md(r['verdict'])})" for _, r in g.iterrows()]
        out.append(
            f"- Large model {md(workload)} ({_params_text(g['n_params'].iloc[0])}) on **{md(machine)}**, "
            f"{md(phase)}, speedup over eager: " + "; ".join(parts) + "."
        )
    return out


def what_this_means(cmp: pd.DataFrame, timed: pd.DataFrame) -> str:
    """The findings in sentences, every number computed here from the comparisons and cells (Markdown)."""
    out = []
    for (machine, phase), g in headline_batch(cmp).groupby(["machine_label", "phase"]):
        best = g.loc[g["speedup"].idxmax()]
        worst = g.loc[g["speedup"].idxmin()]
        faster = g[g["verdict"] == "faster"]
        unsure = g[g["verdict"] == "inconclusive"]
        out.append(
            f"- On **{md(machine)}**, {md(phase)}: {len(faster)} of {len(g)} (variant, workload) pairs are faster "
            f"compiled than eager beyond the ±{EQUIVALENCE_MARGIN:.0%} margin ({len(unsure)} inconclusive). "
            f"The largest gain is {md(best['variant'])} on {md(best['workload'])} at {best['speedup']:.2f}x; the "
            f"smallest is {md(worst['variant'])} on {md(worst['workload'])} at {worst['speedup']:.2f}x."
        )
    train = cmp[cmp.phase == "train"]
    if not train.empty:
        slow = train.loc[train["first_call_graph_s"].idxmax()]
        out.append(
            f"- The costliest cold first call is {md(slow['variant'])} on {md(slow['workload'])} "
            f"({fmt_s(slow['first_call_graph_s'])})."
        )
    out += size_lines(cmp)
    eager = headline_batch(timed[timed["mode"] == "eager"])
    for (machine, workload, phase), g in eager.groupby(["machine_label", "workload", "phase"]):
        fastest = g.loc[g["step_time_median_s"].idxmin()]
        out.append(
            f"- Fastest eager mode on {md(machine)}, {md(workload)} {md(phase)}: {md(fastest['framework'])} "
            f"({fmt_s(fastest['step_time_median_s'])} per step)."
        )
    out.append(
        "\nThese results hold for the workloads and machines listed above; small models on few CPU cores are "
        "dominated by per-op overhead, which is what compilers remove, so larger models and GPUs can tell a "
        "different story. See {doc}`claims` for the verdicts these numbers feed."
    )
    return "\n".join(out)


def contention(report, experiment: str = "eager_vs_graph") -> pd.DataFrame:
    """Cells measured with other programs keeping cores busy on purpose (the `contention` parameter) against the same
    cell on a quiet machine: slowdown = busy step time / quiet step time, a 95% interval over processes (separate
    processes, so unpaired). Empty where no profile measured contention."""
    from fwbench.experiments import params_digest
    from fwbench.measure import stats
    from fwbench.report.results import SAMPLE_KEYS

    busy_digest: dict[str, tuple[str, int]] = {}  # digest of a contended cell -> (its quiet twin's digest, burners)
    for _, job in report.experiment_jobs(experiment):
        n = (job.get("params") or {}).get("contention", 0)
        if job["status"] == "ok" and isinstance(n, int) and not isinstance(n, bool) and n > 0:
            busy_digest[params_digest(job)] = (params_digest({**job, "params": {**job["params"], "contention": 0}}), n)
    samples = report.samples(experiment)
    rows = []
    for key, busy in samples.items():
        if key[7] not in busy_digest:
            continue
        quiet_digest, n = busy_digest[key[7]]
        quiet = samples.get((*key[:7], quiet_digest))
        if quiet is None:
            continue
        c = stats.compare(busy, quiet)  # ratio = busy time / quiet time
        rows.append(
            {
                **dict(zip(SAMPLE_KEYS, key)),
                "busy_cores": n,
                "quiet_s": stats.cell_estimate(quiet)[0],
                "busy_s": stats.cell_estimate(busy)[0],
                "slowdown": c.ratio,
                "slowdown_ci_low": c.ci_low,
                "slowdown_ci_high": c.ci_high,
                "processes": f"{c.n_baseline} vs {c.n_candidate}",
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            *SAMPLE_KEYS,
            "busy_cores",
            "quiet_s",
            "busy_s",
            "slowdown",
            "slowdown_ci_low",
            "slowdown_ci_high",
            "processes",
        ],
    )


def contention_text(table: pd.DataFrame) -> str:
    """Per machine, the framework mode that suffered most and least from the busy cores, in words."""
    parts = []
    for machine, g in table.groupby("machine_label"):
        worst, best = g.loc[g["slowdown"].idxmax()], g.loc[g["slowdown"].idxmin()]
        parts.append(
            f"on {md(machine)} with {int(worst['busy_cores'])} core(s) kept busy, "
            f"{md(framework_name(worst['framework']))} {md(worst['variant'])} ({md(worst['workload'])} "
            f"{md(worst['phase'])}) slowed most, {worst['slowdown']:.1f}x (95% CI "
            f"{worst['slowdown_ci_low']:.1f}-{plain_number(worst['slowdown_ci_high'], 3)}), and "
            f"{md(framework_name(best['framework']))} {md(best['variant'])} ({md(best['workload'])} "
            f"{md(best['phase'])}) least, {best['slowdown']:.2f}x"
        )
    return (
        "Measured on purpose, with other programs keeping cores busy beside the job: " + "; ".join(parts) + "."
        if parts
        else ""
    )
