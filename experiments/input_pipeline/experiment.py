"""The declaration of this experiment, read by the registry (fwbench.experiments)."""

from fwbench.experiments.base import Experiment
from fwbench.experiments.input_pipeline.hooks import variants
from fwbench.experiments.input_pipeline.measure import Params
from fwbench.experiments.input_pipeline.payload import check_pipelines

EXPERIMENT = Experiment(
    name="input_pipeline",
    title="Input pipelines",
    params=Params,
    order=50,
    summary="feeds the same synthetic images through tf.data, the PyTorch DataLoader and grain, "
    "each from common shards and from its own format, and measures throughput, start-up, "
    "memory and CPU per sample",
    evidence="figure {ref}`fig-pipeline-throughput` and table {ref}`tab-pipelines`",
    default_job_s=52.4 / 9,  # quick profile, `make bench-report` on a 2-core VM (2026-12-07): 9 jobs in 52.4 s
    variants_of=variants,
    workloads=("images",),
    default_processes=1,
    interleaved=True,
    sequential=True,
    payloads={"pipelines": check_pipelines},
    axes={
        "workload": "the synthetic dataset (images)",
        "variant": "the format read: npy-shards (common to all loaders), or the loader's own "
        "(tfrecord, files, arrayrecord)",
        "mode": "worker processes or map threads (workers 0, 1, 2); a job's mode: the loader",
    },
)
