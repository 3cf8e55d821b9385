"""Report versions: the manifest each build writes (runs with content hashes, verdicts), and what changed between two.

Every build of the book is a version, named by date and the project's commit, and
leaves `reports/<stamp>.json` in the store; none is ever overwritten, so the store
holds the whole history. Two versions are compared on the runs they include: runs
added, claims whose verdict changed, and timings that moved beyond noise.

"Beyond noise" is the test every comparison in the book uses: an interval for the
ratio of the two versions' step times built from per-process estimates (so the
spread between processes is in it), at a family-wise level of 1% (Bonferroni over
all cells compared), that lies wholly beyond the equivalence margin. Beside each move stands the
shift of the whole run for that framework and mode on that machine (the median move of its other
re-measured cells, reliability.loo_shifts) and the move beyond it: a day effect moves every cell of a
framework together and is not a regression of one cell.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fwbench import SCHEMA_VERSION
from fwbench.errors import StoreError
from fwbench.files import write_json_atomic
from fwbench.measure.stats import EQUIVALENCE_MARGIN
from fwbench.store.store import Store, read_json

#: Family-wise significance level of the metric-move test.
ALPHA = 0.01


def sampled_experiments() -> list[str]:
    """The experiments whose raw timing samples are compared (others store summaries only)."""
    from fwbench.experiments import timed

    return timed()


def reports_dir(store: Store) -> Path:
    return store.root / "reports"


def current_manifest(store: Store, report, version: str, commit: dict) -> dict:
    """The manifest of a build showing `report`: every run with its content hash, and every verdict."""
    from fwbench.report.claims import verdicts
    from fwbench.store.bundle import imported_runs, run_digest

    imported = imported_runs(store, strict=False)
    runs = {
        r.run_id: {
            "sha256": run_digest(r.path),
            "machine_id": r.manifest["machine_id"],
            "machine_label": r.manifest["machine_label"],
            "jobs": len(r.jobs),
            "started": r.manifest["started"],
            "origin": imported.get(r.run_id, {}).get("bundle", "measured"),
        }
        for r in report.runs
    }
    # A version built from a store with unreadable files says so: its verdicts rest on what could be read.
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "report",
        "version": version,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit.get("commit"),
        "dirty": bool(commit.get("dirty")),
        "runs": runs,
        "unreadable": list(report.problems),
        "verdicts": {v.claim.id: v.verdict for v in verdicts(report)},
    }


def save(store: Store, manifest: dict) -> Path:
    """Keep a version's manifest; earlier ones stay."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path = reports_dir(store) / f"{stamp}.json"
    write_json_atomic(path, manifest)
    return path


def history(store: Store) -> list[dict]:
    """Every kept version manifest, oldest first; unreadable ones are skipped, not fatal."""
    out = []
    for path in sorted(reports_dir(store).glob("*.json")):
        try:
            data = read_json(path, "json", store.root)
        except StoreError:
            continue
        if (
            data.get("kind") == "report"
            and data.get("schema_version") == SCHEMA_VERSION
            and isinstance(data.get("runs"), dict)
        ):
            out.append({**data, "path": str(path)})
    return out


def check_reports(store: Store) -> list[str]:
    """One line per kept version manifest under reports/ that is not a readable report manifest."""
    problems = []
    for path in sorted(reports_dir(store).glob("*.json")):
        try:
            data = read_json(path, "json", store.root)
        except StoreError as exc:
            problems.append(str(exc))
            continue
        if (
            data.get("kind") != "report"
            or data.get("schema_version") != SCHEMA_VERSION
            or not isinstance(data.get("runs"), dict)
            or not isinstance(data.get("verdicts"), dict)
        ):
            problems.append(f"{path}: not a report manifest of schema {SCHEMA_VERSION}")
    return problems


def _fingerprint_of(manifest: dict) -> dict:
    return {rid: r.get("sha256") for rid, r in manifest["runs"].items()}


def previous(store: Store, current: dict) -> dict | None:
    """The newest kept version whose runs differ from `current`'s: what this version changed from."""
    mine = _fingerprint_of(current)
    for old in reversed(history(store)):
        if _fingerprint_of(old) != mine:
            return old
    return None


@dataclass
class Changes:
    """What differs between two versions, ready for the page and the nightly summary."""

    previous: dict | None
    current: dict
    added: pd.DataFrame
    removed: pd.DataFrame
    verdicts: pd.DataFrame
    moves: pd.DataFrame
    compared: int

    @property
    def regressions(self) -> pd.DataFrame:
        return self.moves[self.moves["direction"] == "slower"] if not self.moves.empty else self.moves

    def to_json(self) -> dict:
        def records(df):
            return json.loads(df.to_json(orient="records")) if not df.empty else []

        return {
            "version": self.current["version"],
            "previous_version": self.previous["version"] if self.previous else None,
            "runs_added": records(self.added),
            "runs_removed": records(self.removed),
            "verdict_changes": records(self.verdicts),
            "cells_compared": self.compared,
            "moved": records(self.moves),
            "regressions": records(self.regressions),
            "test": f"interval over per-process estimates, family-wise alpha {ALPHA} (Bonferroni), "
            f"wholly beyond the equivalence margin of ±{EQUIVALENCE_MARGIN:.0%}; run_shift: the median "
            "move of the other re-measured cells of the framework and mode on that machine (null below "
            "three), beyond_shift: the cell's ratio over it",
        }


