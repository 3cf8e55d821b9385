"""Porting of one source framework's trained layers into the other frameworks, along one route (by hand or ONNX)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from fwbench.experiments.porting import converters, hooks
from fwbench.experiments.porting.layers import FRAMEWORKS, KINDS, data, straightforward
from fwbench.experiments.porting.metrics import METRICS
from fwbench.frameworks import get_adapter
from fwbench.measure.child import error_of
from fwbench.measure.job import Request
from fwbench.measure.metrics import record
from fwbench.measure.parity import Tolerance, compare

#: The routes (the experiment's variants): by hand (every pair's converter, and the naive copy beside it), and
#: through ONNX (the source exported, then each target's converter from the package index).
ROUTES = ("weights", "onnx")
#: Plain SGD's learning rate for the few training steps that move the source's weights off their initial values.
LR = 0.05


@dataclass(frozen=True)
class Params:
    """Parameters of the porting experiment that a profile may set."""

    layers: tuple[str, ...] = field(
        default=tuple(KINDS), metadata={"help": f"layer kinds to port, from: {', '.join(KINDS)}"}
    )
    train_steps: int = field(
        default=10,
        metadata={
            "bounds": "steps",
            "help": "plain SGD steps (learning rate 0.05) on seeded synthetic data before the weights move, so that "
            "weights and running statistics are off their initial values",
        },
    )
    train_batch: int = field(default=32, metadata={"bounds": "batch", "help": "batch of those training steps"})
    parity_batch: int = field(
        default=8,
        metadata={
            "bounds": "batch",
            "help": "batch of the fixed input (not seen in training) whose outputs are compared",
        },
    )
    seed: int = field(default=0, metadata={"bounds": "seed", "help": "seed of the data and of each layer's init"})
    atol: float = field(
        default=1e-5, metadata={"bounds": "tolerance", "help": "parity: absolute tolerance per output (float32)"}
    )
    rtol: float = field(
        default=1e-4, metadata={"bounds": "tolerance", "help": "parity: relative tolerance per output (float32)"}
    )

    def __post_init__(self):
        unknown = [k for k in self.layers if k not in KINDS]
        if not self.layers or unknown:
            raise ValueError(f"layers must name layer kinds from: {', '.join(KINDS)}; unknown: {unknown}")
        if self.train_steps < 1:
            raise ValueError("train_steps must be at least 1: untrained weights hide conventions")
        Tolerance(self.atol, self.rtol)

    def tolerance(self) -> Tolerance:
        return Tolerance(self.atol, self.rtol)


def targets(source: str) -> list[str]:
    return [f for f in FRAMEWORKS if f != source]


def variants(framework: str) -> dict[str, str]:
    """Route -> the job's mode: the target frameworks (read without importing any framework)."""
    return {route: ",".join(sorted(targets(framework))) for route in ROUTES}


@dataclass
class Trained:
    """A source layer after training: what every target is compared with."""

    kind: str
    layer: object
    arrays: dict
    settings: dict
    x: np.ndarray
    out: np.ndarray
    losses: list
    moved: dict


def train_source(source: str, kind: str, params: Params) -> Trained:
    """Build `kind` in `source`, train it a few steps, and run it on the parity input in eval mode."""
    hook = hooks.get(source)
    layer = hook.build(kind, params.seed)
    before = hook.arrays(kind, layer)
    x, t = data(kind, params.train_batch, params.seed)
    losses = hook.train(kind, layer, x, t, params.train_steps, LR)
    x_eval, _ = data(kind, params.parity_batch, params.seed + 1)
    arrays = hook.arrays(kind, layer)
    moved = {k: bool(np.any(arrays[k] != before[k])) for k in arrays}
    return Trained(
        kind, layer, arrays, hook.settings(kind, layer), x_eval, hook.forward(kind, layer, x_eval), losses, moved
    )


def naive_copy(src: Trained, target: str, params: Params) -> dict:
    """Copy the arrays as-is, lined up in each framework's documented order, into the target's default layer.

    `refused` where the counts or a shape do not line up (a careful copy stops there), else the outputs decide:
    `matches` or `silent-wrong` (the copy fitted, ran, and computes something else)."""
    hook = hooks.get(target)
    try:
        layer = hook.build(src.kind, params.seed + 1)
        wanted = hook.arrays(src.kind, layer)
        pairs = list(zip(src.arrays.items(), wanted.items()))
        misfit = [f"{a} {v.shape} -> {b} {w.shape}" for (a, v), (b, w) in pairs if v.shape != w.shape]
        if len(src.arrays) != len(wanted) or misfit:
            detail = f"{len(src.arrays)} arrays against {len(wanted)}" + (
                f"; shapes differ: {'; '.join(misfit)}" if misfit else ""
            )
            return {"outcome": "refused", "detail": detail}
        hook.assign(src.kind, layer, {b: v for (_, v), (b, _) in pairs})
        got = hook.forward(src.kind, layer, src.x)
    except Exception as exc:  # a copy that fitted but would not run is loud, not silent
        return {"outcome": "error", "error": error_of(exc)}
    parity = compare(got, src.out, params.tolerance())
    return {"outcome": "matches" if parity["passed"] else "silent-wrong", **parity}


