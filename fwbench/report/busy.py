"""How the chapters list the timings measured on a busy machine (fwbench.measure.quiet) that they leave out."""

from __future__ import annotations

import pandas as pd

from fwbench.report.results import plain_number


def busy_blocks(records: list[dict], key) -> list[tuple[tuple, dict]]:
    """(key, {"other_cpus": .., "block_attempts": ..}) of every block a job's records mark busy (`busy_block` 1);
    `key(record)` names the block a record belongs to, and the block's other records are found by it."""
    out = []
    for r in records:
        if r["metric"] != "busy_block" or not r["value"] > 0:
            continue
        k = key(r)
        how = {
            o["metric"]: o["value"] for o in records if o["metric"] in ("other_cpus", "block_attempts") and key(o) == k
        }
        out.append((k, how))
    return out


def how_busy(other_cpus, attempts) -> str:
    """'other programs used 0.9 CPUs on average (3 attempts)', with what was not recorded left out."""
    used = f"{plain_number(other_cpus)} CPUs on average" if pd.notna(other_cpus) else "the CPUs"
    tries = f" ({int(attempts)} attempt{'s' if attempts != 1 else ''})" if pd.notna(attempts) else ""
    return f"other programs used {used}{tries}"


def busy_list(items: list[str], what: str, again: str, left_out: str) -> str:
    """The chapter's paragraph: how many `what` were measured on a busy machine even when `again`, that their
    `left_out` is left out, then one Markdown item per run ("" when there are none)."""
    if not items:
        return ""
    return (
        f"{len(items)} {what} were measured on a busy machine (other programs took the CPUs even when {again}), so "
        f"{left_out} left out of every table, chart and verdict here:\n\n" + "\n".join(f"- {i}" for i in items)
    )
