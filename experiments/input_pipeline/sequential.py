"""Which loaders need another process: those in a comparison P1 reads that is still undecided at this look.

A cell is one loader (framework) reading its formats, one fresh pipeline process per job. P1 compares tf.data with
each other loader per page cache, worker count and format kind (`tables.comparisons`, on the processes
`attempts.usable` keeps), an unpaired interval over both loaders' processes. Each comparison is judged at the look
its process count makes (fwbench.measure.sequential.compare_at: a repeated confidence interval) against the
equivalence margin; both
loaders stay open while it is undecided, unless more processes could not decide it (`futile`). Only the
processes P1 reads count (passed the checks, not measured on a busy machine).
"""

from __future__ import annotations

from fwbench.experiments.input_pipeline import attempts
from fwbench.measure.sequential import Design, by_block, compare_at, decided, futile


def judge(cells: dict[str, list[dict]], designs: dict[str, Design]) -> dict[str, dict]:
    """cell id -> its comparisons at this look: `open` (undecided, more processes may decide them), `futile`
    (undecided, more would not), `decided` (a count), each open or futile one as a short text."""
    out = {cell_id: {"open": [], "futile": [], "decided": 0} for cell_id in cells}
    for block in by_block(cells):  # a page-cache block compares only its own loaders
        _judge_block(block, designs, out)
    return out


def _judge_block(cells: dict[str, list[dict]], designs: dict[str, Design], out: dict[str, dict]) -> None:
    att = attempts.attempt_rows(("", "", doc) for docs in cells.values() for doc in docs)
    if att.empty:
        return
    good = attempts.usable(att)
    cell_of = {doc["job_id"]: cell_id for cell_id, docs in cells.items() for doc in docs}
    for (workers, kind), here in good.groupby(["workers", "kind"]):
        subject = here[here["framework"] == attempts.SUBJECT]
        for other in sorted(set(here["framework"]) - {attempts.SUBJECT}):
            rival = here[here["framework"] == other]
            if subject.empty or rival.empty:
                continue
            a, b = cell_of[subject["job_id"].iloc[0]], cell_of[rival["job_id"].iloc[0]]
            design = min(designs[a], designs[b], key=lambda d: d.cap)
            c = compare_at(attempts.per_process(rival), attempts.per_process(subject), design)
            text = (
                f"tf.data vs {attempts.loader_of(other)}, {int(workers)} workers, {kind} format, "
                f"{c.verdict} at {min(c.n_baseline, c.n_candidate)} processes"
            )
            for cell_id in dict.fromkeys((a, b)):
                if decided(c):
                    out[cell_id]["decided"] += 1
                else:
                    out[cell_id]["futile" if futile(c, design) else "open"].append(text)


def open_cells(cells: dict[str, list[dict]], designs: dict[str, Design]) -> dict[str, str]:
    """cell id -> the comparisons it still has open (a short text), for the loaders that need another process."""
    return {cell_id: "; ".join(j["open"]) for cell_id, j in judge(cells, designs).items() if j["open"]}
