"""Benchmark: does forking debugging cases and export artifacts from one imported framework change any outcome or verdict?

    .venv/bin/python scripts/bench_isolation.py [--profile quick] [--experiment debugging|export] [--keep DIR]

For each experiment (both by default) it runs the profile's section twice into fresh temporary stores:
once as the profile says (fork: every debugging case, every exported artifact, a fork of one process
that imported the framework or runtime) and once with a new interpreter per case or artifact (fresh),
then prints:
  (a) per framework, how many cases or artifacts were compared and how many ended alike, and every one
      that did not (debugging: outcome, exception type, the user's line shown, shapes named, a fix
      suggested, and each tooling-survey item's result; export: outcome, stage, error type, and per batch size whether it ran and matched);
  (b) the experiment's claims' verdicts (D* or X*) from each run side by side;
  (c) the wall time of each run, so the time the fork saves is measured, not assumed.
It is a benchmark, not a test: a timing-dependent case could differ on a loaded machine, so CI does not gate
on it; tests/experiments/debugging/test_harness.py and tests/experiments/export/test_measure.py check a
sample both ways for every framework. Target (issue 19): everything alike and no verdict changed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_stability import measure  # noqa: E402 - one way of running a profile into a store for both benchmarks

#: What must be equal between a forked and a fresh run of the same debugging case.
SAME = ("outcome", "exception_type", "user_line_shown", "names_shapes", "suggests_fix")


#: ... and of the same tooling-survey item.
SURVEYED = ("works", "extra_packages", "error")


def _case_outcomes(job: dict) -> dict[tuple, dict]:
    cases = {
        (job["framework"], job["variant"], c["bug"], c["mode"]): {k: c.get(k) for k in SAME}
        for c in job.get("cases") or []
    }
    return {
        **cases,
        **{
            (job["framework"], job["variant"], "survey", s["item"]): {k: s.get(k) for k in SURVEYED}
            for s in job.get("survey") or []
        },
    }


def _artifact_outcomes(job: dict) -> dict[tuple, dict]:
    return {
        (job["framework"], job["variant"], a["workload"]): {
            "outcome": a.get("outcome"),
            "stage": a.get("stage"),
            "error": (a.get("error") or {}).get("type"),
            "batches": {b: (e.get("ran"), e.get("passed")) for b, e in (a.get("batches") or {}).items()},
        }
        for a in job.get("attempts") or []
    }


@dataclass(frozen=True)
class Section:
    """How one experiment chooses fork or fresh processes, and what of its results must not change."""

    param: str
    outcomes: Callable[[dict], dict[tuple, dict]]
    claim_prefix: str


SECTIONS = {
    "debugging": Section("case_processes", _case_outcomes, "D"),
    "export": Section("artifact_processes", _artifact_outcomes, "X"),
}


def section_only(profile: str, experiment: str, processes: str, out: Path) -> Path:
    from fwbench.matrix.profile import resolve_profile_path

    data = yaml.safe_load(resolve_profile_path(profile).read_text())
    section = data["experiments"][experiment]
    section.setdefault("params", {})[SECTIONS[experiment].param] = processes
    data["experiments"] = {experiment: section}
    data["name"] = f"{data['name']}-{experiment}-{processes}"
    out.write_text(yaml.safe_dump(data))
    return out


def outcomes(store: Path, experiment: str) -> dict[tuple, dict]:
    from fwbench.store.store import Store

    runs, problems = Store(store).load()
    for problem in problems:
        print(f"  warning: {problem}", file=sys.stderr)
    found = {}
    for run in runs:
        for job in run.jobs:
            found.update(SECTIONS[experiment].outcomes(job))
    return found


def verdicts_of(store: Path, prefix: str) -> dict[str, str]:
    from fwbench.report.claims import verdicts
    from fwbench.report.results import Report

    return {v.claim.id: v.verdict for v in verdicts(Report.load(store)) if v.claim.id.startswith(prefix)}


def compare(experiment: str, profile: str, root: Path) -> bool:
    """Run one experiment's section both ways and print (a)-(c); True if nothing differs."""
    walls, found, verdicts = {}, {}, {}
    for processes in ("fork", "fresh"):
        print(f"{experiment} section of {profile}, {SECTIONS[experiment].param}={processes}:")
        store = root / experiment / processes
        walls[processes] = measure(
            section_only(profile, experiment, processes, root / f"{experiment}-{processes}.yml"), store
        )
        found[processes] = outcomes(store, experiment)
        verdicts[processes] = verdicts_of(store, SECTIONS[experiment].claim_prefix)
    fork, fresh = found["fork"], found["fresh"]
    print(f"(a) {experiment}: alike, per framework:")
    differing = []
    for framework in sorted({k[0] for k in fork | fresh}):
        keys = sorted(k for k in fork.keys() | fresh.keys() if k[0] == framework)
        alike = [k for k in keys if fork.get(k) == fresh.get(k)]
        differing += [k for k in keys if fork.get(k) != fresh.get(k)]
        print(f"  {framework}: {len(alike)} of {len(keys)}")
    for key in differing:
        print(f"  differs: {' '.join(key)}: fork {fork.get(key)} / fresh {fresh.get(key)}")
    print(f"(b) {experiment}: verdicts (fork / fresh):")
    for cid in sorted(verdicts["fork"].keys() | verdicts["fresh"].keys()):
        a, b = verdicts["fork"].get(cid), verdicts["fresh"].get(cid)
        print(f"  {cid}: {a} / {b}" + ("" if a == b else "   <- changed"))
    print(f"(c) {experiment}: wall time: fork {walls['fork']:.0f} s, fresh {walls['fresh']:.0f} s")
    return not differing and verdicts["fork"] == verdicts["fresh"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="quick")
    p.add_argument(
        "--experiment", choices=sorted(SECTIONS), action="append", help="the experiment(s) to compare (default: all)"
    )
    p.add_argument("--keep", type=Path, default=None, help="keep the stores under this folder (default: a temp dir)")
    args = p.parse_args()
    started = time.perf_counter()
    root = args.keep or Path(tempfile.mkdtemp(prefix="fwbench-isolation-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        alike = {
            experiment: compare(experiment, args.profile, root) for experiment in args.experiment or sorted(SECTIONS)
        }
    finally:
        if args.keep is None:  # nothing of a benchmark is left in the temp folder unless asked for
            shutil.rmtree(root, ignore_errors=True)
    print(f"whole benchmark {time.perf_counter() - started:.0f} s" + (f"; stores in {root}" if args.keep else ""))
    for experiment, same in alike.items():
        print(
            f"{experiment}: "
            + ("everything alike and no verdict changed" if same else "forking changed something: see above")
        )
    return 0 if all(alike.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
