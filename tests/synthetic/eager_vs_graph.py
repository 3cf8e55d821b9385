"""Stored eager-vs-graph jobs: every variant of a framework interleaved in one process, seeded scatter."""

from __future__ import annotations

import zlib

import numpy as np

from fwbench import SCHEMA_VERSION


def evg_job(
    run_id: str,
    framework: str,
    times: dict,
    *,
    process: int = 0,
    seed: int = 0,
    workload: str = "mlp",
    batch: int = 32,
    between: float = 0.0,
    within: float = 0.02,
    params: dict | None = None,
    twin: bool = False,
    failed_check: str | None = None,
    unstable: str | None = None,
    loss: float = 2.3,
    steps: int = 40,
) -> dict:
    """One interleaved eager-vs-graph job (as fwbench.experiments.eager_vs_graph.measure.run stores it): every variant of
    `times` ({variant: step seconds}) measured in one process whose own speed is off by a seeded log-normal
    factor of sd `between`, steps scattering `within` around it. `failed_check` names a variant whose first-loss
    check fails; `unstable` a variant whose series is stored as unstable."""
    rng = np.random.default_rng([seed, process, zlib.crc32(framework.encode()), zlib.crc32(workload.encode())])
    speed = float(np.exp(rng.normal(0, between)))
    variants = list(times)
    modes = {v: "eager" if v == "eager" else "graph" for v in variants}
    params = params or {"batch_size": batch, "infer_batch_sizes": [batch]}
    doc = {
        "schema_version": SCHEMA_VERSION,
        "kind": "job",
        "run_id": run_id,
        "job_id": f"eager_vs_graph-{framework}-cpu-{workload}-{'_'.join(variants)}-p{process}",
        "job_key": f"key-{framework}-{workload}-{process}-{run_id}-{seed}",
        "experiment": "eager_vs_graph",
        "framework": framework,
        "device": "cpu",
        "workload": workload,
        "variant": ",".join(variants),
        "mode": ",".join(sorted(set(modes.values()))),
        "status": "ok",
        "params": params,
        "process": process,
        "records": [],
        "samples": [],
        "checks": [],
        "error": None,
        "framework_version": "1.0",
    }
    cache = "cold" if process == 0 else "warm"
    alternatives = [(v, 0) for v in variants] + ([("eager", 1)] if twin and "eager" in times else [])
    for variant, replicate in alternatives:
        for phase in ("train", "infer"):
            values = list(times[variant] * speed * np.exp(within * rng.standard_normal(steps)))
            stable = not (unstable == variant and replicate == 0)
            doc["samples"].append(
                {
                    "phase": phase,
                    "batch_size": batch,
                    "variant": variant,
                    "replicate": replicate,
                    "values": values,
                    "stable": stable,
                    "settled": True,
                    "attempts": 1 if stable else 2,
                    "problem": "" if stable else "level shift after step 20: ...",
                    "warmup_steps": 10,
                }
            )
            if replicate:
                continue
            med = float(np.median(values))
            for metric, value, unit in [
                ("step_time_median_s", med, "s"),
                ("first_call_s", 0.5, "s"),
                (f"first_call_{cache}_s", 0.5, "s"),
                ("n_repeats", steps, "count"),
                ("stable", float(stable), "bool"),
            ] + ([("loss_after_steps", loss, "nats")] if phase == "train" else []):
                doc["records"].append(
                    {
                        "phase": phase,
                        "batch_size": batch,
                        "metric": metric,
                        "value": value,
                        "unit": unit,
                        "variant": variant,
                        "mode": modes[variant],
                    }
                )
        doc["checks"].append(
            {
                "name": "first_step_loss_vs_reference",
                "passed": failed_check != variant,
                "value": 1.0 if failed_check == variant else 1e-7,
                "tolerance": 1e-4,
                "detail": "",
                "variant": variant,
                "replicate": replicate,
            }
        )
    return doc


def evg_runs(run_id: str, times: dict, processes: int = 4, **kwargs) -> list[dict]:
    """Interleaved jobs for every framework of `times` ({(framework, variant): seconds}), `processes` each."""
    by_fw: dict[str, dict] = {}
    for (fw, variant), t in times.items():
        by_fw.setdefault(fw, {})[variant] = t
    return [evg_job(run_id, fw, vs, process=p, **kwargs) for p in range(processes) for fw, vs in by_fw.items()]
