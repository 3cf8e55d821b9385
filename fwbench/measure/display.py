"""How a job's notebook shows what it measured: values in their units, one row per measured thing, no empty cells.

The appendix shows every executed notebook as it ran, so its tables are formatted when the job
runs, as the chapters format theirs: durations in s/ms/µs, bytes in MB, rates with their unit,
yes/no for flags, and no `nan`, e-notation or `batch 1.0` from a pivot over sparse records.
"""

from __future__ import annotations

import math

import pandas as pd

from fwbench.measure.metrics import COMMON

#: Shown where a table has no value (a metric a variant does not have).
MISSING = "–"


def duration(seconds: float) -> str:
    """A duration with a sensible unit: 1.23 s, 4.56 ms, 78.9 µs, 120 ns."""
    if not math.isfinite(seconds):
        return "never"
    size = abs(seconds)
    if size >= 1 or size == 0:
        return f"{seconds:.2f} s"
    if size >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    if size >= 1e-6:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e9:.0f} ns"


def _plain(x: float) -> str:
    """A number without e-notation: 3 significant digits, thousands grouped."""
    if x == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{digits}f}"


def value(x, unit: str | None) -> str:
    """One stored value as text in its unit (the unit strings of fwbench.measure.metrics)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return MISSING
    if not isinstance(x, (int, float)) or isinstance(x, bool) and unit != "bool":
        return str(x)
    x = float(x)
    if unit == "s":
        return duration(x)
    if unit == "bool":
        return "yes" if x else "no"
    if unit in ("count", "steps"):
        return f"{x:,.0f}"
    if unit == "bytes":
        return f"{x / 1e6:,.1f} MB"
    if unit == "fraction":
        return f"{x:.1%}"
    text = _plain(x)
    return text if unit in (None, "", "ratio", "abs") else f"{text} {unit}"


def records_table(
    records: list[dict], rows: list[str], columns: list[str], metrics: list[str] | None = None
) -> pd.DataFrame:
    """Stored records as a table of text: one row per value of `rows`, one column per value of `columns`.

    Each cell holds the value in its unit; combinations that were not measured show MISSING. Integer
    axes (batch sizes) stay integers, and the metric's unit is taken from each record. With `metrics`,
    only those metrics are shown, in that order where they are the columns.
    """
    if metrics is not None:
        records = [r for r in records if r.get("metric") in metrics]
    if not records:
        return pd.DataFrame()
    df = pd.DataFrame(records)
    df["text"] = [value(v, u) for v, u in zip(df["value"], df.get("unit", pd.Series([None] * len(df))))]
    for axis in rows + columns:
        if axis not in df:
            df[axis] = ""
        elif pd.api.types.is_float_dtype(df[axis]) and df[axis].dropna().eq(df[axis].dropna().round()).all():
            df[axis] = df[axis].astype("Int64")
    df = df.drop_duplicates(subset=rows + columns, keep="last")
    if not columns:
        return df.set_index(rows)[["text"]].rename(columns={"text": "value"})
    table = df.pivot(index=rows, columns=columns, values="text").fillna(MISSING)
    if metrics is not None and columns == ["metric"]:
        table = table[[m for m in metrics if m in table.columns]]
    table.columns = [" ".join(str(c) for c in col) if isinstance(col, tuple) else str(col) for col in table.columns]
    return table


def frame(rows: list[dict], metrics: dict | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """A list of dicts as a table of text, `columns` (default: all) in order.

    A column named after a metric of `metrics` (name -> fwbench.measure.metrics.Metric) or of the
    shared COMMON table is shown in that metric's unit; flags read yes/no, and absent values MISSING.
    """
    units = {name: m.unit for name, m in {**COMMON, **(metrics or {})}.items()}
    out = pd.DataFrame(rows)
    if columns is not None:
        out = out.reindex(columns=columns)
    for col in out.columns:
        out[col] = [
            ("yes" if v else "no")
            if isinstance(v, bool)
            else value(v, units.get(col))
            if isinstance(v, (int, float)) or v is None
            else str(v)
            for v in out[col]
        ]
    return out


#: The columns of `timing_table`: header -> metric (the step-time interval is folded into the median's cell).
TIMING_COLUMNS = {
    "first call": "first_call_s",
    "shape change": "shape_change_s",
    "automatic shapes": "shape_change_automatic_s",
    "warm-up steps": "warmup_steps",
    "steps timed": "n_repeats",
    "steady": "stable",
}


def timing_table(records: list[dict], rows: list[str]) -> pd.DataFrame:
    """Step-time records as one narrow table: per row of `rows`, the median step with its 95% interval in one
    cell, then first call, shape changes, warm-up and how many steps were timed; absent columns are left out."""
    if not records:
        return pd.DataFrame()
    names = ["step_time_median_s", "step_time_ci_low_s", "step_time_ci_high_s", *TIMING_COLUMNS.values()]
    wide = records_table(records, rows, ["metric"], metrics=names)
    if wide.empty:
        return wide
    out = pd.DataFrame(index=wide.index)
    if "step_time_median_s" in wide:
        low, high = (
            wide.get(c, pd.Series(MISSING, index=wide.index)) for c in ("step_time_ci_low_s", "step_time_ci_high_s")
        )
        out["median step [95% interval]"] = [
            m if m == MISSING or lo == MISSING else f"{m} [{lo} – {hi}]"
            for m, lo, hi in zip(wide["step_time_median_s"], low, high)
        ]
    for header, metric in TIMING_COLUMNS.items():
        if metric in wide:
            out[header] = wide[metric]
    return out
