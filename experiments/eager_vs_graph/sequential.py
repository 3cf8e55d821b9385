"""Which eager-vs-graph cells need another process: those with a comparison still undecided at this look.

A cell (one framework's interleaved variants of a workload) takes part in the comparisons the timing claims read:
each compiled variant against its framework's eager mode in the same processes (paired), and the cross-framework
pairs of `pairs.CROSS_COMPARISONS` (unpaired, like for like in loop strategy). Each is judged at the look its
process count makes (fwbench.measure.sequential.compare_at: a repeated confidence interval); a cell stays open
while any of its comparisons is neither beyond the equivalence margin nor wholly inside it, unless more processes
could not decide it either (`futile`: then it stays inconclusive, as it would at the cap). Only steady series
count (unstable or busy ones are left out as the report leaves them out), so a cell that lost a process to an
unstable series is given another while its comparisons are open.
"""

from __future__ import annotations

import json

from fwbench import frameworks
from fwbench.experiments.eager_vs_graph.pairs import CROSS_COMPARISONS
from fwbench.measure.sequential import Design, compare_at, decided, futile


def _series(docs: list[dict]) -> dict[tuple, dict[str, list]]:
    """(variant, phase, batch) -> {process id: steady step times} over a cell's ok jobs."""
    out: dict[tuple, dict[str, list]] = {}
    for doc in docs:
        if doc.get("status") != "ok" or not isinstance(doc.get("samples"), list):
            continue
        for entry in doc["samples"]:
            if entry.get("replicate", 0) != 0 or not entry.get("values"):
                continue
            if entry.get("stable", True) is False or entry.get("busy") is True:
                continue
            key = (entry.get("variant", doc["variant"]), entry["phase"], entry["batch_size"])
            out.setdefault(key, {})[doc["job_id"]] = entry["values"]
    return out


def _like_for_like(workload: str, a: tuple[str, str], b: tuple[str, str]) -> bool:
    from fwbench.workloads import WORKLOADS

    spec = WORKLOADS.get(workload)
    return spec is None or spec.family != "rnn" or frameworks.loop_kind(*a) == frameworks.loop_kind(*b)


def judge(cells: dict[str, list[dict]], designs: dict[str, Design]) -> dict[str, dict]:
    """cell id -> its comparisons at this look: `open` (undecided, more processes may decide them), `futile`
    (undecided, more processes would not), `decided` (a count), each open or futile one as a short text."""
    info, series = {}, {}
    for cell_id, docs in cells.items():
        first = docs[0]
        info[cell_id] = (
            first["framework"],
            first["device"],
            first["workload"],
            json.dumps(first["params"], sort_keys=True),
        )
        series[cell_id] = _series(docs)
    out = {cell_id: {"open": [], "futile": [], "decided": 0} for cell_id in cells}

    def note(cell_id: str, what: str, c, design: Design) -> None:
        if decided(c):
            out[cell_id]["decided"] += 1
            return
        kind = "futile" if futile(c, design) else "open"
        out[cell_id][kind].append(f"{what}: {c.verdict} at {min(c.n_baseline, c.n_candidate)} processes")

    for cell_id, per in series.items():
        fw = info[cell_id][0]
        for (variant, phase, batch), values in per.items():
            eager = per.get(("eager", phase, batch))
            if variant == "eager" or eager is None:
                continue
            note(
                cell_id,
                f"{fw} {variant} vs eager, {phase} b{batch}",
                compare_at(eager, values, designs[cell_id]),
                designs[cell_id],
            )
    by_place: dict[tuple, dict[str, str]] = {}
    for cell_id, (fw, device, workload, params) in info.items():
        by_place.setdefault((device, workload, params), {})[fw] = cell_id
    for (device, workload, _), fws in by_place.items():
        for (bfw, bvar), others in CROSS_COMPARISONS:
            for ofw, ovar in others:
                if bfw not in fws or ofw not in fws or not _like_for_like(workload, (bfw, bvar), (ofw, ovar)):
                    continue
                a, b = fws[bfw], fws[ofw]
                design = min(designs[a], designs[b], key=lambda d: d.cap)
                for (variant, phase, batch), base in series[a].items():
                    other = series[b].get((ovar, phase, batch))
                    if variant != bvar or other is None:
                        continue
                    c = compare_at(other, base, design)
                    for cell_id in (a, b):
                        note(cell_id, f"{bfw} {bvar} vs {ofw} {ovar}, {phase} b{batch}", c, design)
    return out


def open_cells(cells: dict[str, list[dict]], designs: dict[str, Design]) -> dict[str, str]:
    """cell id -> the comparisons it still has open (a short text), for the cells that need another process."""
    return {cell_id: "; ".join(j["open"]) for cell_id, j in judge(cells, designs).items() if j["open"]}
