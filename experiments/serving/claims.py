"""The serving claims: each rule turns the store into a verdict, with its wording beside it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fwbench.experiments.serving.starts import TF_SERVING, X4_P99_FACTOR, X4_THROUGHPUT_SHARE, x4_places  # noqa: F401
from fwbench.measure import stats
from fwbench.report.claims import SCALE_TEXT, Revote, ci_words, count_line, rule, sensitivity_line, tally
from fwbench.report.results import Report, comparison_columns, fmt_s
from fwbench.report.sanitize import md

#: The neighbouring thresholds X4's verdict is shown at beside its own (fwbench.experiments.serving.starts says why
#: 0.9 and 1.25).
X4_THROUGHPUT_NEIGHBOURS = (0.8, 0.95)
X4_P99_NEIGHBOURS = (1.1, 1.5)


@rule(
    "X4",
    "Only the measurable half of *mature*: does the SavedModel, served (TensorFlow Serving where its binary "
    "is installed, else fwbench's common HTTP frontend with TensorFlow loading the SavedModel), serve reliably "
    "and as well as the other runtimes behind the same load? Per machine and workload, each runtime's best "
    "closed-loop throughput and its lowest single-client p99 latency, each over batching on/off and both wire "
    "formats (error-free levels only), estimated over its server starts: one per process of the profile, the "
    "processes taking turns with the other variants in a seeded random order. The SavedModel variant is fixed by "
    "rule (TensorFlow Serving's where it ran), and it meets every other runtime, not one picked by its point "
    "estimate: with 95% intervals over server starts, the SavedModel is *on par "
    f"or ahead* when against every other runtime the throughput ratio's whole interval is at or above {X4_THROUGHPUT_SHARE:.0%} and the p99 "
    f"ratio's whole interval at or below {X4_P99_FACTOR:g}x (why these: a tenth less throughput is what a "
    f"team accepts for a runtime it already runs, a quarter more p99 where a latency budget notices; the "
    f"verdict at the neighbouring thresholds is shown beside it); *behind* when against some runtime either ratio lies "
    f"beyond its bound, Holm-corrected over the runtimes compared (several rivals are several chances), "
    "(or no SavedModel server served the workload); *inconclusive* otherwise, including a "
    "runtime measured in one process only (no interval) and a workload with no other runtime to compare. "
    "Only decided workloads vote (a workload on par or ahead supports the claim, one behind contradicts it). "
    + SCALE_TEXT
    + " A SavedModel server that failed turns a supported verdict into *mixed*.",
)
def rule_x4(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.serving import tables as sr

    servers = sr.servers(report)
    if servers.empty:
        return "not yet measured", "", servers
    lv = sr.levels(report)
    best = sr.best_per_variant(lv)
    is_sm = servers["source"].isin(sr.SAVEDMODEL_SOURCES)
    notes = []
    for _, r in servers[is_sm & (servers["outcome"] == "unavailable")].drop_duplicates("variant").iterrows():
        notes.append(f"- {md(r['machine_label'])} {md(r['label'])}: **unavailable** ({md(r['error_message'])})")
    failed = servers[is_sm & (servers["outcome"] == "fails")]
    if not (is_sm & (servers["outcome"] != "unavailable")).any():
        return "not yet measured", "No SavedModel server ran here.\n" + "\n".join(notes), pd.DataFrame()

    def cells_at(share: float, factor: float) -> pd.DataFrame:
        return pd.DataFrame(_x4_rows(servers, best, share, factor))

    cells = cells_at(X4_THROUGHPUT_SHARE, X4_P99_FACTOR)
    if cells.empty:
        return "not yet measured", "\n".join(notes), cells
    verdict, counts = tally(cells)
    evidence = (
        f"{counts['supports']} workload(s) on par or ahead, {counts['contradicts']} behind, "
        f"{counts['inconclusive']} inconclusive. "
        + count_line(counts)
        + "\n\n"
        + "\n".join(
            f"- {md(c['machine_label'])} {md(c['workload'])}: {c['detail']}: **{ROLE_WORDS[c['role']]}**"
            for _, c in cells.iterrows()
        )
    )
    evidence += "\n\n" + sensitivity_line(
        "throughput share",
        X4_THROUGHPUT_SHARE,
        X4_THROUGHPUT_NEIGHBOURS,
        lambda v: tally(cells_at(v, X4_P99_FACTOR))[0],
    )
    evidence += " " + sensitivity_line(
        "p99 factor", X4_P99_FACTOR, X4_P99_NEIGHBOURS, lambda v: tally(cells_at(X4_THROUGHPUT_SHARE, v))[0], unit="x"
    )
    verdict, evidence, cells = _x4_finish(verdict, evidence, cells, servers, is_sm, failed, notes)
    return verdict, evidence + _frontend_note(sr.time_breakdown(lv, best), cells), cells


def _frontend_note(breakdown: pd.DataFrame, cells: pd.DataFrame) -> str:
    """Where the shared frontend, not the runtimes, set the throughput compared: said in the evidence and first in
    the verdict's reason, since "on par" then cannot tell the runtimes apart."""
    from fwbench.experiments.serving import tables as sr

    if not sr.frontend_bound(breakdown):
        return ""
    known = breakdown[breakdown["reported"]]
    note = (
        f"At its best throughput every runtime on the common frontend kept its model busy at most "
        f"{known['model_busy'].max():.0%} of the time, so the throughput compared is mostly the frontend's: on par "
        f"here does not show the runtimes equal (the serving chapter's *Where a request's time goes* compares "
        f"the calls alone)."
    )
    cells.attrs["caveat"] = " ".join(x for x in (cells.attrs.get("caveat", ""), note) if x)
    return "\n\n" + note


