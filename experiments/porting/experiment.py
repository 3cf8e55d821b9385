"""The declaration of this experiment, read by the registry (fwbench.experiments)."""

from fwbench.experiments.base import Experiment
from fwbench.experiments.porting.measure import Params, variants
from fwbench.experiments.porting.payload import check_attempts

EXPERIMENT = Experiment(
    name="porting",
    title="Porting trained layers between frameworks",
    params=Params,
    order=37,
    summary="moves trained weights of every layer kind between torch.nn, Keras and flax, by hand "
    "and through ONNX, and checks that each ported layer computes the same thing",
    evidence="sections {ref}`fig-porting` and {ref}`porting-onnx`",
    default_job_s=39.6 / 3,  # quick profile, `make bench-report` on a 2-core VM (2026-12-07): 3 jobs in 39.6 s
    variants_of=variants,
    workloads=("layers",),
    default_processes=1,
    payloads={"attempts": check_attempts},
    axes={
        "workload": "the layer kind ported (a failed job: layers)",
        "variant": "the route: weights (converted by hand) or onnx",
        "mode": "the target framework (the source is the framework column)",
    },
)
