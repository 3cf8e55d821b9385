"""Every stored number in one table a reader can filter and sort, plus the same data as CSV and Parquet files.

One row per (experiment, machine, framework, variant, device, workload, phase,
batch, metric) of the newest results. Step times measured in several processes
(eager-vs-graph cells, export latencies) carry the interval over processes,
computed as everywhere else in the book; other metrics show their median over
the jobs that measured them and how many there were.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fwbench.report.results import Report, escape

COLUMNS = [
    "experiment",
    "machine",
    "framework",
    "variant",
    "mode",
    "device",
    "workload",
    "phase",
    "batch",
    "metric",
    "value",
    "unit",
    "ci_low",
    "ci_high",
    "n",
]
GROUP = [
    "experiment",
    "machine_label",
    "framework",
    "variant",
    "mode",
    "device",
    "workload",
    "phase",
    "batch_size",
    "metric",
    "unit",
]
#: How the mode column reads: a value averaged over eager and compiled modes would mean nothing, so each row says.
MODE_WORDS = {"eager": "eager", "graph": "compiled"}
#: Per-process step-time statistics: the cell-level interval below replaces them.
_PER_PROCESS = ("step_time_", "throughput_per_s")


def _cell_rows(report: Report) -> list[dict]:
    """The step time and throughput of every cell of an experiment stored as timing series (one row each, with
    its interval over processes), in place of the per-process numbers."""
    from fwbench.experiments import timed

    return [row for name in timed() for row in _cells_of(report, name)]


def _cells_of(report: Report, experiment: str) -> list[dict]:
    cells = report.cell_table(experiment)
    if cells.empty or "step_time_median_s" not in cells:
        return []
    rows = []
    for _, c in cells.dropna(subset=["step_time_median_s"]).iterrows():
        base = {
            "experiment": experiment,
            "machine": c["machine_label"],
            "framework": c["framework"],
            "variant": c["variant"],
            "mode": c.get("mode", ""),
            "device": c["device"],
            "workload": c["workload"],
            "phase": c["phase"],
            "batch": c["batch_size"],
            "n": int(c["n_processes"]),
        }
        rows.append(
            {
                **base,
                "metric": "step_time_s",
                "value": c["step_time_median_s"],
                "unit": "s",
                "ci_low": c["step_time_ci_low_s"],
                "ci_high": c["step_time_ci_high_s"],
            }
        )
        lo, hi = c["step_time_ci_low_s"], c["step_time_ci_high_s"]
        rows.append(
            {
                **base,
                "metric": "throughput_per_s",
                "value": c["throughput_per_s"],
                "unit": "samples/s",
                "ci_low": c["batch_size"] / hi if hi > 0 and np.isfinite(hi) else np.nan,
                "ci_high": c["batch_size"] / lo if lo > 0 and np.isfinite(lo) else np.nan,
            }
        )
    return rows


def _in_job(ok: pd.DataFrame) -> pd.Series:
    """Rows of jobs that timed several processes themselves (their records name more than one process); every
    other row's process is its job's."""
    return ok.groupby("job_id")["process"].transform("nunique") > 1


def _in_job_process_rows(ok: pd.DataFrame) -> list[dict]:
    """Step times timed in several processes inside one job (export latencies): the same estimate over processes."""
    from fwbench.measure import stats

    rows = []
    medians = ok[_in_job(ok) & (ok["metric"] == "step_time_median_s")]
    for key, g in medians.groupby([c for c in GROUP if c not in ("metric", "unit")], dropna=False):
        base = dict(
            zip(["experiment", "machine", "framework", "variant", "mode", "device", "workload", "phase", "batch"], key)
        )
        est, lo, hi = stats.cell_estimate({p: [v] for p, v in zip(g["process"], g["value"])})
        n = g["process"].nunique()
        if n < 2:
            lo = hi = np.nan
        rows.append({**base, "metric": "step_time_s", "value": est, "unit": "s", "ci_low": lo, "ci_high": hi, "n": n})
    return rows


def table(report: Report) -> pd.DataFrame:
    """The view's rows (raw numbers; `display` formats them)."""
    records = report.records
    rows = _cell_rows(report)
    if not records.empty:
        ok = records[(records["status"] == "ok") & records["value"].notna()]
        rows += _in_job_process_rows(ok)
        per_process = ok["metric"].str.startswith(_PER_PROCESS)
        from fwbench.experiments import timed

        # Where a cell row above stands for them (an experiment of timing series), its per-process rows go.
        covered = {row["experiment"] for row in rows}
        ok = ok[~(per_process & (ok["experiment"].isin(covered & set(timed())) | _in_job(ok)))]
        ok = ok.assign(
            batch_size=ok["batch_size"].fillna(-1),
            phase=ok["phase"].fillna(""),
            workload=ok["workload"].fillna(""),
            unit=ok["unit"].fillna(""),
            mode=ok["mode"].fillna(""),
        )
        agg = ok.groupby(GROUP, dropna=False)["value"].agg(["median", "size"]).reset_index()
        for _, r in agg.iterrows():
            rows.append(
                {
                    "experiment": r["experiment"],
                    "machine": r["machine_label"],
                    "framework": r["framework"],
                    "variant": r["variant"],
                    "mode": r["mode"],
                    "device": r["device"],
                    "workload": r["workload"],
                    "phase": r["phase"],
                    "batch": r["batch_size"],
                    "metric": r["metric"],
                    "value": r["median"],
                    "unit": r["unit"],
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "n": int(r["size"]),
                }
            )
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["batch"] = df["batch"].map(
        lambda b: int(b) if isinstance(b, (int, float)) and np.isfinite(b) and b >= 0 else None
    )
    return df.sort_values(["experiment", "machine", "workload", "framework", "variant", "metric"]).reset_index(
        drop=True
    )