def _x4_rows(servers: pd.DataFrame, best: pd.DataFrame, share: float, factor: float) -> list[dict]:
    rows = []
    for machine, workload, top, other in x4_places(servers, best):
        row = {"machine_label": machine, "workload": workload}
        if top is None:
            rows.append(
                {
                    **row,
                    "role": "contradicts",
                    "detail": "no SavedModel server served it",
                    "summary": "no SavedModel server served it",
                }
            )
        elif other.empty:
            rows.append(
                {
                    **row,
                    "role": "inconclusive",
                    "detail": "no other runtime to compare",
                    "summary": "no other runtime to compare",
                }
            )
        else:
            rows.append({**row, **_x4_cell(top, other, share, factor)})
    return rows


def _x4_finish(verdict, evidence, cells, servers, is_sm, failed, notes):

    if not failed.empty:
        evidence += "\n\nSavedModel server starts that failed:\n" + "\n".join(
            f"- {md(r['machine_label'])} {md(r['label'])} on {md(r['workload'])}: {md(r['error_type'])}: {md(str(r['error_message'])[:160])}"
            for _, r in failed.iterrows()
        )
    if notes:
        # A verdict never rests silently on a system that did not run: say first what was compared instead.
        compared = ", ".join(sorted({str(v) for v in servers[is_sm & (servers["outcome"] != "unavailable")]["label"]}))
        cells.attrs["caveat"] = (
            f"TensorFlow Serving did not run here, so this verdict compares the SavedModel as "
            f"served by {compared} with the other runtimes."
        )
        evidence = (
            f"TensorFlow Serving did not run here, so this verdict compares the SavedModel as served by "
            f"{md(compared)} with the other runtimes. " + evidence + "\n\nNot measured here:\n" + "\n".join(notes)
        )
    if verdict.startswith("supported") and not failed.empty:
        verdict = "mixed"
    cells.attrs["revote"] = _x4_revote(cells, not failed.empty)
    return verdict, evidence, cells


ROLE_WORDS = {"supports": "on par or ahead", "contradicts": "behind", "inconclusive": "inconclusive"}


def x4_role(thr: list, lat: list, share: float = X4_THROUGHPUT_SHARE, factor: float = X4_P99_FACTOR) -> str:
    """Role of one (machine, workload) from the SavedModel's comparisons with every rival (`stats.Comparison`):
    throughput ratios `thr`, single-client p99 ratios `lat` (none where no p99 was measured: never on par)."""
    alpha = (1 - stats.LEVEL) / 2
    behind_thr = stats.holm([c.p_beyond("slower", 1 / share - 1) for c in thr], alpha)
    behind_lat = stats.holm([x.p_beyond("faster", factor - 1) for x in lat], alpha)
    if any(behind_thr) or any(behind_lat):
        return "contradicts"
    ok = thr and lat and all(c.ci_low >= share for c in thr) and all(x.ci_high <= factor for x in lat)
    return "supports" if ok else "inconclusive"


