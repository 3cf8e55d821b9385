"""The eager-vs-graph chapter's "what exactly is timed" table, built from what every job stored about itself."""

from __future__ import annotations

import pandas as pd

from fwbench.frameworks.base import INTER_OP_THREADS

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


def table(report, experiment: str = "eager_vs_graph") -> pd.DataFrame:
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
            g = groups.setdefault(key, {"facts": {}, "train_ops": {}, "infer_ops": {}, "donation": set(),
                                        "precision": set(), "intra": set(), "inter": set(), "requested": set(),
                                        "busy": [], "parallel": [], "cache": [], "workloads": set()})
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
        in_effect = f"{_span([t for t in g['intra'] if t is not None])} / {_span([t for t in g['inter'] if t is not None])}"
        cache = pd.Series(g["cache"]).value_counts()
        rows.append({
            "machine": machine, "device": device, "framework": framework, "variant": variant,
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
        })
    return pd.DataFrame(rows)
