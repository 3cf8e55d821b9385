"""Benchmark: does forking debugging cases from one imported framework change any outcome or verdict?

    .venv/bin/python scripts/bench_isolation.py [--profile quick] [--keep DIR]

It runs the profile's debugging section twice into fresh temporary stores: once as the profile says
(`case_processes: fork`, every case a fork of one process that imported the framework) and once with
`case_processes: fresh` (a new interpreter per case), then prints:
  (a) per framework, how many cases were compared and how many ended alike (outcome, exception type, the
      user's line shown, shapes named, a fix suggested), and every case that did not;
  (b) the debugging claims' verdicts (D*) from each run side by side;
  (c) the wall time of each run, so the time the fork saves is measured, not assumed.
It is a benchmark, not a test: a timing-dependent case could differ on a loaded machine, so CI does not gate
on it; tests/experiments/debugging/test_harness.py checks a sample of cases both ways for every framework.
Target (issue 19): every case alike and no verdict changed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_stability import measure  # noqa: E402 - one way of running a profile into a store for both benchmarks

#: What must be equal between a forked and a fresh run of the same case.
SAME = ("outcome", "exception_type", "user_line_shown", "names_shapes", "suggests_fix")


def debugging_only(profile: str, processes: str, out: Path) -> Path:
    from fwbench.matrix.profile import resolve_profile_path

    data = yaml.safe_load(resolve_profile_path(profile).read_text())
    section = data["experiments"]["debugging"]
    section.setdefault("params", {})["case_processes"] = processes
    data["experiments"] = {"debugging": section}
    data["name"] = f"{data['name']}-debugging-{processes}"
    out.write_text(yaml.safe_dump(data))
    return out


def cases(store: Path) -> dict[tuple, dict]:
    from fwbench.store.store import Store

    runs, problems = Store(store).load()
    for problem in problems:
        print(f"  warning: {problem}", file=sys.stderr)
    found = {}
    for run in runs:
        for job in run.jobs:
            for case in job.get("cases") or []:
                found[(job["framework"], job["variant"], case["bug"], case["mode"])] = {k: case.get(k) for k in SAME}
    return found


def debugging_verdicts(store: Path) -> dict[str, str]:
    from fwbench.report.claims import verdicts
    from fwbench.report.results import Report

    return {v.claim.id: v.verdict for v in verdicts(Report.load(store)) if v.claim.id.startswith("D")}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="quick")
    p.add_argument("--keep", type=Path, default=None, help="keep the stores under this folder (default: a temp dir)")
    args = p.parse_args()
    started = time.perf_counter()
    root = args.keep or Path(tempfile.mkdtemp(prefix="fwbench-isolation-"))
    root.mkdir(parents=True, exist_ok=True)
    walls, found, verdicts = {}, {}, {}
    for processes in ("fork", "fresh"):
        print(f"debugging section of {args.profile}, case_processes={processes}:")
        profile = debugging_only(args.profile, processes, root / f"profile-{processes}.yml")
        walls[processes] = measure(profile, root / processes)
        found[processes] = cases(root / processes)
        verdicts[processes] = debugging_verdicts(root / processes)
    fork, fresh = found["fork"], found["fresh"]
    print("(a) cases alike, per framework:")
    differing = []
    for framework in sorted({k[0] for k in fork | fresh}):
        keys = sorted(k for k in fork.keys() | fresh.keys() if k[0] == framework)
        alike = [k for k in keys if fork.get(k) == fresh.get(k)]
        differing += [k for k in keys if fork.get(k) != fresh.get(k)]
        print(f"  {framework}: {len(alike)} of {len(keys)}")
    for key in differing:
        print(f"  differs: {' '.join(key)}: fork {fork.get(key)} / fresh {fresh.get(key)}")
    print("(b) verdicts (fork / fresh):")
    for cid in sorted(verdicts["fork"].keys() | verdicts["fresh"].keys()):
        a, b = verdicts["fork"].get(cid), verdicts["fresh"].get(cid)
        print(f"  {cid}: {a} / {b}" + ("" if a == b else "   <- changed"))
    print(f"(c) wall time: fork {walls['fork']:.0f} s, fresh {walls['fresh']:.0f} s; "
          f"whole benchmark {time.perf_counter() - started:.0f} s; stores in {root}")
    same = not differing and verdicts["fork"] == verdicts["fresh"]
    print("every case alike and no verdict changed" if same else "forking changed something: see above")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