def _sig(value: float, digits: int) -> float:
    """`value` rounded to `digits` significant digits, so a unit is chosen for the number that will be printed
    (0.9996 s is "1 s", not "1e+03 ms")."""
    return float(f"{value:.{digits}g}")


def number(value: float, unit: str) -> str:
    """A value with its unit, readable: 26.4 ms, 812 µs, 3.1 k samples/s, 0.47 (no e-notation)."""
    if not isinstance(value, (int, float)) or not np.isfinite(value):
        return "-"
    if unit == "s":
        if abs(value) >= 999.5:
            return f"{value:,.0f} s"
        value = _sig(value, 3)
        a = abs(value)
        if a >= 1:
            return f"{value:.3g} s"
        if a >= 1e-3:
            return f"{_sig(value * 1e3, 3):g} ms"
        if a >= 1e-7:
            return f"{_sig(value * 1e6, 3):g} µs"
        return "< 0.1 µs"  # (the low end of a two-process interval): no e-notation, no false digits
    if unit == "bytes":
        for size, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if abs(_sig(value / size, 3)) >= 1:
                return f"{_sig(value / size, 3):,g} {name}"
        return f"{value:.0f} B"
    value = _sig(value, 4)
    a = abs(value)
    text = (
        f"{value / 1e6:,.3g} M"
        if a >= 1e6
        else f"{_sig(value / 1e3, 3):g} k"
        if a >= 1e4
        else f"{value:.4g}"
        if a >= 1e-3 or a == 0
        else f"{value:.2g}"
    )
    if "e" in text.lower():  # tiny or huge values: plain decimals, never e-notation
        text = np.format_float_positional(value, precision=3, unique=False, fractional=False, trim="-")
    return f"{text} {unit}".rstrip() if unit not in ("", "count", "ratio", "bool") else text


def write_files(df: pd.DataFrame, directory: Path) -> dict[str, Path]:
    """The view's rows as CSV and Parquet (raw numbers, SI units as stored)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"csv": directory / "fwbench-results.csv", "parquet": directory / "fwbench-results.parquet"}
    df.to_csv(paths["csv"], index=False)
    df.to_parquet(paths["parquet"], index=False)
    return paths


def html(df: pd.DataFrame) -> str:
    """The table as HTML with every store string escaped; `results-view.js` adds filters and sorting, and the
    table reads fine without it. Each cell carries its raw value for sorting in `data-sort`."""
    # What a reader compares comes first (value and interval stay in view without scrolling sideways); where it
    # was measured follows.
    shown = [
        "framework",
        "variant",
        "mode",
        "workload",
        "phase",
        "batch",
        "metric",
        "value",
        "95% CI",
        "n",
        "machine",
        "device",
        "experiment",
    ]
    head = "".join(f"<th>{escape(c)}</th>" for c in shown)
    body = []
    for r in df.itertuples(index=False):
        ci = (
            f"{number(r.ci_low, r.unit)} – {number(r.ci_high, r.unit)}"
            if np.isfinite(r.ci_low) and np.isfinite(r.ci_high) and r.ci_low > 0
            else "-"
        )
        mode = ", ".join(MODE_WORDS.get(m, m) for m in str(getattr(r, "mode", "") or "").split(",") if m)
        cells = [
            (r.framework, None),
            (r.variant, None),
            (mode, None),
            (r.workload, None),
            (r.phase, None),
            ("" if r.batch is None else r.batch, r.batch),
            (r.metric, None),
            (number(r.value, r.unit), r.value),
            (ci, r.ci_low),
            (r.n, r.n),
            (r.machine, None),
            (r.device, None),
            (r.experiment, None),
        ]
        tds = "".join(
            f"<td data-sort='{escape(raw)}'>{escape(text)}</td>"
            if raw is not None and raw == raw
            else f"<td>{escape(text)}</td>"
            for text, raw in cells
        )
        body.append(f"<tr>{tds}</tr>")
    # A data browser: it scrolls sideways rather than squeezing every column (the page check allows that here).
    return (
        f"<div class='fwbench-scrolls'><table class='fwbench-table fwbench-filterable fwbench-results-view' "
        f"data-filter-columns='experiment,machine,framework,workload,metric'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
