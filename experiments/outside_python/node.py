"""One exported model in one fresh Node.js process (node/run.js): its inputs and outputs as raw float32 files, its result as JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

import numpy as np

from fwbench.measure.child import died
from fwbench.measure.quiet import Watch
from fwbench.measure.timing import TimerConfig

RUNNER = Path(__file__).resolve().parent / "node" / "run.js"
#: The runtimes node/run.js knows, each with the npm package set (a folder of node/) that holds it.
RUNTIMES = {
    "onnxruntime-node": "onnxruntime-node",
    "onnxruntime-web": "onnxruntime-web",
    "tfjs-wasm": "tfjs-wasm",
    "tfjs-node": "tfjs-node",
}


def node_version() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip() or None


def write_inputs(inputs: dict[int, np.ndarray], folder: Path) -> list[dict]:
    """Each batch as little-endian float32 bytes, with its shape: what run.js and the browser page read."""
    folder.mkdir(parents=True, exist_ok=True)
    listed = []
    for batch, x in sorted(inputs.items()):
        path = folder / f"b{batch}.f32"
        np.ascontiguousarray(x, dtype="<f4").tofile(path)
        listed.append({"batch": int(batch), "shape": [int(d) for d in x.shape], "file": str(path.resolve())})
    return listed


def read_output(path: Path, batch: int) -> np.ndarray:
    """Logits a runtime wrote: float32, one row per example."""
    return np.fromfile(path, dtype="<f4").reshape(batch, -1)


def run_node(
    runtime: str,
    modules: Path,
    model: Path,
    inputs: dict[int, np.ndarray],
    latency: list[int],
    timer: TimerConfig,
    threads: int,
    workdir: Path,
    timeout_s: float,
) -> tuple[dict, dict[int, np.ndarray]]:
    """Load and run `model` in a fresh `node` process; its result (a failure is one, with its error) and outputs.

    The result's "window" says what other programs took from the CPUs while the process ran (fwbench.measure.quiet)."""
    node = shutil.which("node")
    if node is None:
        return {
            "stage": "load",
            "error": {"type": "NodeMissing", "message": "node is not on PATH", "traceback": ""},
        }, {}
    workdir = workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    out = workdir / "result.json"
    request = {
        "runtime": runtime,
        "modules": str(Path(modules).resolve()),
        "model": str(Path(model).resolve()),
        "threads": int(threads),
        "inputs": write_inputs(inputs, workdir / "inputs"),
        "outputs": str(workdir),
        "latency": [int(b) for b in latency],
        "timer": asdict(timer),
        "out": str(out),
    }
    (workdir / "request.json").write_text(json.dumps(request))
    # The process is waited for inside the window: its time (its threads' included) is the job's own, so the window
    # reads only what other programs took while it ran.
    with Watch() as watch:
        try:
            proc = subprocess.run(
                [node, str(RUNNER), str(workdir / "request.json")],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                cwd=workdir,
            )
        except subprocess.TimeoutExpired:
            proc = None
    if proc is None:
        return {
            "stage": "load",
            "error": {"type": "Timeout", "message": f"no result after {timeout_s:g} s", "traceback": ""},
        }, {}
    if not out.is_file():
        return {"stage": "load", "error": died("the node process", proc.returncode, proc.stderr)}, {}
    result = {**json.loads(out.read_text()), "window": watch.window}
    outputs = {int(b): read_output(Path(r["output"]), int(b)) for b, r in result.get("runs", {}).items() if r.get("ok")}
    return result, outputs
