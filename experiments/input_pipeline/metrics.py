"""Metrics only the input-pipeline experiment writes (the shared ones are fwbench.measure.metrics.COMMON).

Every record's variant is the format read, its mode the workers ("workers 2"), its phase "load", its
batch_size the pipeline's batch, its process the fresh process that measured it (one per pipeline)."""

from __future__ import annotations

from fwbench.measure.metrics import Metric

METRICS: dict[str, Metric] = {
    "samples_per_s": Metric(
        "samples/s",
        "samples delivered per second in steady state: samples per epoch over the "
        "median wall time of the epochs after the first (per process)",
    ),
    "first_batch_s": Metric(
        "s",
        "from asking for the pipeline to holding its first batch, in a process that has "
        "imported the loader: builds it, starts workers, fills a shuffle buffer",
    ),
    "loader_import_s": Metric("s", "importing the loader's framework in a fresh interpreter"),
    "tree_peak_rss_bytes": Metric(
        "bytes",
        "peak of the summed resident memory of the pipeline's process and its "
        "workers while it streamed (sampled; shared pages count once per process)",
    ),
    "cpu_s_per_1000_samples": Metric(
        "s",
        "CPU seconds (user + system) of the process and its workers per 1000 samples over the epochs after the first",
    ),
    "labels_ok": Metric("bool", "1 if every epoch delivered exactly the dataset's multiset of labels"),
    "pixel_stats_ok": Metric(
        "bool",
        "1 if the check pass's normalised centre crops have the generator's pixel "
        "mean and standard deviation (relative tolerance of the run)",
    ),
}
