"""The serving claims: each rule turns the store into a verdict, with its wording beside it."""

from __future__ import annotations

import pandas as pd

from fwbench.report.claims import all_some_none, rule
from fwbench.report.results import Report, fmt_s
from fwbench.report.sanitize import md


#: X4: the SavedModel is "on par" with at least this share of the best other runtime's peak throughput ...
X4_THROUGHPUT_SHARE = 0.9


#: ... and a single-client p99 at most this multiple of the lowest other runtime's.
X4_P99_FACTOR = 1.25


@rule("X4", "Only the measurable half of *mature*: does the SavedModel, served (TensorFlow Serving where its binary "
           "is installed, else fwbench's common HTTP frontend with TensorFlow loading the SavedModel), serve reliably "
           "and as well as the other runtimes behind the same load? Per machine and workload, each runtime's best "
           "closed-loop throughput and its lowest single-client p99 latency, each over batching on/off and both wire "
           "formats (error-free levels only). The SavedModel is *on par or ahead* when its best throughput is at least "
           f"{X4_THROUGHPUT_SHARE:.0%} of the best other runtime's and its single-client p99 at most "
           f"{X4_P99_FACTOR:g}x the lowest other one. "
           "**Supported** if it is on par or ahead on every workload and no SavedModel server failed; "
           "**contradicted** if it is behind everywhere; **mixed** otherwise.")
def rule_x4(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.serving import tables as sr

    servers = sr.servers(report)
    if servers.empty:
        return "not yet measured", "", servers
    best = sr.best_per_variant(sr.levels(report))
    is_sm = servers["source"].isin(sr.SAVEDMODEL_SOURCES)
    notes = []
    for _, r in servers[is_sm & (servers["outcome"] == "unavailable")].drop_duplicates("variant").iterrows():
        notes.append(f"- {r['machine_label']} {r['label']}: **unavailable** ({md(r['error_message'])})")
    failed = servers[is_sm & (servers["outcome"] == "fails")]
    if not (is_sm & (servers["outcome"] != "unavailable")).any():
        return "not yet measured", "No SavedModel server ran here.\n" + "\n".join(notes), pd.DataFrame()
    rows = []
    for (machine, workload), g in servers[servers["outcome"] != "unavailable"].groupby(["machine_label", "workload"]):
        b = best[(best["machine_label"] == machine) & (best["workload"] == workload)] if not best.empty else best
        sm_variants = set(g[g["source"].isin(sr.SAVEDMODEL_SOURCES)]["variant"])
        sm = b[b["variant"].isin(sm_variants) & (b["framework"] == "tensorflow")] if not b.empty else b
        other = b[~(b["variant"].isin(sm_variants) & (b["framework"] == "tensorflow"))] if not b.empty else b
        row = {"machine_label": machine, "workload": workload}
        if sm.empty:
            rows.append({**row, "verdict": "does not serve", "detail": "no SavedModel server served it"})
            continue
        top = sm.loc[sm["peak_rps"].idxmax()]
        if other.empty:
            rows.append({**row, "verdict": "on par or ahead", "detail": "no other runtime to compare"})
            continue
        rival = other.loc[other["peak_rps"].idxmax()]
        quick = other.loc[other["single_client_p99_s"].idxmin()]
        on_par = (top["peak_rps"] >= X4_THROUGHPUT_SHARE * rival["peak_rps"]
                  and top["single_client_p99_s"] <= X4_P99_FACTOR * quick["single_client_p99_s"])
        rows.append({**row, "verdict": "on par or ahead" if on_par else "behind",
                     "detail": (f"{top['label']} peaks at {top['peak_rps']:.0f} req/s, single-client p99 "
                                f"{fmt_s(top['single_client_p99_s'])}; best other: {rival['label']} "
                                f"{rival['peak_rps']:.0f} req/s, lowest single-client p99: {quick['label']} "
                                f"{fmt_s(quick['single_client_p99_s'])}")})
    cells = pd.DataFrame(rows)
    if cells.empty:
        return "not yet measured", "\n".join(notes), cells
    evidence = "\n".join(f"- {c['machine_label']} {c['workload']}: **{c['verdict']}** ({c['detail']})"
                         for _, c in cells.iterrows())
    if not failed.empty:
        evidence += "\n\nSavedModel server starts that failed:\n" + "\n".join(
            f"- {r['machine_label']} {r['label']} on {r['workload']}: {md(r['error_type'])}: {md(str(r['error_message'])[:160])}"
            for _, r in failed.iterrows())
    if notes:
        # A verdict never rests silently on a system that did not run: say first what was compared instead.
        compared = ", ".join(sorted({str(v) for v in servers[is_sm & (servers["outcome"] != "unavailable")]["label"]}))
        evidence = (f"TensorFlow Serving did not run here, so this verdict compares the SavedModel as served by "
                    f"{md(compared)} with the other runtimes. " + evidence + "\n\nNot measured here:\n" + "\n".join(notes))
    verdict = all_some_none(cells, "on par or ahead")
    if verdict == "supported" and not failed.empty:
        verdict = "mixed"
    return verdict, evidence, cells