def port_one(source: str, src: Trained, target: str, params: Params) -> dict:
    """One (layer kind, source, target) by hand: the naive copy, then the conversion."""
    conv = converters.get(src.kind, source, target)
    attempt = {
        "layer": src.kind,
        "source": source,
        "target": target,
        "route": "weights",
        "steps": list(conv.steps),
        "lines": conv.lines,
        "converter": conv.fn.__name__,
        "naive": naive_copy(src, target, params),
        "tolerance": asdict(params.tolerance()),
        "error": None,
    }
    hook = hooks.get(target)
    try:
        arrays, settings = conv.fn(src.arrays, src.settings)
        layer = hook.build(src.kind, params.seed + 1, **settings)
        left = sorted(set(hook.arrays(src.kind, layer)) - set(arrays))
        if left:
            raise ValueError(f"the converter left {', '.join(left)} at the target's initial values")
        hook.assign(src.kind, layer, arrays)
        got = hook.forward(src.kind, layer, src.x)
    except Exception as exc:
        attempt.update(outcome="fails", error=error_of(exc))
        return attempt
    attempt.update(compare(got, src.out, params.tolerance()))
    attempt["outcome"] = "matches" if attempt["passed"] else "differs"
    return attempt


def _rec(kind: str, route: str, target: str, batch: int, metric: str, value: float) -> dict:
    return record(METRICS, "port", batch, metric, value, workload=kind, variant=route, mode=target)


def attempt_records(a: dict, batch: int) -> list[dict]:
    """An attempt's numbers in the tidy schema (its text, errors included, stays in the job's `attempts`)."""

    def rec(metric, value):
        return _rec(a["layer"], a["route"], a["target"], batch, metric, value)

    out = [rec("port_ok", a["outcome"] == "matches")]
    if a.get("max_abs_err") is not None:
        out += [rec("max_abs_err", a["max_abs_err"]), rec("max_rel_err", a["max_rel_err"])]
    if a["route"] == "weights":
        naive = a["naive"]
        out += [
            rec("naive_ok", naive["outcome"] == "matches"),
            rec("naive_silent_wrong", naive["outcome"] == "silent-wrong"),
            rec("transformations", len(a["steps"])),
            rec("conversion_lines", a["lines"]),
            rec("straightforward", a["outcome"] == "matches" and straightforward(a["steps"])),
        ]
        if naive.get("max_abs_err") is not None:
            out.append(rec("naive_max_abs_err", naive["max_abs_err"]))
    else:
        out.append(rec("onnx_export_ok", bool(a.get("export_ok"))))
    return out


def check(a: dict) -> dict:
    """The stored parity check of one attempt: the ported layer against the source, within the tolerance."""
    tol = a["tolerance"]
    return {
        "name": f"parity {a['route']}: {a['layer']} {a['source']} -> {a['target']}",
        "passed": a["outcome"] == "matches",
        "value": a.get("max_abs_err"),
        "tolerance": tol["atol"],
        "detail": f"|target - source| <= {tol['atol']:g} + {tol['rtol']:g} * |source| on every output"
        + (f"; {a['error']['type']}: {a['error']['message'][:300]}" if a.get("error") else ""),
    }


def run(job: Request) -> dict:
    """The experiment's job: every layer kind of the params from one source framework along one route."""
    framework_threads = {fw: get_adapter(fw).configure(job.threads) for fw in FRAMEWORKS}
    result = port_all(job.framework, job.variant, job.params, progress=lambda what: job.progress(f"layer: {what}"))
    result["settings"] = {
        "framework_threads": {f"{fw}.{k}": v for fw, s in framework_threads.items() for k, v in s.items()}
    }
    return result


def port_all(
    source: str,
    route: str,
    params: Params,
    scratch: Path = Path("scratch"),
    progress: Callable[[str], None] = lambda what: None,
) -> dict:
    """Every layer kind of `params` from `source` into every other framework along `route`. A layer whose source
    fails to build or train is stored as failed for each target; only a bad name raises."""
    if source not in FRAMEWORKS or route not in ROUTES:
        raise ValueError(f"unknown source {source!r} or route {route!r}; known: {FRAMEWORKS}, {ROUTES}")
    attempts, records, sources, checks = [], [], [], []
    for kind in params.layers:
        progress(kind)
        try:
            src = train_source(source, kind, params)
        except Exception as exc:
            error = error_of(exc)
            sources.append({"layer": kind, "error": error})
            for target in targets(source):
                attempts.append(
                    {
                        "layer": kind,
                        "source": source,
                        "target": target,
                        "route": route,
                        "steps": [],
                        "outcome": "fails",
                        "stage": "source",
                        "error": error,
                        "tolerance": asdict(params.tolerance()),
                        "naive": {"outcome": "error", "error": error},
                    }
                )
            continue
        sources.append({"layer": kind, "losses": src.losses, "moved": src.moved, "settings": _plain(src.settings)})
        checks.append(
            {
                "name": f"trained: {kind} in {source}",
                "passed": all(src.moved.values()),
                "value": src.losses[-1] / src.losses[0],
                "tolerance": None,
                "detail": "every array moved off its initial value in training (value: last loss / first)",
            }
        )
        if route == "weights":
            attempts += [port_one(source, src, target, params) for target in targets(source)]
        else:
            from fwbench.experiments.porting import onnx_route

            attempts += onnx_route.port(source, src, targets(source), params, Path(scratch) / kind)
    for a in attempts:
        records += attempt_records(a, params.parity_batch)
    return {
        "mode": ",".join(sorted(targets(source))),
        "framework_version": get_adapter(source).version(),
        "device_info": {"device_name": "cpu"},
        "records": records,
        "samples": [],
        "checks": checks + [check(a) for a in attempts],
        "attempts": attempts,
        "sources": sources,
    }


def _plain(settings: dict) -> dict:
    """Settings as JSON holds them (tuples become lists)."""
    return {k: (np.asarray(v).tolist() if isinstance(v, tuple) else v) for k, v in settings.items()}
