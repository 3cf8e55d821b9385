"""The declaration of this experiment, read by the registry (fwbench.experiments)."""

from fwbench.experiments.base import Experiment
from fwbench.experiments.data_parallel.measure import Params, variants
from fwbench.experiments.data_parallel.payload import check_launches
from fwbench.workloads import MLP_SWEEP_WIDTHS

EXPERIMENT = Experiment(
    name="data_parallel",
    title="Data-parallel training on one host",
    params=Params,
    order=60,
    summary="trains the same MLP with DistributedDataParallel, MultiWorkerMirroredStrategy and "
    "JAX multi-process on two CPU processes, checks the collectives against known "
    "answers, times them against one process, and lists which distributed setups each "
    "framework documents",
    evidence="sections {ref}`tab-dp-correctness`, {ref}`fig-dp-steps` and {ref}`tab-dp-coverage`",
    variants_of=variants,
    workloads=("mlp", *(f"mlp_h{w}" for w in MLP_SWEEP_WIDTHS)),
    default_job_s=51.6 / 6,  # quick profile, `make bench-report` on a 2-core VM (2026-12-07): 6 jobs in 51.6 s
    default_processes=2,
    interleaved=True,
    timing_samples=True,
    payloads={"launches": check_launches},
    axes={
        "workload": "the MLP trained",
        "variant": "processes x threads per process (2x1, 1x2, 1x1); keras-fit: the Keras fit attempt",
        "mode": "eager (DDP) or graph (TensorFlow's tf.function, jax.jit)",
    },
)
