"""Metrics only the data-parallel experiment writes (the shared ones are fwbench.measure.metrics.COMMON).

Records carry the configuration in `mode` ("2x1": two processes of one thread; "1x2", "1x1": one process of two
threads or one) and the framework's data-parallel API in the job's variant column (see experiment.py's axes).
"""

from __future__ import annotations

from fwbench.measure.metrics import Metric

METRICS: dict[str, Metric] = {
    "launch_ok": Metric("bool", "1 if every process of the launch finished its work and wrote its result"),
    "launch_hung": Metric("bool", "1 if the launch outlived its timeout and was killed (a hang, stored as such)"),
    "launch_wall_s": Metric(
        "s", "from starting the first process of the launch until the last one ended (imports included)"
    ),
    "leftovers": Metric(
        "count", "processes still alive or ports still taken after the launch was cleaned up (0 is the requirement)"
    ),
    "import_s": Metric(
        "s", "importing the framework and applying its thread settings in a fresh process (the slowest rank)"
    ),
    "group_init_s": Metric(
        "s",
        "the framework's own process-group start (init_process_group, the strategy's "
        "constructor, jax.distributed.initialize), slowest rank",
    ),
    "group_ready_s": Metric(
        "s",
        "from that call until the first collective (the known-answer all-reduce) returned "
        "on every rank: time to a ready process group, imports excluded",
    ),
    "spawn_to_ready_s": Metric(
        "s",
        "from starting the first process until every rank's first collective returned "
        "(interpreter start and imports included)",
    ),
    "all_reduce_exact": Metric(
        "bool",
        "1 if a sum all-reduce of a known vector (rank r sends (r+1) * [1..n], "
        "integers exact in float32) gave exactly the known sum on every rank",
    ),
    "all_reduce_max_abs_err": Metric("abs", "largest |got - known sum| of that all-reduce over ranks and elements"),
    "params_max_abs_err": Metric(
        "abs",
        "largest |2-process - 1-process| over every parameter after the same steps "
        "at the same global batch from the same initial weights",
    ),
    "params_max_rel_err": Metric("ratio", "that error relative to |1-process value|, floored at atol/rtol"),
    "params_match": Metric("bool", "1 if every parameter agrees within atol + rtol * |1-process value|"),
    "allreduce_bytes_per_step": Metric(
        "bytes",
        "gradient bytes each rank contributes to the all-reduce per step, "
        "computed from the parameter count (float32); no framework here "
        "reports the bytes it sends on CPU",
    ),
    "keras_fit_ok": Metric(
        "bool",
        "1 if Keras model.fit trained under MultiWorkerMirroredStrategy on every worker "
        "(TensorFlow only; the error is stored otherwise)",
    ),
}
