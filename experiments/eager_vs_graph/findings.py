"""Who is fastest, per machine and workload, and the eager-vs-graph findings the book opens with, from the store."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from fwbench.experiments.eager_vs_graph.views import comparisons
from fwbench.measure import stats
from fwbench.measure.stats import EQUIVALENCE_MARGIN
from fwbench.report.findings import Finding, ci_text, framework_name
from fwbench.report.results import SAMPLE_KEYS, Report, fmt_s, headline_batch
from fwbench.report.sanitize import md

EXP = "eager_vs_graph"
CELL = ["machine_label", "device", "workload", "phase", "batch_size", "params_digest"]
#: A share of unstable or busy series above this is a finding of its own on the book's first screen.
UNSTABLE_FINDING_SHARE = 0.1
#: Fewest processes behind a cell that a headline or a pick names as fastest: two processes give a t interval with
#: one degree of freedom (its 95% factor is 12.7 standard errors), which says nothing (a reference machine measured
#: with two processes, one of them crashed, once headlined the book).
MIN_PROCESSES = 3


def _standing(samples: dict, best_key: tuple, key: tuple) -> tuple[str, float, float, float]:
    """How `key` stands against the fastest (`best_key`): its class, how many times slower it is, and that
    factor's 95% interval."""
    if key == best_key:
        return "fastest", 1.0, 1.0, 1.0
    c = stats.compare(samples[key], samples[best_key])  # speedup = this time / fastest time
    standing = {"faster": "slower", "equivalent": "equivalent"}.get(c.verdict, "inconclusive")
    return standing, c.ratio, c.ci_low, c.ci_high


def fastest(report: Report) -> pd.DataFrame:
    """Per machine, device, workload and phase (at the headline batch): each framework's best eager and best
    compiled variant by absolute step time, and how each compiled best stands against the fastest of all.

    Standing uses the comparison behind every verdict: *tie* when the interval lies inside the equivalence
    margin, *inconclusive* when it straddles it, *slower* (by the factor shown) when it is beyond: the words every
    verdict uses.
    """
    cells = report.cell_table(EXP)
    if cells.empty or "step_time_median_s" not in cells:
        return pd.DataFrame()
    cells = headline_batch(cells.dropna(subset=["step_time_median_s"]))
    samples = report.samples(EXP)
    rows = []
    for cell, group in cells.groupby(CELL):
        best_per_fw = {}
        for fw, g in group.groupby("framework"):
            eager = g[g["mode"] == "eager"].sort_values("step_time_median_s")
            graph = g[g["mode"] == "graph"].sort_values("step_time_median_s")
            best_per_fw[fw] = (eager.iloc[0] if not eager.empty else None, graph.iloc[0] if not graph.empty else None)
        # Each framework's best is its faster mode: compiling does not always win (torch eager on a small model
        # at batch 1 beats torch.compile's guards and launch overhead), and a table that assumed it would crown
        # the wrong framework.
        best_of = {
            fw: min((r for r in pair if r is not None), key=lambda r: r["step_time_median_s"])
            for fw, pair in best_per_fw.items()
        }
        winner = min(best_of.values(), key=lambda r: r["step_time_median_s"])
        wkey = tuple(winner[k] for k in SAMPLE_KEYS)
        for fw, (e, c) in sorted(best_per_fw.items()):
            best = best_of[fw]
            key = tuple(best[k] for k in SAMPLE_KEYS)
            standing, factor, factor_lo, factor_hi = _standing(samples, wkey, key)
            row = dict(zip(CELL, cell))
            row.update(
                framework=fw,
                framework_version=best["framework_version"],
                eager_variant=e["variant"] if e is not None else None,
                eager_s=e["step_time_median_s"] if e is not None else np.nan,
                eager_ci_low_s=e["step_time_ci_low_s"] if e is not None else np.nan,
                eager_ci_high_s=e["step_time_ci_high_s"] if e is not None else np.nan,
                compiled_variant=c["variant"] if c is not None else None,
                compiled_s=c["step_time_median_s"] if c is not None else np.nan,
                compiled_ci_low_s=c["step_time_ci_low_s"] if c is not None else np.nan,
                compiled_ci_high_s=c["step_time_ci_high_s"] if c is not None else np.nan,
                best_variant=best["variant"],
                best_s=best["step_time_median_s"],
                best_ci_low_s=best["step_time_ci_low_s"],
                best_ci_high_s=best["step_time_ci_high_s"],
                standing=standing,
                times_fastest=factor,
                times_fastest_ci_low=factor_lo,
                times_fastest_ci_high=factor_hi,
                n_processes=int(best["n_processes"]),
            )
            rows.append(row)
    return pd.DataFrame(rows)


def _interval(mid: float, lo: float, hi: float) -> str:
    if not np.isfinite(mid):
        return "-"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{fmt_s(mid)} [one process: no interval]"
    return f"{fmt_s(mid)} [{fmt_s(lo)} – {fmt_s(hi)}]"


def _ci(lo: float, hi: float, fmt: Callable[[float], str]) -> str:
    return ci_text(lo, hi, fmt, "one process: no interval")


def standing_text(row) -> str:
    """Plain text: the HTML table it goes into escapes it."""
    if row["standing"] == "fastest":
        return "★ fastest"
    if row["standing"] == "equivalent":
        return f"equivalent to the fastest (within ±{EQUIVALENCE_MARGIN:.0%})"
    if row["standing"] == "inconclusive":
        return f"{row['times_fastest']:.2f}x the fastest's time, inconclusive (its interval straddles the margin)"
    return f"{row['times_fastest']:.2f}x slower"


