"""Metrics only the ergonomics experiment writes (the shared ones are fwbench.measure.metrics.COMMON)."""

from __future__ import annotations

from fwbench.measure.metrics import Metric

METRICS: dict[str, Metric] = {
    # Phase "source": counted from the program's file, harness lines, docstrings and comments left out.
    "source_logical_lines": Metric(
        "lines",
        "statements of the program as Python counts them (tokenize NEWLINE tokens), harness lines, docstrings and comments left out",
    ),
    "source_tokens": Metric(
        "tokens",
        "tokens of code in the program (names, operators, literals; a string is one), harness lines, docstrings and comments left out",
    ),
    "source_api_names": Metric(
        "count",
        "distinct framework API names the program uses: longest attribute chains rooted at a name a framework import bound, fully qualified",
    ),
    "source_concepts": Metric(
        "count",
        "framework-specific concepts the program uses, from the experiment's documented list (experiments/ergonomics/source.py CONCEPTS), each detected by the names that express it",
    ),
    "source_max_nesting": Metric(
        "levels",
        "deepest nesting of blocks (def, class, for, if, with, ...) in the counted lines; a top-level statement is at 0",
    ),
    "source_harness_lines": Metric(
        "lines",
        "physical lines of the program marked as fwbench's harness (shared weights and data in, result out) and left out of every count",
    ),
    # Phase "train": what the program computed when the experiment ran it in a fresh process.
    "program_ok": Metric("bool", "1 if the program ran to the end and wrote its result"),
    "program_wall_s": Metric(
        "s", "wall time of the program's process, start-up and imports included (informative: one run, not a benchmark)"
    ),
    "final_train_loss": Metric(
        "nats", "the program's mean training loss over the last epoch's batches, as it reports it"
    ),
    "final_test_loss": Metric("nats", "the program's evaluation loss on the held-out batches after the last epoch"),
    "restored_test_loss": Metric("nats", "evaluation loss of a fresh model loaded from the program's checkpoint"),
    "initial_logits_max_abs_err": Metric(
        "abs",
        "largest |logit - float64 NumPy reference| of the program's model with the shared initial weights, before training (same architecture and weights)",
    ),
}
