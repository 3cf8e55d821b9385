"""The input-pipeline finding the book opens with: per machine, the loader with the most samples per second at the
most workers measured on the common shards, with each loader's number and interval, from the chapter's table."""

from __future__ import annotations

import numpy as np

from fwbench.experiments.input_pipeline import tables
from fwbench.report.findings import Finding, ci_text
from fwbench.report.results import Report, plain_number
from fwbench.report.sanitize import md


def findings(report: Report) -> list[Finding]:
    pipes = tables.pipelines(report)
    out = []
    if pipes.empty:
        return out
    common = pipes[(pipes["kind"] == "common") & pipes["samples_per_s"].notna()]
    for (machine, cache), g in common.groupby(["machine_label", "page_cache"]):
        top = g[g["workers"] == g["workers"].max()].sort_values("samples_per_s", ascending=False)
        said = "; ".join(
            f"{md(r['loader'])} {plain_number(r['samples_per_s'], 3)} samples/s "
            f"({ci_text(r['samples_per_s_ci_low'], r['samples_per_s_ci_high'], lambda v: plain_number(v, 3), 'one process, no interval')})"
            for _, r in top.iterrows()
        )
        first = top.iloc[0]
        startup = g[g["workers"] == g["workers"].max()].set_index("loader")["first_batch_s"]
        text = (
            f"**Input pipelines on {md(machine)}** ({md(cache)} page cache, the same .npy shards, "
            f"{int(first['workers'])} workers): {said}. Time to the first batch: "
            + ", ".join(f"{md(k)} {v:.2f} s" for k, v in startup.items() if np.isfinite(v))
            + ". Whether the highest is higher beyond noise is claim P1's verdict."
        )
        out.append(Finding(text, "fig-pipeline-throughput"))
    return out
