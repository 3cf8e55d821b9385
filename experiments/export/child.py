"""Entry point of one exported artifact's own process: settings, then the runtime, then load, run and time.

    python -m fwbench.experiments.export.child --runtime onnxruntime --artifact model.onnx \
        --inputs inputs.npz --outputs outputs.npz --out result.json --latency 1,64
    python -m fwbench.experiments.export.child --runtime onnxruntime --serve   # requests on stdin, one fork each

Fresh, so that its load time is what a serving process pays; apart from the
exporting process, so that nothing the exporter left in memory helps. Inputs
and outputs are .npz files (no pickles); `inputs.npz` holds one array per batch
size, named `b<size>`. The result is JSON: import and load times, per batch
size whether it ran (with the error if not), and latency summaries.

--serve pays the runtime's import once per export path: the server applies the
settings and imports the runtime, loads nothing, and forks a child per artifact
(fwbench.measure.forkserver), so each artifact still loads in a process where
nothing else was loaded or run. Its import time is the server's, measured in a
fresh interpreter as before; the load and everything after it are the child's.
A request holds the same fields as the command line's, by their names.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

from fwbench.measure.child import error_of


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fwbench.experiments.export.child", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runtime", required=True, help="runtime name, e.g. onnxruntime or keras:jax")
    parser.add_argument("--artifact", help="the exported artifact (required unless --serve)")
    parser.add_argument("--inputs")
    parser.add_argument("--outputs")
    parser.add_argument("--out")
    parser.add_argument("--latency", default="", help="comma-separated batch sizes to time")
    parser.add_argument("--timer", default="{}", help="TimerConfig fields as JSON")
    parser.add_argument("--train-batch", type=int, default=0, help="also time a training step (runtimes that train)")
    parser.add_argument("--threads", default="auto")
    parser.add_argument(
        "--guard", default="{}", help="fwbench.measure.quiet.Guard fields as JSON: when a timed series is busy"
    )
    parser.add_argument(
        "--serve", action="store_true", help="read artifact requests from stdin and fork a child for each"
    )
    args = parser.parse_args(argv)
    if not args.serve and not all((args.artifact, args.inputs, args.outputs, args.out)):
        parser.error("--artifact, --inputs, --outputs and --out are required unless --serve")
    threads = int(args.threads) if args.threads.isdigit() else args.threads

    started = time.perf_counter()
    from fwbench.measure import env

    settings = env.apply(threads)
    if args.serve:
        return serve(args.runtime, settings["threads"], started)
    request = {
        "artifact": args.artifact,
        "inputs": args.inputs,
        "outputs": args.outputs,
        "out": args.out,
        "latency": args.latency,
        "timer": json.loads(args.timer),
        "train_batch": args.train_batch,
        "guard": json.loads(args.guard),
    }
    run_artifact(args.runtime, request, settings["threads"], started)
    return 0


def serve(runtime: str, threads: int, started: float) -> int:
    """Import `runtime` once (its failure is every artifact's load error), then one fork per request."""
    from fwbench.measure import forkserver
    from fwbench.runtimes import import_timed

    try:
        imported = import_timed(runtime)
    except Exception as exc:  # each artifact's result says so, as a fresh process's would
        imported = error_of(exc)

    def handle(request: dict) -> None:
        run_artifact(runtime, request, threads, time.perf_counter(), imported)

    return forkserver.serve(handle)


def run_artifact(name: str, request: dict, threads: int, started: float, imported=None) -> None:
    """Load, run and time one artifact; write its result to request["out"] (a load failure is a result).

    `imported`: the server's import (fwbench.runtimes.Imported) or its error (a dict), when forked.
    """
    from pathlib import Path

    import numpy as np

    from fwbench.files import write_json_atomic
    from fwbench.measure.quiet import Guard, guarded
    from fwbench.measure.timing import TimerConfig, measure
    from fwbench.runtimes import load_timed

    result: dict = {
        "runtime": name,
        "threads": threads,
        "runs": {},
        "latency": {},
        "train": None,
        "process": "fresh" if imported is None else "fork",
    }

    def load_failed(error: dict) -> None:  # a load failure is this artifact's result
        result.update(stage="load", error=error, process_s=time.perf_counter() - started)
        write_json_atomic(request["out"], result)

    if isinstance(imported, dict):  # the server's import failed: so would this process's
        return load_failed(imported)
    try:
        loaded = load_timed(name, Path(request["artifact"]), threads, imported)
    except Exception as exc:
        return load_failed(error_of(exc))
    runtime, run = loaded.runtime, loaded.run
    result.update(runtime_version=runtime.version(), import_s=loaded.import_s, load_s=loaded.load_s, error=None)

    with np.load(request["inputs"], allow_pickle=False) as data:
        inputs = {int(k[1:]): data[k] for k in data.files}
    outputs = {}
    for batch, x in inputs.items():
        try:
            start = time.perf_counter()
            outputs[f"b{batch}"] = np.asarray(run(x))
            result["runs"][str(batch)] = {"ok": True, "first_call_s": time.perf_counter() - start}
        except Exception as exc:
            result["runs"][str(batch)] = {"ok": False, "error": error_of(exc)}
    np.savez(request["outputs"], **outputs)

    config = TimerConfig(**request["timer"])
    # Each timed series is a block watched from in here: this process (the runtime's threads included) is all the
    # series runs on, and what else took the CPUs meanwhile (the parent and the fork server only wait) slowed it.
    # A busy series runs again in this process, and past the bound is kept marked busy (fwbench.measure.quiet).
    guard = Guard(**request.get("guard", {}))
    for batch in [int(b) for b in str(request["latency"]).split(",") if b]:
        if not result["runs"].get(str(batch), {}).get("ok"):
            continue
        x = inputs[batch]
        # run() returns NumPy: already synchronized
        timing, how = guarded(lambda: measure(lambda: run(x), lambda out: None, config), guard)
        s = timing.summary()
        result["latency"][str(batch)] = {
            **dataclasses.asdict(s),
            "samples_s": timing.samples_s,
            "block": how.records(),
        }
    if request["train_batch"]:
        try:
            step = runtime.train_step(Path(request["artifact"]), request["train_batch"])
            if step is not None:
                timing, how = guarded(lambda: measure(step, lambda out: None, config), guard)
                result["train"] = {
                    "batch_size": request["train_batch"],
                    "first_call_s": timing.first_call_s,
                    **dataclasses.asdict(timing.summary()),
                    "samples_s": timing.samples_s,
                    "block": how.records(),
                }
        except Exception as exc:
            result["train"] = {"batch_size": request["train_batch"], "error": error_of(exc)}
    result["process_s"] = time.perf_counter() - started
    write_json_atomic(request["out"], result)


if __name__ == "__main__":
    sys.exit(main())
