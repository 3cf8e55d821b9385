"""The declaration of this experiment, read by the registry (fwbench.experiments)."""

from fwbench.experiments.base import Experiment
from fwbench.experiments.outside_python.measure import Params, variants
from fwbench.experiments.outside_python.payload import check_attempts

EXPERIMENT = Experiment(
    name="outside_python",
    title="Outside Python: Node.js and the browser",
    params=Params,
    order=32,
    summary="runs the exported models in ONNX Runtime for Node.js and the web and in "
    "TensorFlow.js, in fresh Node processes and a real headless browser page",
    evidence="sections {ref}`fig-outside-matrix` and {ref}`fig-outside-latency`",
    default_job_s=29.3 / 2,  # quick profile, `make bench-report` on a 2-core VM (2026-12-07): 2 jobs in 29.3 s
    variants_of=variants,
    workloads=("models",),
    default_processes=1,
    tools=("node", "chromium"),
    timing_samples=False,
    payloads={"attempts": check_attempts},
    axes={
        "workload": "the exported model (a failed job: models)",
        "variant": "node-and-browser: every runtime the source reaches",
        "mode": "host:runtime that ran the model (node:onnxruntime-node, browser:tfjs-wasm, ...)",
    },
)
