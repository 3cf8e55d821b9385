"""Runs the test suite as two pytest processes side by side: the slow end-to-end tests, and everything else.

    .venv/bin/python scripts/run_tests.py [pytest arguments]         # what `make test` runs (CI, every change)
    .venv/bin/python scripts/run_tests.py --all [pytest arguments]   # `make test-all`: the full tier (nightly)

Without --all, tests marked `extended` are left out (tests/tiers.py says which and why).

The slow tests (marked `slow`) run profiles and build books from the project itself: one runner per
machine at a time (the runner's machine lock) and one book source tree, so they run one after another
in one process. The rest are independent of them and of each other's timing, so they run at the same
time in a second process; on this 2-core machine that takes the suite from the sum of the two to about
the slow part alone. Other tests that start runners or build books do it from a copy of the project
(tests/package_copy.py: its own scratch folder and runner lock), so they belong to the rest. (pytest-xdist's --dist loadgroup would do this, but with pytest 9 it no longer keeps a group on
one worker.) The slow part's output streams as it runs; the other's follows when both have ended. The
exit status is the worse of the two, where "no test selected" (5) counts as success so that arguments
naming one file still work. Tests marked `with_slow` (independent of the slow tests: runner tests from a
package copy, the Ray cluster's, the planner's and runner's, some experiments' real-framework modules) run in the
slow part's process: in `make test` there is no slow test, and without them that process would idle while the
other ran the whole suite. Every test's time lands in _build/tests/{slow,rest}.xml (JUnit XML), to find what
makes the suite slow.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: The two processes' selections: together every test, once.
SLOW, REST = "slow or with_slow", "not slow and not with_slow"
#: What `make test` leaves to the full tier.
CI_ONLY = " and not extended"


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    every = "--all" in argv
    argv = [a for a in argv if a != "--all"]
    slow_sel, rest_sel = (SLOW, REST) if every else (f"({SLOW}){CI_ONLY}", REST + CI_ONLY)
    times = REPO / "_build" / "tests"
    times.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile("w+") as log:
        rest = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "-m",
                rest_sel,
                "--durations=15",
                f"--junitxml={times / 'rest.xml'}",
                *argv,
            ],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            # The slow part is the suite's critical path: its longest steps are printed (fixtures' setup included).
            slow = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-m",
                    slow_sel,
                    "--durations=10",
                    f"--junitxml={times / 'slow.xml'}",
                    *argv,
                ],
                cwd=REPO,
            ).returncode
            others = rest.wait()
        finally:
            if rest.poll() is None:  # interrupted: leave no test process behind
                rest.kill()
                rest.wait()
        log.seek(0)
        print(f"\n==================== the rest (pytest -m '{rest_sel}') ====================", flush=True)
        sys.stdout.write(log.read())
    codes = {"slow": slow, "the rest": others}
    print(
        f"fwbench tests ({'full tier' if every else 'make test; the full tier is make test-all'}): "
        f"{', '.join(f'{n}: exit {c}' for n, c in codes.items())}; "
        f"{time.perf_counter() - started:.0f} s in all",
        flush=True,
    )
    return max(0 if code == 5 else code for code in codes.values())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
