"""Benchmark: a second `fwbench report` with nothing changed must execute no notebook and finish in at most 20 s (issue 19).

Run it after one full `make report` (so the store holds this machine's results):

    .venv/bin/python scripts/bench_rebuild.py [--profile quick] [--repeats 2]

It runs `python -m fwbench report` `repeats` times, and prints each wall time,
the runner's summary line and whether the target holds. It is a benchmark, not
a test: its timing depends on the machine, so CI does not gate on it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_S = 20.0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="quick")
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    worst, executed_any = 0.0, False
    for i in range(args.repeats):
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "fwbench", "report", "--profile", args.profile, "--no-progress"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        line = next((ln for ln in proc.stdout.splitlines() if " executed, " in ln), "(no summary line)")
        executed = int(m.group(1)) if (m := re.search(r"(\d+) executed", line)) else -1
        print(f"rebuild {i + 1}: {wall:.1f} s, exit {proc.returncode}: {line}")
        if proc.returncode not in (0, 1):
            print(proc.stderr[-2000:], file=sys.stderr)
            return 2
        if i > 0:  # the first call may still measure what changed since the last report
            worst = max(worst, wall)
            executed_any |= executed != 0
    ok = not executed_any and worst <= TARGET_S
    print(
        f"second and later rebuilds: worst {worst:.1f} s (target <= {TARGET_S:.0f} s), "
        f"{'no notebook executed' if not executed_any else 'NOTEBOOKS EXECUTED'}: {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
