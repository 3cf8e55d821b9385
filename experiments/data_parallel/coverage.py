"""Which distributed-training setups each framework documents natively, with the page that says so: a literal table.

Read from the frameworks' own documentation for the versions this project pins (torch 2.x, TensorFlow 2.21 with
Keras 3, JAX 0.10), not measured. Only the data-parallel row can run on this experiment's one CPU host; the book
upgrades a documented row to "ran here" only where a stored launch of it trained correctly
(fwbench.experiments.data_parallel.tables.coverage).
"""

from __future__ import annotations

#: The setups, in the order the chapter lists them, with what each means here.
SETUPS = {
    "data parallel": "every process holds the whole model, trains on its slice of the batch, gradients all-reduced",
    "data parallel, high-level fit": "the same, through the framework's own training loop API (Keras fit)",
    "sharded (FSDP-style)": "parameters, gradients and optimizer state split across processes (ZeRO-3 style)",
    "parameter server": "variables held by server processes, workers push updates (asynchronous training)",
    "pipeline parallel": "layers split into stages on different processes, micro-batches flow through them",
    "tensor parallel": "single layers' weights split across processes",
    "multi-node launch": "a documented launcher or cluster spec that starts one group over several hosts",
}

#: Where a setup can be shown: "one host" (this experiment could run it on one CPU host) or "several hosts".
WHERE = {"multi-node launch": "several hosts"}

#: (framework, setup) -> (documented: bool, the native API, the source page, a note). `documented` False is "absent".
COVERAGE: dict[tuple[str, str], tuple[bool, str, str, str]] = {
    ("torch", "data parallel"): (
        True,
        "torch.nn.parallel.DistributedDataParallel",
        "https://pytorch.org/docs/stable/notes/ddp.html",
        "",
    ),
    ("torch", "data parallel, high-level fit"): (
        False,
        "",
        "https://pytorch.org/docs/stable/nn.html",
        "torch has no built-in fit loop; Lightning and Accelerate are separate packages",
    ),
    ("torch", "sharded (FSDP-style)"): (
        True,
        "torch.distributed.fsdp.fully_shard (FSDP2)",
        "https://pytorch.org/docs/stable/distributed.fsdp.fully_shard.html",
        "",
    ),
    ("torch", "parameter server"): (
        True,
        "torch.distributed.rpc (the tutorial builds one)",
        "https://pytorch.org/tutorials/intermediate/rpc_param_server_tutorial.html",
        "a recipe on the RPC framework, not a ready-made strategy",
    ),
    ("torch", "pipeline parallel"): (
        True,
        "torch.distributed.pipelining",
        "https://pytorch.org/docs/stable/distributed.pipelining.html",
        "",
    ),
    ("torch", "tensor parallel"): (
        True,
        "torch.distributed.tensor.parallel",
        "https://pytorch.org/docs/stable/distributed.tensor.parallel.html",
        "",
    ),
    ("torch", "multi-node launch"): (
        True,
        "torchrun (torch.distributed.run)",
        "https://pytorch.org/docs/stable/elastic/run.html",
        "",
    ),
    ("tensorflow", "data parallel"): (
        True,
        "tf.distribute.MultiWorkerMirroredStrategy",
        "https://www.tensorflow.org/guide/distributed_training",
        "",
    ),
    ("tensorflow", "data parallel, high-level fit"): (
        True,
        "Keras Model.fit under the strategy",
        "https://www.tensorflow.org/tutorials/distribute/multi_worker_with_keras",
        "documented for Keras 2; keras-team/keras#20585 reports it failing under Keras 3",
    ),
    ("tensorflow", "sharded (FSDP-style)"): (
        True,
        "DTensor layouts (tf.experimental.dtensor)",
        "https://www.tensorflow.org/guide/dtensor_overview",
        "experimental API",
    ),
    ("tensorflow", "parameter server"): (
        True,
        "tf.distribute.ParameterServerStrategy",
        "https://www.tensorflow.org/tutorials/distribute/parameter_server_training",
        "",
    ),
    ("tensorflow", "pipeline parallel"): (
        False,
        "",
        "https://www.tensorflow.org/guide/distributed_training",
        "no tf.distribute strategy splits a model into stages",
    ),
    ("tensorflow", "tensor parallel"): (
        True,
        "DTensor layouts (tf.experimental.dtensor)",
        "https://www.tensorflow.org/guide/dtensor_overview",
        "experimental API",
    ),
    ("tensorflow", "multi-node launch"): (
        True,
        "TF_CONFIG cluster spec",
        "https://www.tensorflow.org/guide/distributed_training",
        "",
    ),
    ("jax", "data parallel"): (
        True,
        "jax.distributed.initialize + jit over a sharded batch",
        "https://docs.jax.dev/en/latest/multi_process.html",
        "",
    ),
    ("jax", "data parallel, high-level fit"): (
        False,
        "",
        "https://docs.jax.dev/en/latest/multi_process.html",
        "JAX has no training-loop API; Flax and Keras 3 on JAX are separate packages",
    ),
    ("jax", "sharded (FSDP-style)"): (
        True,
        "NamedSharding of parameters over a mesh axis",
        "https://docs.jax.dev/en/latest/notebooks/Distributed_arrays_and_automatic_parallelization.html",
        "",
    ),
    ("jax", "parameter server"): (
        False,
        "",
        "https://docs.jax.dev/en/latest/multi_process.html",
        "SPMD only: every process runs the same program",
    ),
    ("jax", "pipeline parallel"): (
        False,
        "",
        "https://docs.jax.dev/en/latest/notebooks/shard_map.html",
        "no pipeline API; shard_map and ppermute let one write it by hand",
    ),
    ("jax", "tensor parallel"): (
        True,
        "NamedSharding of weights over a model axis",
        "https://docs.jax.dev/en/latest/notebooks/Distributed_arrays_and_automatic_parallelization.html",
        "",
    ),
    ("jax", "multi-node launch"): (
        True,
        "jax.distributed.initialize (coordinator address)",
        "https://docs.jax.dev/en/latest/multi_process.html",
        "",
    ),
}

#: The setups this experiment runs: setup -> how a stored launch shows it ran (its role and configuration).
RUN_HERE = {"data parallel": ("timed", "2x1"), "data parallel, high-level fit": ("keras_fit", "2x1")}
