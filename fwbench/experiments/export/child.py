"""Entry point of one exported artifact's own fresh process: settings, then the runtime, then load, run and time.

    python -m fwbench.experiments.export.child --runtime onnxruntime --artifact model.onnx \
        --inputs inputs.npz --outputs outputs.npz --out result.json --latency 1,64

Fresh, so that its load time is what a serving process pays; apart from the
exporting process, so that nothing the exporter left in memory helps. Inputs
and outputs are .npz files (no pickles); `inputs.npz` holds one array per batch
size, named `b<size>`. The result is JSON: import and load times, per batch
size whether it ran (with the error if not), and latency summaries.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

from fwbench.measure.child import error_of


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fwbench.experiments.export.child", description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", required=True, help="runtime name, e.g. onnxruntime or keras:jax")
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--outputs", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--latency", default="", help="comma-separated batch sizes to time")
    parser.add_argument("--timer", default="{}", help="TimerConfig fields as JSON")
    parser.add_argument("--train-batch", type=int, default=0, help="also time a training step (runtimes that train)")
    parser.add_argument("--threads", default="auto")
    args = parser.parse_args(argv)
    threads = int(args.threads) if args.threads.isdigit() else args.threads

    started = time.perf_counter()
    from fwbench.measure import env

    settings = env.apply(threads)
    from pathlib import Path

    import numpy as np

    from fwbench.runtimes import load_timed
    from fwbench.files import write_json_atomic
    from fwbench.measure.timing import TimerConfig, measure

    result: dict = {"runtime": args.runtime, "threads": settings["threads"], "runs": {}, "latency": {}, "train": None}
    try:
        loaded = load_timed(args.runtime, Path(args.artifact), settings["threads"])
    except Exception as exc:  # a load failure is this artifact's result
        result.update(stage="load", error=error_of(exc), process_s=time.perf_counter() - started)
        write_json_atomic(args.out, result)
        return 0
    runtime, run = loaded.runtime, loaded.run
    result.update(runtime_version=runtime.version(), import_s=loaded.import_s, load_s=loaded.load_s, error=None)

    with np.load(args.inputs, allow_pickle=False) as data:
        inputs = {int(k[1:]): data[k] for k in data.files}
    outputs = {}
    for batch, x in inputs.items():
        try:
            start = time.perf_counter()
            outputs[f"b{batch}"] = np.asarray(run(x))
            result["runs"][str(batch)] = {"ok": True, "first_call_s": time.perf_counter() - start}
        except Exception as exc:
            result["runs"][str(batch)] = {"ok": False, "error": error_of(exc)}
    np.savez(args.outputs, **outputs)

    config = TimerConfig(**json.loads(args.timer))
    for batch in [int(b) for b in args.latency.split(",") if b]:
        if not result["runs"].get(str(batch), {}).get("ok"):
            continue
        x = inputs[batch]
        timing = measure(lambda: run(x), lambda out: None, config)  # run() returns NumPy: already synchronized
        s = timing.summary()
        result["latency"][str(batch)] = {**dataclasses.asdict(s), "samples_s": timing.samples_s}
    if args.train_batch:
        try:
            step = runtime.train_step(Path(args.artifact), args.train_batch)
            if step is not None:
                timing = measure(step, lambda out: None, config)
                result["train"] = {"batch_size": args.train_batch, "first_call_s": timing.first_call_s,
                                   **dataclasses.asdict(timing.summary()), "samples_s": timing.samples_s}
        except Exception as exc:
            result["train"] = {"batch_size": args.train_batch, "error": error_of(exc)}
    result["process_s"] = time.perf_counter() - started
    write_json_atomic(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
