"""Which serving runtimes need another server start: those in a comparison X4 reads that is still undecided at this look.

A cell is one runtime (framework and variant) serving every workload of its block, one server start per process.
X4 compares, per workload, the SavedModel runtime it fixes by rule (`starts.x4_places`) with every other runtime:
the throughput ratio against X4's share and the single-client p99 ratio against its factor, each with an interval
over server starts. Each is judged at the look its start count makes (fwbench.measure.sequential.compare_at: a
repeated confidence interval), against X4's own bound rather than the equivalence margin; both runtimes of a
comparison stay open while its interval holds the bound, unless more starts could not move it off (`futile`).
Only the load levels the chapter reads count (error-free, not measured on a busy machine), so a start that lost
its levels to a busy machine leaves its runtime open. X4's verdict then applies its Holm correction over the
rivals on top: a comparison stopped as decided here can still read inconclusive there, never the reverse.
"""

from __future__ import annotations

from fwbench.experiments.serving import starts
from fwbench.measure.sequential import Design, by_block, compare_at, decided_beside, futile_beside


def judge(cells: dict[str, list[dict]], designs: dict[str, Design]) -> dict[str, dict]:
    """cell id -> its comparisons at this look: `open` (undecided, more starts may decide them), `futile`
    (undecided, more would not), `decided` (a count), each open or futile one as a short text."""
    out = {cell_id: {"open": [], "futile": [], "decided": 0} for cell_id in cells}
    for block in by_block(cells):  # runtimes compare only with those of the same block
        _judge_block(block, designs, out)
    return out


def _judge_block(cells: dict[str, list[dict]], designs: dict[str, Design], out: dict[str, dict]) -> None:
    items = [("", "", doc) for docs in cells.values() for doc in docs]
    servers, best = starts.server_rows(items), starts.best_per_variant(starts.quiet(starts.level_rows(items)))
    if servers.empty or best.empty:
        return
    cell_of = {(doc["framework"], doc["variant"]): cell_id for cell_id, docs in cells.items() for doc in docs}
    bounds = (
        ("throughput", "peak_by_process", starts.X4_THROUGHPUT_SHARE),
        ("single-client p99", "p99_by_process", starts.X4_P99_FACTOR),
    )
    for _, workload, top, others in starts.x4_places(servers, best):
        if top is None:
            continue
        a = cell_of[(top["framework"], top["variant"])]
        for _, rival in others.iterrows():
            b = cell_of[(rival["framework"], rival["variant"])]
            design = min(designs[a], designs[b], key=lambda d: d.cap)
            for what, column, bound in bounds:
                if not (top[column] and rival[column]):
                    continue
                c = compare_at(starts.per_start(top, column), starts.per_start(rival, column), design)
                text = (
                    f"{top['label']} vs {rival['label']} on {workload}, {what} ratio {c.ratio:.2f} against "
                    f"{bound:g} at {min(c.n_baseline, c.n_candidate)} starts"
                )
                for cell_id in dict.fromkeys((a, b)):
                    if decided_beside(c, bound):
                        out[cell_id]["decided"] += 1
                    else:
                        out[cell_id]["futile" if futile_beside(c, design, bound) else "open"].append(text)


def open_cells(cells: dict[str, list[dict]], designs: dict[str, Design]) -> dict[str, str]:
    """cell id -> the comparisons it still has open (a short text), for the runtimes that need another start."""
    return {cell_id: "; ".join(j["open"]) for cell_id, j in judge(cells, designs).items() if j["open"]}