def _runs_frame(manifest: dict, ids) -> pd.DataFrame:
    rows = [
        {
            "run": rid,
            "machine": manifest["runs"][rid]["machine_label"],
            "started": manifest["runs"][rid]["started"],
            "jobs": manifest["runs"][rid]["jobs"],
            "origin": manifest["runs"][rid].get("origin", "measured"),
        }
        for rid in sorted(ids)
    ]
    return pd.DataFrame(rows, columns=["run", "machine", "started", "jobs", "origin"])


def compare(store: Store, current: dict, old: dict | None) -> Changes:
    """Runs added and removed, verdict changes, and per-machine timing moves from `old` to `current`."""
    from fwbench.report.results import Report

    if old is None:
        empty = pd.DataFrame()
        return Changes(None, current, _runs_frame(current, current["runs"]), _runs_frame(current, []), empty, empty, 0)
    added = _runs_frame(current, set(current["runs"]) - set(old["runs"]))
    # A run whose directory is still there but cannot be read (a damaged manifest) was not removed: the
    # page lists it as unreadable instead.
    unreadable = set(store.unreadable_runs())
    removed = _runs_frame(old, set(old["runs"]) - set(current["runs"]) - unreadable)
    verdict_rows = [
        {"claim": cid, "before": old["verdicts"].get(cid, "-"), "now": v}
        for cid, v in sorted(current["verdicts"].items())
        if old["verdicts"].get(cid, "-") != v
    ]
    runs, _ = store.load(strict=False)
    by_id = {r.run_id: r for r in runs}
    before = Report([by_id[r] for r in old["runs"] if r in by_id])
    after = Report([by_id[r] for r in current["runs"] if r in by_id])
    moves, compared = timing_moves(before, after)
    return Changes(
        old, current, added, removed, pd.DataFrame(verdict_rows, columns=["claim", "before", "now"]), moves, compared
    )


def timing_moves(before, after) -> tuple[pd.DataFrame, int]:
    """Cells whose newest samples differ between two reports, tested; returns (moved cells, cells compared)."""
    from fwbench.measure import stats

    pairs = []
    for experiment in sampled_experiments():
        old, new = before.samples(experiment), after.samples(experiment)
        for key, new_procs in new.items():
            old_procs = old.get(key)
            if old_procs is None or _same(old_procs, new_procs):
                continue  # not measured before, or the same stored samples (nothing re-ran)
            pairs.append((experiment, key, old_procs, new_procs))
    pairs = [(experiment, key, *_drop_shared(old_procs, new_procs)) for experiment, key, old_procs, new_procs in pairs]
    shifts = _run_shifts(pairs)
    rows = []
    # One interval per cell over the processes of both versions, at a Bonferroni-corrected level, and a move
    # only where it lies wholly beyond the equivalence margin: the same test as every comparison in the book.
    level = 1 - ALPHA / max(len(pairs), 1)
    for experiment, key, old_procs, new_procs in pairs:
        c = stats.compare(new_procs, old_procs, level=level)  # ratio = new time / old time
        if c.verdict in ("faster", "slower"):
            machine, framework, device, workload, variant, phase, batch, _ = key
            m_old, m_new = stats.cell_estimate(old_procs)[0], stats.cell_estimate(new_procs)[0]
            rows.append(
                {
                    "experiment": experiment,
                    "machine": machine,
                    "framework": framework,
                    "device": device,
                    "workload": workload,
                    "variant": variant,
                    "phase": phase,
                    "batch": batch,
                    "before_s": m_old,
                    "now_s": m_new,
                    "ratio": m_new / m_old,
                    # compare() puts the new version as baseline: "faster" means the new time is larger.
                    "direction": "slower" if c.verdict == "faster" else "faster",
                    "ci_low": c.ci_low,
                    "ci_high": c.ci_high,
                    "processes": f"{c.n_candidate} -> {c.n_baseline}",
                    "run_shift": shifts[experiment, key].ratio,
                    "beyond_shift": m_new / m_old / shifts[experiment, key].ratio,
                }
            )
    cols = [
        "experiment",
        "machine",
        "framework",
        "device",
        "workload",
        "variant",
        "phase",
        "batch",
        "before_s",
        "now_s",
        "ratio",
        "direction",
        "ci_low",
        "ci_high",
        "processes",
        "run_shift",
        "beyond_shift",
    ]
    return pd.DataFrame(rows, columns=cols), len(pairs)


def _run_shifts(pairs) -> dict:
    """(experiment, cell) -> the shift of the whole run for the cell's framework and mode on its machine: the median
    move of the group's other re-measured cells (reliability.loo_shifts; not estimated below three), so the page can
    say how much of a cell's move the whole run shared (a day effect) and how much is the cell's own."""
    from fwbench.report.reliability import loo_shifts

    out = {}
    for experiment in {p[0] for p in pairs}:
        old = {key: o for e, key, o, _ in pairs if e == experiment}
        new = {key: n for e, key, _, n in pairs if e == experiment}
        out.update({(experiment, key): s for key, s in loo_shifts(old, new, experiment).items()})
    return out


def _drop_shared(old: dict, new: dict) -> tuple[dict, dict]:
    """Leave out the processes both versions hold with identical samples (they did not re-run): paired with
    themselves they cancel, and half the processes 2x slower came out "equivalent" with an interval of [1, 1].
    What remains is what re-ran, compared unpaired; a side left with nothing keeps its processes."""
    shared = {p for p in old.keys() & new.keys() if list(old[p]) == list(new[p])}
    old_left = {p: v for p, v in old.items() if p not in shared}
    new_left = {p: v for p, v in new.items() if p not in shared}
    return (old_left or old), (new_left or new)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(list(a[k]) == list(b[k]) for k in a)
