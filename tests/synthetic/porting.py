"""Stored porting jobs built from attempts we control, their records derived by the experiment's own code."""

from fwbench import SCHEMA_VERSION
from fwbench.experiments.porting.layers import FRAMEWORKS
from fwbench.experiments.porting.measure import attempt_records


def attempt(
    layer,
    source,
    target,
    outcome="matches",
    steps=(),
    naive="matches",
    route="weights",
    lines=1,
    stage="done",
    finding="",
):
    a = {
        "layer": layer,
        "source": source,
        "target": target,
        "route": route,
        "outcome": outcome,
        "steps": list(steps),
        "lines": lines,
        "converter": f"{layer}_{source}_{target}",
        "tolerance": {"atol": 1e-5, "rtol": 1e-4},
        "naive": {"outcome": naive, "max_abs_err": 0.5 if naive == "silent-wrong" else None},
        "max_abs_err": 1e-7 if outcome != "fails" else None,
        "max_rel_err": 1e-7 if outcome != "fails" else None,
        "stage": stage,
        "error": None
        if outcome != "fails"
        else {"type": "ValueError", "message": "no fit", "traceback": "Traceback ..."},
    }
    if route == "onnx":
        a.update(export_ok=outcome == "matches", finding=finding)
        del a["naive"]
    return a


def job(source, attempts, run_id="r1", route="weights", status="ok", layers=None):
    records = [r for a in attempts for r in attempt_records(a, 8)]
    layers = layers or sorted({a["layer"] for a in attempts}) or ["dense"]
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "job",
        "run_id": run_id,
        "job_id": f"porting-{source}-cpu-layers-{route}-p0",
        "job_key": f"key-{source}-{route}-{run_id}",
        "experiment": "porting",
        "framework": source,
        "device": "cpu",
        "workload": "layers",
        "variant": route,
        "mode": ",".join(sorted(f for f in FRAMEWORKS if f != source)),
        "status": status,
        "params": {"layers": layers, "atol": 1e-5, "rtol": 1e-4},
        "process": 0,
        "records": records if status == "ok" else [],
        "attempts": attempts if status == "ok" else [],
        "samples": [],
        "checks": [],
        "framework_version": "1.0",
        "error": None if status == "ok" else {"type": "Timeout", "message": "timed out", "traceback": ""},
    }


def kind_jobs(steps_of, outcome_of=lambda layer, s, t: "matches", naive_of=lambda layer, s, t: "matches"):
    """One weights job per source framework over the layers `steps_of` names: layer -> (s, t) -> steps."""
    jobs = []
    for s in FRAMEWORKS:
        atts = [
            attempt(layer, s, t, outcome_of(layer, s, t), steps_of[layer](s, t), naive_of(layer, s, t))
            for layer in steps_of
            for t in FRAMEWORKS
            if t != s
        ]
        jobs.append(job(s, atts))
    return jobs