def fastest_display(df: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    """The fastest table for reading: one small table per (machine, device), times with units and intervals."""
    out = {}
    if df.empty:
        return out
    for (machine, device), g in df.groupby(["machine_label", "device"], sort=True):
        g = g.sort_values(["workload", "phase", "best_s"])
        out[(machine, device)] = pd.DataFrame(
            {
                "workload": g["workload"],
                "phase": g["phase"],
                "batch": g["batch_size"].astype(int),
                "framework": g["framework"].map(framework_name),
                "best eager: time per step [95% CI]": [
                    f"{v}: {_interval(m, lo, hi)}" if v else "-"
                    for v, m, lo, hi in zip(g["eager_variant"], g["eager_s"], g["eager_ci_low_s"], g["eager_ci_high_s"])
                ],
                "best compiled: time per step [95% CI]": [
                    f"{v}: {_interval(m, lo, hi)}" if v else "-"
                    for v, m, lo, hi in zip(
                        g["compiled_variant"], g["compiled_s"], g["compiled_ci_low_s"], g["compiled_ci_high_s"]
                    )
                ],
                "against the fastest": [standing_text(r) for _, r in g.iterrows()],
            }
        )
    return out


def _times(v: float) -> str:
    return f"{v:.2f}x" if np.isfinite(v) else "unbounded"


def findings(report: Report) -> list[Finding]:
    """One sentence per machine and device on the fastest training step of each workload, and one on where
    compiling did not pay; every number from `fastest` and `views.comparisons`."""
    out = []
    table = fastest(report)
    if not table.empty:
        for (machine, device), g in table[table["phase"] == "train"].groupby(["machine_label", "device"]):
            parts = []
            for workload, w in g.groupby("workload"):
                win = w[w["standing"] == "fastest"].iloc[0]
                if win["n_processes"] < MIN_PROCESSES:
                    parts.append(
                        f"{md(workload)}: too few processes to name one ({int(win['n_processes'])} per cell; "
                        f"{MIN_PROCESSES} needed)"
                    )
                    continue
                rest = w[w["standing"] != "fastest"]
                ties = rest[rest["standing"].isin(["equivalent", "inconclusive"])]
                behind = rest[rest["standing"] == "slower"].sort_values("times_fastest")
                aside = _ci(win["best_ci_low_s"], win["best_ci_high_s"], fmt_s)
                for word in ("equivalent", "inconclusive"):  # the words of every verdict, not synonyms
                    near = ties[ties["standing"] == word]
                    if not near.empty:
                        aside += (
                            "; "
                            + ", ".join(
                                f"{md(framework_name(t['framework']))} {md(t['best_variant'])}"
                                for _, t in near.iterrows()
                            )
                            + (
                                f" equivalent (within ±{EQUIVALENCE_MARGIN:.0%})"
                                if word == "equivalent"
                                else " inconclusive against it"
                            )
                        )
                text = (
                    f"{md(workload)}: {md(framework_name(win['framework']))} {md(win['best_variant'])} at "
                    f"{fmt_s(win['best_s'])} per step ({aside})"
                )
                if not behind.empty:
                    nxt = behind.iloc[0]
                    text += (
                        f", {nxt['times_fastest']:.1f}x ahead of {md(framework_name(nxt['framework']))} "
                        f"{md(nxt['best_variant'])} ({_ci(nxt['times_fastest_ci_low'], nxt['times_fastest_ci_high'], _times)})"
                    )
                parts.append(text)
            out.append(
                Finding(
                    f"**Fastest training step on {md(machine)} ({md(device)})**, each framework at its "
                    f"best: " + "; ".join(parts) + ".",
                    "fastest",
                )
            )
    bad, total = report.unstable_share(EXP)
    if total and bad / total > UNSTABLE_FINDING_SHARE:
        out.append(
            Finding(
                f"**Many timings were not steady**: {bad} of {total} timed series ({bad / total:.0%}) "
                f"were stored as unstable or measured on a busy machine and left out of every comparison; "
                f"the claims page gives each timing verdict with and without them.",
                "sec-confidence",
            )
        )
    cmp = comparisons(report)
    if not cmp.empty:
        train = cmp[cmp["phase"] == "train"]
        decided = train[train["verdict"].isin(["faster", "slower", "equivalent"])]
        worse = decided[decided["verdict"] != "faster"]
        text = (
            f"**Compiling paid off** in {int((decided['verdict'] == 'faster').sum())} of {len(decided)} decided "
            f"training comparisons of a compiled mode with its own eager mode"
        )
        if not worse.empty:
            text += "; it did not in " + "; ".join(
                f"{md(framework_name(r['framework']))} {md(r['variant'])} on {md(r['workload'])} "
                f"({md(r['machine_label'])}: {r['speedup']:.2f}x, "
                f"{_ci(r['speedup_ci_low'], r['speedup_ci_high'], _times)}, {r['verdict']})"
                for _, r in worse.iterrows()
            )
        paid = train[(train["verdict"] == "faster") & np.isfinite(train["break_even_steps"])]
        if not paid.empty:
            slow = paid.loc[paid["break_even_steps"].idxmax()]
            # Among the modes decided faster only: the compile-cost table lists every mode, and a mode that is not
            # faster beyond the margin has a break-even that an interval could put anywhere (it says which).
            text += (
                f". Among the compiled modes decided faster, the longest wait for a compile to pay for itself was "
                f"{slow['break_even_steps']:,.0f} steps ({md(framework_name(slow['framework']))} "
                f"{md(slow['variant'])}, {md(slow['workload'])}, cold caches; the compile-cost table gives every "
                f"mode's)"
            )
        out.append(Finding(text + ".", "tab-compile-cost"))
    return out
