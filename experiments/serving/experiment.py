"""The declaration of this experiment, read by the registry (fwbench.experiments)."""

from fwbench.experiments.base import Experiment
from fwbench.experiments.serving.hooks import variants
from fwbench.experiments.serving.measure import Params
from fwbench.experiments.serving.payload import check_servers

EXPERIMENT = Experiment(
    name="serving",
    title="Serving under load",
    params=Params,
    order=40,
    summary="puts those models behind real HTTP servers and measures latency, throughput and cold start under load",
    evidence="sections {ref}`fig-latency-throughput`, {ref}`tab-tail-latency`, "
    "{ref}`fig-cold-start` and {ref}`fig-batching`",
    default_job_s=157.4 / 19,  # quick profile, `make bench-report` on a 2-core VM (2026-12-07): 19 jobs in 157.4 s
    variants_of=variants,
    workloads=("models",),
    default_processes=3,
    sequential=True,
    tools=("java", "tensorflow_model_server", "taskset"),
    payloads={"servers": check_servers},
    axes={
        "workload": "the served model (a failed job: models)",
        "variant": "the runtime behind the server",
        "mode": "batching setting and wire format",
    },
)