def _x4_revote(cells: pd.DataFrame, failed: bool) -> Revote:
    """X4 voted again on its comparisons redrawn: one row per comparison a (machine, workload) made, and one per
    place whose role needs none (no SavedModel served it, or no rival)."""
    rows = []
    for i, c in enumerate(cells.to_dict("records")):
        compared = c.get("compared")
        if not isinstance(compared, list) or not compared:
            rows.append({"place": i, "fixed": c["role"], "metric": "", "log_ratio": np.nan, "se": np.inf, "df": 1.0})
            continue
        for metric, x in compared:
            rows.append(
                {"place": i, "fixed": "", "metric": metric, **comparison_columns(x), "n": (x.n_baseline, x.n_candidate)}
            )
    frame = pd.DataFrame(rows)

    def comparison(r) -> stats.Comparison:
        return stats.Comparison(
            r["speedup"],
            r["speedup_ci_low"],
            r["speedup_ci_high"],
            *r["n"],
            r["paired"],
            r["verdict"],
            r["log_ratio"],
            r["se"],
            r["df"],
        )

    def verdict_of(d: pd.DataFrame) -> str:
        roles = []
        for _, g in d.groupby("place"):
            first = g.iloc[0]
            if first["fixed"]:
                roles.append(first["fixed"])
                continue
            got = {m: [comparison(r) for r in g[g["metric"] == m].to_dict("records")] for m in ("throughput", "p99")}
            roles.append(x4_role(got["throughput"], got["p99"]))
        word = tally(pd.DataFrame({"role": pd.Series(roles, dtype=object)}))[0]
        return "mixed" if failed and word.startswith("supported") else word

    return Revote(frame, verdict_of)


def _x4_cell(
    top: pd.Series, others: pd.DataFrame, share: float = X4_THROUGHPUT_SHARE, factor: float = X4_P99_FACTOR
) -> dict:
    """Role of one (machine, workload): the SavedModel's throughput over every other runtime's, and its single-client
    p99 over every other one's, each a ratio with a 95% interval over server starts. The rival is not picked by its
    point estimate (that selection would favour a verdict of "behind"): *behind* needs the SavedModel behind some
    runtime beyond the bound with the comparisons Holm-corrected over the rivals; *on par or ahead* needs it within
    the bound against every rival (an intersection, which needs no correction)."""
    from fwbench.experiments.serving import tables as sr

    thr = {
        r["label"]: stats.compare(sr.per_start(top, "peak_by_process"), sr.per_start(r, "peak_by_process"))
        for _, r in others.iterrows()
    }
    thr_margin = 1 / share - 1  # "slower" beyond this margin means a throughput ratio below `share`
    # The row shown: the rival the SavedModel is most surely behind (or closest to being behind).
    shown = min(thr, key=lambda k: (thr[k].p_beyond("slower", thr_margin), thr[k].ratio))
    rival = others[others["label"] == shown].iloc[0]
    c = thr[shown]
    detail = (
        f"{md(top['label'])} throughput {top['peak_rps']:.0f} req/s, {c.ratio:.2f}x {md(rival['label'])}'s "
        f"{rival['peak_rps']:.0f} ({ci_words(c.ci_low, c.ci_high)}, "
        f"{c.n_baseline} vs {c.n_candidate} server starts; against {len(thr)} other runtime(s))"
    )
    quick = others.dropna(subset=["single_client_p99_s"])
    lat: dict = {}
    if not quick.empty and top["p99_by_process"]:
        lat = {
            r["label"]: stats.compare(sr.per_start(top, "p99_by_process"), sr.per_start(r, "p99_by_process"))
            for _, r in quick.iterrows()
            if r["p99_by_process"]
        }
        if lat:
            worst = min(lat, key=lambda k: (lat[k].p_beyond("faster", factor - 1), -lat[k].ratio))
            x, q = lat[worst], quick[quick["label"] == worst].iloc[0]
            detail += (
                f"; single-client p99 {fmt_s(top['single_client_p99_s'])}, {x.ratio:.2f}x {md(q['label'])}'s "
                f"{fmt_s(q['single_client_p99_s'])} ({ci_words(x.ci_low, x.ci_high)})"
            )
    if not lat:
        detail += "; no single-client p99 to compare"
    summary = f"{top['label']} at {c.ratio:.2f}x the throughput of {rival['label']}"
    return {
        "role": x4_role(list(thr.values()), list(lat.values()), share, factor),
        "compared": [("throughput", x) for x in thr.values()] + [("p99", x) for x in lat.values()],
        "detail": detail,
        "summary": summary,
        "throughput_ratio": c.ratio,
        "throughput_ci_low": c.ci_low,
        "throughput_ci_high": c.ci_high,
    }
