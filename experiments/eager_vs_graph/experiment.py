"""The declaration of this experiment, read by the registry (fwbench.experiments)."""

from fwbench.experiments.base import Experiment
from fwbench.experiments.eager_vs_graph.measure import Params, identity

EXPERIMENT = Experiment(
    name="eager_vs_graph",
    title="Eager vs graph timing",
    params=Params,
    order=10,
    summary="times eager against compiled execution",
    evidence="figures {ref}`fig-speedup`, {ref}`fig-batch` and {ref}`fig-size`; tables "
    "{ref}`tab-compile-cost` and {ref}`tab-step-times`",
    default_job_s=286.3 / 24,  # quick profile, `make bench-report` on a 2-core VM (2026-12-07): 24 jobs in 286.3 s
    interleaved=True,
    default_processes=4,
    default_replacements=2,
    identity=identity,
    sequential=True,
    timing_samples=True,
    axes={"workload": "the model (fwbench.workloads)", "variant": "eager or a compiled mode", "mode": "eager or graph"},
)
