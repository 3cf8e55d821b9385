"""Names, units and meanings of every metric the store holds; the tidy export and the book document these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    unit: str
    description: str


METRICS: dict[str, Metric] = {
    "step_time_median_s": Metric("s", "median wall time of one step in steady state, synchronized (per process; a cell's is the geometric mean over its processes)"),
    "step_time_ci_low_s": Metric("s", "lower end of the 95% bootstrap confidence interval of one process's median step time (steps only; cells use intervals over processes)"),
    "step_time_ci_high_s": Metric("s", "upper end of the 95% bootstrap confidence interval of one process's median step time (steps only; cells use intervals over processes)"),
    "step_time_q25_s": Metric("s", "25th percentile of step times"),
    "step_time_q75_s": Metric("s", "75th percentile of step times"),
    "step_time_iqr_s": Metric("s", "interquartile range of step times (q75 - q25)"),
    "step_time_min_s": Metric("s", "fastest timed step"),
    "step_time_cv": Metric("ratio", "coefficient of variation of step times (std / mean)"),
    "n_repeats": Metric("count", "number of timed steps behind the statistics"),
    "warmup_steps": Metric("steps", "untimed steps after the first call until step times settled (fwbench.steady)"),
    "stable": Metric("bool", "1 if the timed steps settled and showed no level shift (else excluded from comparisons)"),
    "first_call_s": Metric("s", "wall time of the very first call in a fresh process: tracing, compiling (cold cache) and one step"),
    "first_call_cold_s": Metric("s", "first_call_s of a process whose compiler caches started empty"),
    "first_call_warm_s": Metric("s", "first_call_s of a process whose compiler caches were filled by an earlier process of the same cell"),
    "shape_change_s": Metric("s", "first call at a new batch size after the function ran at another one (every compiled variant specialises its graph to each batch size, so this is a recompile)"),
    "shape_change_automatic_s": Metric("s", "first call at a new batch size of a function compiled with the framework's automatic dynamic shapes (torch.compile's default: it recompiles once for symbolic shapes)"),
    "break_even_steps": Metric("steps", "steps after which compiled mode's total time (first call + steps) stays below eager's; inf if never"),
    "peak_rss_bytes": Metric("bytes", "peak resident memory of the measuring process (shared by the variants it interleaves) up to the end of this phase and batch"),
    "peak_device_memory_bytes": Metric("bytes", "peak accelerator memory in use during this phase (torch, TF: reset per phase; JAX: since process start); GPU only"),
    "loss_after_steps": Metric("nats", "training loss after loss_steps SGD steps on one fixed batch, for the cross-framework check"),
    "throughput_per_s": Metric("samples/s", "batch size divided by the median step time"),
    "gflops": Metric("GFLOP/s", "dense-layer FLOPs per step divided by the median step time"),
    "first_step_loss": Metric("nats", "loss returned by the first training step, from the shared initial weights"),
    "first_step_loss_rel_err": Metric("ratio", "relative difference of first_step_loss from the float64 NumPy reference"),
    # Debugging experiment (workload = the planted bug, variant = the detection tool or `none`, mode = eager/graph).
    "outcome_error": Metric("bool", "1 if the planted bug raised an error (or killed its process)"),
    "outcome_silent_wrong": Metric("bool", "1 if the code ran on and gave a wrong value, a symbolic value, or nothing, without an error"),
    "outcome_works": Metric("bool", "1 if the code did what it says (e.g. print showed the value on every call)"),
    "time_to_surface_s": Metric("s", "from the first call (compile included) until the error was raised or every call returned"),
    "user_line_shown": Metric("bool", "1 if the printed traceback, message or warnings name the planted file and line"),
    "user_frame_depth": Metric("frames", "frames between where the error was raised and the planted line (0: raised on it); absent if the line is not a frame"),
    "traceback_frames": Metric("frames", "frames in the exception's traceback"),
    "message_chars": Metric("chars", "length of the exception message"),
    "names_shapes": Metric("bool", "1 if the error text spells out every offending input shape"),
    "names_dtypes": Metric("bool", "1 if the message names both an integer and a floating dtype"),
    "suggests_fix": Metric("bool", "1 if the message offers a way out (did you mean, try, consider, use, see <url>, ...)"),
    "compiles": Metric("count", "graphs traced or compiled during the retracing bug's six calls (new shape and Python float each)"),
    "recompile_warning": Metric("bool", "1 if the framework warned about retracing or recompiling during those calls"),
    "tool_slowdown": Metric("ratio", "median training-step time with the debugging tool on over the same with it off"),
    "tool_slowdown_ci_low": Metric("ratio", "lower end of the 95% bootstrap confidence interval of tool_slowdown"),
    "tool_slowdown_ci_high": Metric("ratio", "upper end of the 95% bootstrap confidence interval of tool_slowdown"),
    "step_time_tool_off_s": Metric("s", "median training-step time with the tool off (same process, just before)"),
    "step_time_tool_on_s": Metric("s", "median training-step time with the tool on"),
    "tool_works": Metric("bool", "tooling survey: 1 if the framework wrote the artifact (profiler trace, TensorBoard scalars)"),
    "artifact_bytes": Metric("bytes", "tooling survey: total size of the files written"),
    "artifact_files": Metric("count", "tooling survey: number of files written"),
    "extra_packages": Metric("count", "tooling survey: packages the tool needed that were not installed with the framework"),
    # Export experiment (variant = the export path, mode = the runtime that runs the artifact; batch_size =
    # the exported example's batch for everything but the latency rows).
    "export_ok": Metric("bool", "1 if the export path produced an artifact for this workload"),
    "export_s": Metric("s", "wall time of the export, every conversion step included"),
    "export_bytes": Metric("bytes", "size on disk of the exported artifact (all files of a directory format)"),
    "export_steps": Metric("count", "conversion tools or calls between the source model and the artifact"),
    "load_ok": Metric("bool", "1 if the target runtime loaded the artifact in a fresh process"),
    "runtime_import_s": Metric("s", "importing the target runtime's package in that fresh process"),
    "load_s": Metric("s", "loading the artifact after the import, up to a callable model"),
    "max_abs_err": Metric("abs", "largest |exported - source| over the logits of the fixed parity input"),
    "max_rel_err": Metric("ratio", "largest |exported - source| / max(|source|, atol/rtol) over those logits"),
    "reference_max_abs_err": Metric("abs", "largest |exported - float64 NumPy reference| over the same logits"),
    "parity_ok": Metric("bool", "1 if every logit is within atol + rtol * |source| (float32 tolerances of the run)"),
    "dynamic_batch_ok": Metric("bool", "1 if every other batch size also ran and passed the parity check"),
    # Serving experiment (variant = the runtime behind the server, mode = batching setting / wire format,
    # phase = "startup", "closed-<clients>" or "open-<fraction of the best closed-loop rate>",
    # batch_size = samples per request). runtime_import_s, load_s, max_abs_err and parity_ok above
    # also appear, for the server's own process and its first response.
    "serve_ok": Metric("bool", "1 if the server started and answered a correct prediction"),
    "cold_start_s": Metric("s", "server process start until its first successful prediction response (imports, load, first call)"),
    "server_rss_idle_bytes": Metric("bytes", "resident memory of the server (and processes it started) after its first response, idle"),
    "server_rss_load_bytes": Metric("bytes", "largest resident memory of the server sampled during the load level"),
    "throughput_rps": Metric("requests/s", "successful responses per second during the load level"),
    "latency_p50_s": Metric("s", "median request latency (closed loop: send to response; open loop: scheduled time to response)"),
    "latency_p95_s": Metric("s", "95th percentile of request latency"),
    "latency_p99_s": Metric("s", "99th percentile of request latency"),
    "latency_mean_s": Metric("s", "mean request latency"),
    "error_rate": Metric("ratio", "share of the level's requests that failed (non-200, timeout, refused)"),
    "n_requests": Metric("count", "requests recorded in the load level"),
    "offered_rps": Metric("requests/s", "open loop: requests scheduled per second (Poisson arrivals)"),
    "max_send_lag_s": Metric("s", "open loop: largest delay between a request's scheduled and actual send (the client's own lag)"),
}


def unit(name: str) -> str:
    try:
        return METRICS[name].unit
    except KeyError:
        raise KeyError(f"undocumented metric {name!r}: add it to fwbench/metrics.py") from None
