"""The declaration of this experiment, read by the registry (fwbench.experiments)."""

from fwbench import exporters
from fwbench.experiments.base import Experiment
from fwbench.experiments.export.measure import Params
from fwbench.experiments.export.payload import check_attempts

EXPERIMENT = Experiment(
    name="export",
    title="Export and portability",
    params=Params,
    order=30,
    summary="takes every export path from each framework to its target runtime and checks that "
    "the model still computes the same thing",
    evidence="sections {ref}`fig-portability`, {ref}`fig-export-size` and {ref}`fig-export-latency`",
    default_job_s=124.7 / 14,  # quick profile, `make bench-report` on a 2-core VM (2026-12-07): 14 jobs in 124.7 s
    variants_of=exporters.paths,
    workloads=("models",),
    default_processes=1,
    payloads={"attempts": check_attempts},
    axes={
        "workload": "the exported model (a failed job: models)",
        "variant": "the export path",
        "mode": "the runtime that ran the artifact",
    },
)
