"""Benchmark: where the time of a fresh report goes. The profile into an empty store, then the book, timed.

    .venv/bin/python scripts/bench_report.py [--profile quick] [--setup-s SECONDS] [--keep DIR]

Prints setup (the seconds `make bench-report` spent in `make setup`, passed in by the Makefile), then per
experiment the jobs' wall time split into start-up (runner and kernel start), preparing and checking
(imports, calibration, warm-up, correctness checks) and measured work (first calls with their compiles,
timed steps; for experiments other than eager-vs-graph the measuring cell), then, per cell of a sequential
design, the processes it got and why it stopped, then the book build, and the share of the whole spent in
measured work. The split is fwbench.report.timebudget's, the one the method page shows. It is a benchmark,
not a test: CI does not run it. Targets (issue 41): fresh clone to book in at most 12 minutes on a 2-core
machine, setup included (aim 10); a second `make report` in at most 20 s (`make bench-rebuild`); every
claim's verdict the same as in the previous bench-report (kept in _build/bench-report/), two fresh runs apart.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(cmd: list[str]) -> float:
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO)
    if proc.returncode not in (0, 1):  # 1: some jobs failed, which is a result; anything else is a broken run
        sys.exit(f"bench-report: {' '.join(cmd[:4])} ... exited {proc.returncode}")
    return time.monotonic() - start


def sequential_lines(report) -> list[str]:
    """Per cell of a sequential design (issue 41): the processes the rule gave it and why it stopped, as each
    experiment's chapter shows them (fwbench.report.sequential.cells_table)."""
    from fwbench.experiments import registry
    from fwbench.report.sequential import cells_table

    lines = []
    for name, experiment in registry().items():
        cells = cells_table(report, name) if experiment.sequential else None
        if cells is None or cells.empty:
            continue
        early = int(cells["early"].sum())
        lines.append(f"  {name}: {len(cells)} cells of a sequential design, {early} stopped before the cap")
        lines += [
            f"    {r['framework']} {r['device']} {r['workload']}"
            + ("" if "," in r["variant"] else f" {r['variant']}")
            + f": {r['processes']}, {r['stopped because']}"
            for _, r in cells.iterrows()
        ]
    return lines


def verdict_table(report) -> dict[str, str]:
    """Every claim's verdict on this report, with its cells' votes where the rule has cells."""
    from fwbench.report.reliability import verdict_tally

    return {
        r["claim"]: r["verdict"] + (f" ({r['supports']}/{r['contradicts']}/{r['inconclusive']})" if r["cells"] else "")
        for _, r in verdict_tally(report).iterrows()
    }


def verdict_lines(now: dict[str, str], before: dict | None) -> list[str]:
    """Each claim's verdict beside the previous bench-report's (issue 41: two fresh runs must give the same
    verdict on every claim the profile decides), and whether they agree; the votes may differ, the verdict not."""
    word = lambda text: text.split(" (")[0]
    lines = ["  verdicts of this run (votes supports/contradicts/inconclusive), beside the previous bench-report's:"]
    if not before:
        lines[0] = (
            "  verdicts of this run (votes supports/contradicts/inconclusive; no previous bench-report to compare):"
        )
    same = decided = 0
    for cid, verdict in now.items():
        old = (before or {}).get("verdicts", {}).get(cid)
        mark = "" if old is None else ("   same" if word(old) == word(verdict) else f"   CHANGED (was {old})")
        lines.append(f"    {cid}: {verdict}{mark}")
        if old is not None and word(verdict) not in ("not yet measured", "inconclusive"):
            decided += 1
            same += word(old) == word(verdict)
    if before:
        lines.append(
            f"  decided here and the same as in the previous bench-report ({before.get('when', '?')}, commit "
            f"{before.get('commit', '?')}): {same} of {decided}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick", help="profile to run (default: quick)")
    parser.add_argument("--setup-s", type=float, default=None, help="seconds `make setup` took, to print first")
    parser.add_argument("--keep", type=Path, default=None, help="keep the store and book here instead of a temp dir")
    args = parser.parse_args(argv)

    from fwbench.report.results import Report
    from fwbench.report.timebudget import run_budget

    with tempfile.TemporaryDirectory(prefix="fwbench-bench-report-") as tmp:
        root = args.keep or Path(tmp)
        store, book = root / "store", root / "book"
        fw = [sys.executable, "-m", "fwbench", "--store", str(store)]
        run_s = timed([*fw, "run", "--profile", args.profile, "--no-progress"])
        # This machine's verdicts, before the book imports the references into the store.
        now = verdict_table(Report.load(store))
        # As `make report` builds it: this machine's runs beside the committed references.
        book_s = timed([*fw, "book", "--out", str(book)])
        report = Report.load(store)
        own = [r for r in report.runs if r.run_id not in report.origins] or report.runs
        budget = run_budget(own[-1]) if own else None
        from fwbench.book.size import size_line

        book_size = size_line(book / "_build" / "html")
        sequential = sequential_lines(report)

    print(f"\nbench-report: profile {args.profile}")
    setup = args.setup_s or 0.0
    if args.setup_s is not None:
        print(f"  setup (make setup)            {args.setup_s:8.1f} s")
    if budget is None or budget.empty:
        print("  no run was stored")
        return 1
    print(
        f"  {'experiment':16s} {'jobs':>5s} {'wall':>8s} {'start-up':>9s} {'preparing':>10s} {'measured':>9s} share"
        f"   (preparing: imports, warm-up)"
    )
    part = lambda x: "     -" if x != x else f"{x:5.1f}s"  # NaN: the experiment's jobs do not time their parts
    for _, r in budget.iterrows():
        print(
            f"  {r['experiment']:16s} {int(r['jobs']):5d} {r['total_s']:7.1f}s {r['startup_s']:8.1f}s "
            f"{r['unmeasured_s']:9.1f}s {r['measured_s']:8.1f}s {r['measured_share']:5.0%}"
            f"   {part(r['imports_s'])} {part(r['warmup_s'])}"
        )
    total = budget[budget["experiment"] == "all"].iloc[0]
    print("\n".join(sequential))
    print(f"  runner wall time (with its own bookkeeping)  {run_s:8.1f} s")
    print(f"  book build (with the references)             {book_s:8.1f} s")
    print(f"  {book_size}")
    saved = REPO / "_build" / "bench-report" / f"verdicts-{Path(args.profile).stem}.json"
    before = json.loads(saved.read_text()) if saved.exists() else None
    print("\n".join(verdict_lines(now, before)))
    saved.parent.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    saved.write_text(json.dumps({"when": when, "commit": commit.stdout.strip(), "verdicts": now}, indent=1))
    whole = setup + run_s + book_s
    print(
        f"  whole: {whole:.1f} s ({whole / 60:.1f} min); measured work {total['measured_s']:.1f} s "
        f"= {total['measured_s'] / whole:.0%} of it"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
