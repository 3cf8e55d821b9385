"""Benchmark: do the timing verdicts reproduce? Two identical runs of a profile's eager-vs-graph section, compared.

    .venv/bin/python scripts/bench_stability.py [--profile quick] [--runs 2] [--keep DIR]

It runs the profile's eager_vs_graph section (only) twice, each into a fresh temporary store with fresh
compiler caches, and prints:
  (a) the share of compared cells whose class (faster/slower/equivalent/inconclusive) agrees between runs;
  (b) the A/A false-positive rate over both runs (and how often an A/A interval excluded 1);
  (c) E1-E6 in each run side by side, with their vote counts;
  (d) the 90th percentile over cells of |log(step time B / step time A)|;
  (e) the share of inconclusive cells per run, and whether the large effects were decided;
  (f) the wall time of each run and of the whole benchmark.
It is a benchmark, not a test: its numbers depend on the machine, so CI does not gate on it.
Targets (issue 14): identical E1-E6, A/A false positives <= 5%, >= 90% of classes agreeing, at most a third
inconclusive, the large effects decided.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parent.parent
#: Comparisons whose effect is large on every machine we know; an honest harness must decide them.
LARGE_EFFECTS = [("jax", "jax.jit", "mlp", "train"), ("jax", "jax.jit", "rnn", "train"),
                 ("tensorflow", "tf.function", "mlp", "train"), ("tensorflow", "tf.function", "rnn", "train")]


def eager_vs_graph_only(profile: str, out: Path) -> Path:
    from fwbench.matrix.profile import resolve_profile_path

    data = yaml.safe_load(resolve_profile_path(profile).read_text())
    data["experiments"] = {"eager_vs_graph": data["experiments"]["eager_vs_graph"]}
    data["name"] = f"{data['name']}-eager-vs-graph"
    out.write_text(yaml.safe_dump(data))
    return out


def measure(profile_path: Path, store: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "fwbench", "--store", str(store), "run", "--profile",
                           str(profile_path), "--no-progress"], cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    print(f"  {proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else '(no output)'} in {wall:.0f} s")
    if proc.returncode not in (0, 1):
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(2)
    return wall


def classes(report) -> pd.Series:
    from fwbench.report import reliability

    cells = reliability.compared_cells(report)
    key = cells[["workload", "phase", "batch_size", "comparison"]].astype(str).agg(" | ".join, axis=1)
    return pd.Series(cells["verdict"].values, index=key)


def main() -> int:
    from fwbench.report import reliability
    from fwbench.report.results import Report

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="quick")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--keep", type=Path, default=None, help="keep the stores under this folder (default: a temp dir)")
    args = p.parse_args()
    started = time.perf_counter()
    root = args.keep or Path(tempfile.mkdtemp(prefix="fwbench-stability-"))
    root.mkdir(parents=True, exist_ok=True)
    profile = eager_vs_graph_only(args.profile, root / "profile.yml")
    reports, walls = [], []
    for i in range(args.runs):
        print(f"run {i + 1} of {args.runs} into {root / f'store{i + 1}'}")
        walls.append(measure(profile, root / f"store{i + 1}"))
        reports.append(Report.load(root / f"store{i + 1}"))

    a, b = classes(reports[0]), classes(reports[1])
    shared = a.index.intersection(b.index)
    agree = float((a[shared] == b[shared]).mean()) if len(shared) else math.nan
    print(f"\n(a) classes agreeing between run 1 and run 2: {agree:.0%} of {len(shared)} compared cells")

    aa = pd.concat([r.aa_controls() for r in reports], ignore_index=True)
    fp = aa["verdict"].isin(["faster", "slower"])
    excl = (aa["speedup_ci_low"] > 1) | (aa["speedup_ci_high"] < 1)
    print(f"(b) A/A false positives over both runs: {int(fp.sum())} of {len(aa)} ({fp.mean():.1%}); "
          f"intervals excluding 1: {excl.mean():.1%}")
    for kind, g in aa.groupby("kind"):
        print(f"      {kind}: {int(g['verdict'].isin(['faster', 'slower']).sum())} of {len(g)} false positives, "
              f"{int((g['verdict'] == 'equivalent').sum())} equivalent, {int((g['verdict'] == 'inconclusive').sum())} inconclusive")

    tallies = [reliability.verdict_tally(r).set_index("claim") for r in reports]
    print("(c) verdicts:")
    same = True
    for cid in reliability.TIMING_CLAIMS:
        cols = [f"{t.loc[cid, 'verdict']} ({t.loc[cid, 'supports']}/{t.loc[cid, 'contradicts']}/"
                f"{t.loc[cid, 'inconclusive']})" if cid in t.index else "-" for t in tallies]
        same &= len({t.loc[cid, "verdict"] for t in tallies if cid in t.index}) == 1
        print(f"      {cid}: " + "   |   ".join(cols))
    print(f"      (supports/contradicts/inconclusive); identical in every run: {'yes' if same else 'NO'}")

    cells = [r.cell_table().dropna(subset=["step_time_median_s"]) for r in reports]
    keys = ["framework", "workload", "variant", "phase", "batch_size"]
    m = cells[0].merge(cells[1], on=keys, suffixes=("_a", "_b"))
    moves = np.abs(np.log(m["step_time_median_s_b"] / m["step_time_median_s_a"]))
    print(f"(d) |log(B/A)| of cell step times over {len(m)} cells: 90th percentile {np.quantile(moves, 0.9):.3f} "
          f"(x{math.exp(np.quantile(moves, 0.9)):.2f}), median {np.median(moves):.3f}")

    print("(e) inconclusive share: " + ", ".join(f"run {i + 1} {reliability.inconclusive_share(r):.0%}"
                                                for i, r in enumerate(reports)))
    for i, r in enumerate(reports):
        cmp = r.comparisons()
        for fw, variant, workload, phase in LARGE_EFFECTS:
            row = cmp[(cmp.framework == fw) & (cmp.variant == variant) & (cmp.workload == workload) & (cmp.phase == phase)]
            for _, c in row.iterrows():
                print(f"      run {i + 1} {fw} {variant} vs eager, {workload} {phase} b{c['batch_size']}: "
                      f"{c['speedup']:.2f}x ({c['speedup_ci_low']:.2f}-{c['speedup_ci_high']:.2f}) {c['verdict']}")
        excluded = r.excluded()
        if not excluded.empty:
            print(f"      run {i + 1}: {len(excluded)} series excluded: "
                  + "; ".join(f"{x.framework} {x.variant} {x.workload} {x.phase}: {x.reason[:80]}" for x in excluded.itertuples()))
    print(f"(f) wall time: " + ", ".join(f"run {i + 1} {w:.0f} s" for i, w in enumerate(walls))
          + f"; whole benchmark {time.perf_counter() - started:.0f} s")
    if not args.keep:
        print(f"stores left in {root} (delete when done)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
