"""The declaration of this experiment, read by the registry (fwbench.experiments)."""

from fwbench.experiments.base import Experiment
from fwbench.experiments.ergonomics.measure import VARIANTS, Params
from fwbench.experiments.ergonomics.payload import check_program


def variants(framework: str) -> dict[str, str]:
    """A framework's programs: PyTorch one, TensorFlow two (Keras 3 and GradientTape), JAX one (Flax NNX)."""
    return dict(VARIANTS.get(framework, {}))


EXPERIMENT = Experiment(
    name="ergonomics",
    title="Code ergonomics: one task, four programs",
    params=Params,
    order=70,
    summary="writes the same cnn training task in PyTorch, Keras 3, TensorFlow with GradientTape "
    "and JAX with Flax, runs each to the same losses and counts its source",
    evidence="sections {ref}`fig-ergonomics-counts` and {ref}`ergonomics-programs`",
    default_job_s=28.5 / 4,  # quick profile, `make bench-report` on a 2-core VM (2026-12-07): 4 jobs in 28.5 s
    variants_of=variants,
    workloads=("cnn",),
    default_processes=1,
    payloads={"program": check_program},
    axes={
        "workload": "cnn (the task every program trains)",
        "variant": "the program: pytorch, keras, gradienttape or flax",
        "mode": "how its training step runs as written: eager, or graph (traced and compiled)",
    },
)
