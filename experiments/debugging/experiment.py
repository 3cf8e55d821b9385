"""The declaration of this experiment, read by the registry (fwbench.experiments)."""

from fwbench.experiments.base import Experiment
from fwbench.experiments.debugging.hooks import tools
from fwbench.experiments.debugging.measure import Params
from fwbench.experiments.debugging.payload import check_cases

EXPERIMENT = Experiment(
    name="debugging",
    title="Debugging ergonomics",
    params=Params,
    order=20,
    summary="plants the same bugs in every framework and records what a developer sees, eagerly and compiled",
    evidence="sections {ref}`fig-scorecard` and {ref}`fig-tool-cost`",
    default_job_s=63.8 / 3,  # quick profile, `make bench-report` on a 2-core VM (2026-12-07): 3 jobs in 63.8 s
    variants_of=tools,
    workloads=("bugs",),
    default_processes=1,
    timing_samples=True,
    payloads={"cases": check_cases},
    axes={
        "workload": "the planted bug, or a tooling-survey item, or the model a tool's cost was "
        "timed on (a failed job: bugs)",
        "variant": "the debugging tool (none: the baseline)",
        "mode": "eager or graph",
    },
)
