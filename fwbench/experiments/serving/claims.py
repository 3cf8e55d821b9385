"""The serving claims: each rule turns the store into a verdict, with its wording beside it."""

from __future__ import annotations

import pandas as pd

from fwbench.measure import stats
from fwbench.report.claims import SCALE_TEXT, count_line, rule, tally, upper_bound
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
           "formats (error-free levels only), estimated over its server starts: one per process of the profile, the "
           "processes taking turns with the other variants in a seeded random order. Against the best other runtime "
           "(throughput) and the lowest other p99, with 95% intervals over server starts: the SavedModel is *on par "
           f"or ahead* when the throughput ratio's whole interval is at or above {X4_THROUGHPUT_SHARE:.0%} and the p99 "
           f"ratio's whole interval at or below {X4_P99_FACTOR:g}x; *behind* when either interval lies wholly beyond "
           "its bound (or no SavedModel server served the workload); *inconclusive* otherwise, including a "
           "runtime measured in one process only (no interval) and a workload with no other runtime to compare. "
           "Only decided workloads vote (a workload on par or ahead supports the claim, one behind contradicts it). "
           + SCALE_TEXT + " A SavedModel server that failed turns a supported verdict into *mixed*.")
def rule_x4(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.serving import tables as sr

    servers = sr.servers(report)
    if servers.empty:
        return "not yet measured", "", servers
    best = sr.best_per_variant(sr.levels(report))
    is_sm = servers["source"].isin(sr.SAVEDMODEL_SOURCES)
    notes = []
    for _, r in servers[is_sm & (servers["outcome"] == "unavailable")].drop_duplicates("variant").iterrows():
        notes.append(f"- {md(r['machine_label'])} {md(r['label'])}: **unavailable** ({md(r['error_message'])})")
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
            rows.append({**row, "role": "contradicts", "detail": "no SavedModel server served it",
                         "summary": "no SavedModel server served it"})
            continue
        top = sm.loc[sm["peak_rps"].idxmax()]
        if other.empty:
            rows.append({**row, "role": "inconclusive", "detail": "no other runtime to compare",
                         "summary": "no other runtime to compare"})
            continue
        rival = other.loc[other["peak_rps"].idxmax()]
        quick = other.dropna(subset=["single_client_p99_s"])
        rows.append({**row, **_x4_cell(top, rival, quick.loc[quick["single_client_p99_s"].idxmin()]
                                       if not quick.empty else None)})
    cells = pd.DataFrame(rows)
    if cells.empty:
        return "not yet measured", "\n".join(notes), cells
    verdict, counts = tally(cells)
    evidence = (f"{counts['supports']} workload(s) on par or ahead, {counts['contradicts']} behind, "
                f"{counts['inconclusive']} inconclusive. " + count_line(counts) + "\n\n"
                + "\n".join(f"- {md(c['machine_label'])} {md(c['workload'])}: {c['detail']}: **{ROLE_WORDS[c['role']]}**"
                            for _, c in cells.iterrows()))
    if not failed.empty:
        evidence += "\n\nSavedModel server starts that failed:\n" + "\n".join(
            f"- {md(r['machine_label'])} {md(r['label'])} on {md(r['workload'])}: {md(r['error_type'])}: {md(str(r['error_message'])[:160])}"
            for _, r in failed.iterrows())
    if notes:
        # A verdict never rests silently on a system that did not run: say first what was compared instead.
        compared = ", ".join(sorted({str(v) for v in servers[is_sm & (servers["outcome"] != "unavailable")]["label"]}))
        cells.attrs["caveat"] = (f"TensorFlow Serving did not run here, so this verdict compares the SavedModel as "
                                 f"served by {compared} with the other runtimes.")
        evidence = (f"TensorFlow Serving did not run here, so this verdict compares the SavedModel as served by "
                    f"{md(compared)} with the other runtimes. " + evidence + "\n\nNot measured here:\n" + "\n".join(notes))
    if verdict.startswith("supported") and not failed.empty:
        verdict = "mixed"
    return verdict, evidence, cells


ROLE_WORDS = {"supports": "on par or ahead", "contradicts": "behind", "inconclusive": "inconclusive"}


def _x4_cell(top: pd.Series, rival: pd.Series, quick: pd.Series | None) -> dict:
    """Role of one (machine, workload): the SavedModel's throughput over the best other runtime's, and its
    single-client p99 over the lowest other one, each a ratio with a 95% interval over server starts."""
    from fwbench.experiments.serving import tables as sr

    thr = stats.compare(sr.per_start(top, "peak_by_process"), sr.per_start(rival, "peak_by_process"))
    ok_thr, bad_thr = thr.ci_low >= X4_THROUGHPUT_SHARE, thr.ci_high < X4_THROUGHPUT_SHARE
    detail = (f"{md(top['label'])} throughput {top['peak_rps']:.0f} req/s, {thr.ratio:.2f}x {md(rival['label'])}'s "
              f"{rival['peak_rps']:.0f} (95% CI {thr.ci_low:.2f}-{upper_bound(thr.ci_high)}, "
              f"{thr.n_baseline} vs {thr.n_candidate} server starts)")
    ok_lat = bad_lat = False
    if quick is not None and top["p99_by_process"]:
        lat = stats.compare(sr.per_start(top, "p99_by_process"), sr.per_start(quick, "p99_by_process"))
        ok_lat, bad_lat = lat.ci_high <= X4_P99_FACTOR, lat.ci_low > X4_P99_FACTOR
        detail += (f"; single-client p99 {fmt_s(top['single_client_p99_s'])}, {lat.ratio:.2f}x {md(quick['label'])}'s "
                   f"{fmt_s(quick['single_client_p99_s'])} (95% CI {lat.ci_low:.2f}-{upper_bound(lat.ci_high)})")
    else:
        detail += "; no single-client p99 to compare"
    role = "contradicts" if bad_thr or bad_lat else "supports" if ok_thr and ok_lat else "inconclusive"
    summary = f"{top['label']} at {thr.ratio:.2f}x the throughput of {rival['label']}"
    return {"role": role, "detail": detail, "summary": summary, "throughput_ratio": thr.ratio, "throughput_ci_low": thr.ci_low,
            "throughput_ci_high": thr.ci_high}
