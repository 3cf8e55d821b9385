"""Metrics only the serving experiment writes (the shared ones are fwbench.measure.metrics.COMMON)."""

from __future__ import annotations

from fwbench.measure.metrics import Metric

METRICS: dict[str, Metric] = {
    # Serving experiment (variant = the runtime behind the server, mode = batching setting / wire format,
    # phase = "startup", "closed-<clients>" or "open-<fraction of the best closed-loop rate>",
    # batch_size = samples per request). runtime_import_s, load_s, max_abs_err and parity_ok (shared:
    # COMMON) also appear, for the server's own process and its first response.
    "serve_ok": Metric("bool", "1 if the server started and answered a correct prediction"),
    "cold_start_s": Metric(
        "s", "server process start until its first successful prediction response (imports, load, first call)"
    ),
    "server_rss_idle_bytes": Metric(
        "bytes", "resident memory of the server (and processes it started) after its first response, idle"
    ),
    "server_rss_load_bytes": Metric("bytes", "largest resident memory of the server sampled during the load level"),
    "throughput_rps": Metric("requests/s", "successful responses per second during the load level"),
    "latency_p50_s": Metric(
        "s", "median request latency (closed loop: send to response; open loop: scheduled time to response)"
    ),
    "latency_p95_s": Metric("s", "95th percentile of request latency"),
    "latency_p99_s": Metric("s", "99th percentile of request latency"),
    "latency_mean_s": Metric("s", "mean request latency"),
    "error_rate": Metric("ratio", "share of the level's requests that failed (non-200, timeout, refused)"),
    "n_requests": Metric("count", "requests recorded in the load level"),
    "level_s": Metric("s", "recorded time of the load level: duration_s, or less where a closed level ended early"),
    "ended_early": Metric(
        "bool", "closed loop: 1 if the level ended before duration_s because its latency distribution had converged"
    ),
    "offered_rps": Metric("requests/s", "open loop: requests scheduled per second (Poisson arrivals)"),
    "server_decode_s": Metric(
        "s", "mean per request inside the server: decoding the request body into an array (frontend)"
    ),
    "server_queue_s": Metric(
        "s", "mean per request inside the server: waiting for the model thread or a batch, and the hop back (frontend)"
    ),
    "server_runtime_s": Metric(
        "s",
        "mean per request inside the server: the runtime's call that computed it (with batching, the whole batch's call)",
    ),
    "server_encode_s": Metric("s", "mean per request inside the server: encoding the response (frontend)"),
    "server_handled_s": Metric("s", "mean per request inside the server: decode + queue + runtime + encode"),
    "server_model_busy_s": Metric(
        "s",
        "mean per request: the model thread's busy time owed to it (its call's time split over the requests that call served); times throughput, the share of the time the model was busy",
    ),
    "outside_server_s": Metric(
        "s",
        "closed loop: mean latency the client saw beyond the server's own handling (HTTP parsing, event loop, loopback network, the client)",
    ),
    "max_send_lag_s": Metric(
        "s", "open loop: largest delay between a request's scheduled and actual send (the client's own lag)"
    ),
}
