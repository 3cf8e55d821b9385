"""Metrics only the debugging experiment writes (the shared ones are fwbench.measure.metrics.COMMON)."""

from __future__ import annotations

from fwbench.measure.metrics import Metric

METRICS: dict[str, Metric] = {
    # Debugging experiment (workload = the planted bug, variant = the detection tool or `none`, mode = eager/graph).
    "outcome_error": Metric("bool", "1 if the planted bug raised an error (or killed its process)"),
    "outcome_silent_wrong": Metric(
        "bool", "1 if the code ran on and gave a wrong value, a symbolic value, or nothing, without an error"
    ),
    "outcome_works": Metric("bool", "1 if the code did what it says (e.g. print showed the value on every call)"),
    "time_to_surface_s": Metric(
        "s",
        "from the first call (compile included; the compiler's modules were imported "
        "before) until the error was raised or every call returned",
    ),
    "user_line_shown": Metric("bool", "1 if the printed traceback, message or warnings name the planted file and line"),
    "user_frame_depth": Metric(
        "frames",
        "frames between where the error was raised and the planted line (0: raised on it); absent if the line is not a frame",
    ),
    "traceback_frames": Metric("frames", "frames in the exception's traceback"),
    "message_chars": Metric("chars", "length of the exception message"),
    "names_shapes": Metric("bool", "1 if the error text spells out every offending input shape"),
    "names_dtypes": Metric("bool", "1 if the message names both an integer and a floating dtype"),
    "suggests_fix": Metric(
        "bool", "1 if the message offers a way out (did you mean, try, consider, use, see <url>, ...)"
    ),
    "compiles": Metric(
        "count", "graphs traced or compiled during the retracing bug's six calls (new shape and Python float each)"
    ),
    "recompile_warning": Metric("bool", "1 if the framework warned about retracing or recompiling during those calls"),
    "tool_slowdown": Metric(
        "ratio",
        "training-step time with the debugging tool on over the same with it off: geometric "
        "mean over processes of each process's ratio of medians (off and on interleaved)",
    ),
    "tool_slowdown_ci_low": Metric(
        "ratio", "lower end of tool_slowdown's 95% interval over processes (absent from one)"
    ),
    "tool_slowdown_ci_high": Metric(
        "ratio", "upper end of tool_slowdown's 95% interval over processes (absent from one)"
    ),
    "tool_cost_processes": Metric(
        "count",
        "processes whose tool-off and tool-on step times both settled and held steady "
        "(the ones tool_slowdown rests on)",
    ),
    "tool_cost_unstable_processes": Metric(
        "count",
        "processes left out of tool_slowdown: a series never settled or shifted level, also when measured again",
    ),
    "step_time_tool_off_s": Metric("s", "training-step time with the tool off (geometric mean of per-process medians)"),
    "step_time_tool_on_s": Metric("s", "training-step time with the tool on (geometric mean of per-process medians)"),
    "tool_works": Metric(
        "bool", "tooling survey: 1 if the framework wrote the artifact (profiler trace, TensorBoard scalars)"
    ),
    "artifact_bytes": Metric("bytes", "tooling survey: total size of the files written"),
    "artifact_files": Metric("count", "tooling survey: number of files written"),
    "extra_packages": Metric(
        "count", "tooling survey: packages the tool needed that were not installed with the framework"
    ),
}
