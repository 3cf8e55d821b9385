"""The data-parallel experiment's findings for the book's first screen: wrong collectives, hangs and failures first."""

from __future__ import annotations

from fwbench.report.findings import Finding
from fwbench.report.results import Report
from fwbench.report.sanitize import md


def findings(report: Report) -> list[Finding]:
    from fwbench.experiments.data_parallel import tables

    right = tables.correctness(report)
    out = []
    if not right.empty:
        wrong = right[right["collectives"] == "wrong"]
        for _, r in wrong.iterrows():
            out.append(
                Finding(
                    f"{md(r['framework'])}'s two-process training on {md(r['machine_label'])} gave wrong results: "
                    f"{int(r['all_reduce_exact'])} of {int(r['all_reduce_checks'])} known-answer all-reduces exact, "
                    f"{int(r['params_match'])} of {int(r['params_checks'])} parameter checks within tolerance.",
                    "tab-dp-correctness",
                )
            )
        correct = right[right["collectives"] == "correct"]
        if not correct.empty and wrong.empty:
            out.append(
                Finding(
                    "Data-parallel training on one host gave correct collectives in "
                    + md(", ".join(sorted(correct["framework"].unique())))
                    + ": every known-answer all-reduce exact and the parameters equal to a one-process run within "
                    f"tolerance ({int(correct['params_checks'].sum())} checks).",
                    "tab-dp-correctness",
                )
            )
    fit = tables.keras_fit(report)
    if not fit.empty and (fit["outcome"] != "ok").any():
        last = fit[fit["outcome"] != "ok"].iloc[-1]
        out.append(
            Finding(
                f"Keras fit under MultiWorkerMirroredStrategy failed in "
                f"{int((fit['outcome'] != 'ok').sum())} of {len(fit)} attempts ({md(last['error_type'])}), "
                "while the same strategy with a custom loop trained.",
                "tab-dp-coverage",
            )
        )
    bad = tables.failures(report)
    bad = bad[bad["role"] == "timed"]
    if not bad.empty:
        out.append(
            Finding(
                f"{len(bad)} data-parallel launch(es) failed or hung "
                f"({md(', '.join(sorted(set(bad['framework'] + ' ' + bad['outcome']))))}); each was killed "
                "with its process group and stored.",
                "dp-failures",
            )
        )
    return out
