"""Benchmark: do the timing verdicts reproduce? Two identical runs of a profile's eager-vs-graph section, compared.

    .venv/bin/python scripts/bench_stability.py [--profile quick] [--runs 2] [--keep DIR]

It runs the profile's eager_vs_graph section (only) twice, each into a fresh temporary store with fresh
compiler caches, and prints:
  (a) the share of compared cells whose class (faster/slower/equivalent/inconclusive) agrees between runs;
  (b) the full-size A/A control: every cell of run 1 against the same cell of run 2 (two independent job sets
      with a real cell's processes, through the whole pipeline), compared with the unpaired rule the
      cross-framework verdicts use, its false-positive rate with a binomial 95% upper bound. The headline
      divides out each group's shift of the whole run (framework and mode, leave one out: a day effect that
      cancels within a run, where every verdict is made), then the shifts per group, then the raw control
      with no shift allowed for; then the smaller in-store controls (in-process twins, 2-vs-2 process
      halves) as extra lines;
  (c) E1-E6 in each run side by side, with their vote counts;
  (d) the 90th percentile over cells of |log(step time B / step time A)|;
  (e) the share of inconclusive cells per run, and whether the large effects were decided;
  (f) the wall time of each run and of the whole benchmark.
It is a benchmark, not a test: its numbers depend on the machine, so CI does not gate on it.
Targets (issues 14 and 35): identical E1-E6, full-size A/A false positives <= 5% with an upper bound <= 10%,
>= 90% of classes agreeing, at most a third inconclusive, the large effects decided.
"""

from __future__ import annotations

import argparse
import contextlib
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
#: The experiment whose timing verdicts this benchmark reruns.
EXP = "eager_vs_graph"
#: Comparisons whose effect is large on every machine we know; an honest harness must decide them.
#: Variants that are each framework's eager mode (the rest compile).
EAGER = ("eager",)
LARGE_EFFECTS = [
    ("jax", "jax.jit", "mlp", "train"),
    ("jax", "jax.jit", "rnn", "train"),
    ("tensorflow", "tf.function", "mlp", "train"),
    ("tensorflow", "tf.function", "rnn", "train"),
]


def kept_nothing(report) -> bool:
    """Whether a run kept every timed series of the experiment out (unstable, or measured on a busy machine)."""
    bad, total = report.unstable_share(EXP)
    return bad == total


def tally_text(row) -> str:
    """A claim's verdict with its votes (supports/contradicts/inconclusive), how many simulated reruns agree, and
    the rule's own verdict where only a weaker one reproduced."""
    rule_word = row["rule's verdict"]
    return (
        f"{row['verdict']} ({row['supports']}/{row['contradicts']}/{row['inconclusive']})"
        + (f" [reruns {row['reruns agreeing']}]" if row["reruns agreeing"] else "")
        + (f" [rule: {rule_word}]" if rule_word else "")
    )


def eager_vs_graph_only(profile: str, out: Path) -> Path:
    from fwbench.matrix.profile import resolve_profile_path

    data = yaml.safe_load(resolve_profile_path(profile).read_text())
    data["experiments"] = {"eager_vs_graph": data["experiments"]["eager_vs_graph"]}
    data["name"] = f"{data['name']}-eager-vs-graph"
    out.write_text(yaml.safe_dump(data))
    return out


def measure(profile_path: Path, store: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fwbench",
            "--store",
            str(store),
            "run",
            "--profile",
            str(profile_path),
            "--no-progress",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    print(f"  {proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else '(no output)'} in {wall:.0f} s")
    if proc.returncode not in (0, 1):
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(2)
    return wall


@contextlib.contextmanager
def burner(on: bool):
    """Another program keeping one core busy (a browser, a build), started in its own session so it is no child of
    the runs it disturbs; stopped afterwards."""
    if not on:
        yield
        return
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


def independent_welch(first, second) -> str:
    """Cells whose process medians differ between the runs by a plain Welch test, computed here with scipy from
    the stored samples (no fwbench statistics), as a reviewer would check the harness from outside."""
    from scipy.stats import ttest_ind

    a, b = first.samples(EXP), second.samples(EXP)
    shared = sorted(a.keys() & b.keys(), key=str)
    flagged = []
    for key in shared:
        la = [math.log(float(np.median(v))) for v in a[key].values()]
        lb = [math.log(float(np.median(v))) for v in b[key].values()]
        if len(la) >= 2 and len(lb) >= 2 and ttest_ind(la, lb, equal_var=False).pvalue < 0.05:
            flagged.append(f"{key[1]} {key[4]} {key[3]} {key[5]}")
    share = len(flagged) / len(shared) if shared else math.nan
    return f"{len(flagged)} of {len(shared)} cells differ ({share:.0%})" + (
        f": {'; '.join(flagged)}" if flagged else ""
    )


def classes(report) -> pd.Series:
    from fwbench.experiments.eager_vs_graph import views

    cells = views.compared_cells(report)
    key = cells[["workload", "phase", "batch_size", "comparison"]].astype(str).agg(" | ".join, axis=1)
    return pd.Series(cells["verdict"].values, index=key)


def main() -> int:
    from fwbench.experiments.eager_vs_graph import views
    from fwbench.report import reliability
    from fwbench.report.claims import load_claims
    from fwbench.report.results import Report

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="quick")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--keep", type=Path, default=None, help="keep the stores under this folder (default: a temp dir)")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="with --keep: analyse the stores already there instead of measuring (wall times then unknown)",
    )
    p.add_argument(
        "--busy-second",
        action="store_true",
        help="keep one core busy with another program (a CPU burner) during the second run: the verdicts "
        "must match the quiet first run's, or the busy series must be named and kept out",
    )
    args = p.parse_args()
    started = time.perf_counter()
    root = args.keep or Path(tempfile.mkdtemp(prefix="fwbench-stability-"))
    root.mkdir(parents=True, exist_ok=True)
    profile = eager_vs_graph_only(args.profile, root / "profile.yml")
    reports, walls = [], []
    for i in range(args.runs):
        store = root / f"store{i + 1}"
        if args.reuse and args.keep and store.exists():
            print(f"run {i + 1} of {args.runs}: reusing {store}")
            walls.append(math.nan)
        else:
            busy = args.busy_second and i == 1
            print(
                f"run {i + 1} of {args.runs} into {store}"
                + (" (one core kept busy by another program)" if busy else "")
            )
            with burner(busy):
                walls.append(measure(profile, store))
        reports.append(Report.load(store))

    # A run that kept every series out (measured beside a busy core) has nothing to compare: said once, here, and
    # under its verdicts, rather than read off NaN rates and "identical" verdicts without a vote.
    empty = [i + 1 for i, r in enumerate(reports) if kept_nothing(r)]
    if empty:
        print(
            f"\nrun {' and '.join(map(str, empty))} kept every timed series out (unstable or measured on a busy "
            "machine): nothing of it is compared below, and its verdicts have no votes"
        )
    a, b = classes(reports[0]), classes(reports[1])
    shared = a.index.intersection(b.index)
    agree = float((a[shared] == b[shared]).mean()) if len(shared) else math.nan
    print(
        f"\n(a) classes agreeing between run 1 and run 2: {agree:.0%} of {len(shared)} compared cells"
        if len(shared)
        else "\n(a) classes agreeing between run 1 and run 2: not computable, no cell was measured in both runs"
    )

    full = reliability.between_runs(reports[0], reports[1], EXP)
    adjusted = reliability.between_runs_adjusted(reports[0], reports[1], EXP)
    f = reliability.false_positive_summary(adjusted)
    excl = ((adjusted["speedup_ci_low"] > 1) | (adjusted["speedup_ci_high"] < 1)).mean() if len(adjusted) else math.nan
    print(
        f"(b) full-size A/A, the harness's false-positive rate within a run (run 1 vs run 2, every cell, unpaired, "
        f"each group's whole-run shift divided out, leave one out): {f['false_positives']} of {f['controls']} "
        f"called faster or slower ({f['rate']:.1%}, 95% upper bound {f['upper_95']:.1%}); {f['equivalent']} "
        f"equivalent, {f['inconclusive']} inconclusive; intervals excluding 1: {excl:.1%}"
        if f["controls"]
        else "(b) full-size A/A: not computable, no cell was measured in both runs (no control; the lines below "
        "are the within-run controls)"
    )
    # Shifts, the raw control and what the size can decide need cells measured in both runs.
    if f["controls"]:
        shifts = reliability.shift_table(reports[0], reports[1], EXP)
        print(
            "      whole-run shifts (step time run 2 / run 1, median over the group's cells, 95% bootstrap interval): "
            + "; ".join(
                f"{s.framework} {s.mode}: "
                + (
                    f"{s.run_shift:.2f}x ({s.ci_low:.2f}-{s.ci_high:.2f}, {s.cells} cells)"
                    if s.cells >= reliability.MIN_SHIFT_CELLS
                    else f"not estimated ({s.cells} cells)"
                )
                for s in shifts.itertuples()
            )
        )
        r = reliability.false_positive_summary(full)
        excl = ((full["speedup_ci_low"] > 1) | (full["speedup_ci_high"] < 1)).mean() if len(full) else math.nan
        print(
            f"      raw, no shift allowed for (a day effect reads as a difference): {r['false_positives']} of "
            f"{r['controls']} called faster or slower ({r['rate']:.1%}, 95% upper bound {r['upper_95']:.1%}); "
            f"{r['equivalent']} equivalent, {r['inconclusive']} inconclusive; intervals excluding 1: {excl:.1%}"
        )
        # A control that cannot call anything cannot fail: say what each can decide, the adjusted one (wider: it carries
        # the shift's own uncertainty) beside the raw one.
        for what, controls in (("raw", full), ("adjusted", adjusted)):
            res = reliability.resolution(controls)
            print(
                f"      what this size can decide ({what} intervals): a difference of about "
                f"{res['detectable_ratio']:.2f}x is called faster or slower half the time (median over {res['cells']} "
                f"cells); {res['can_be_equivalent']:.0%} of the intervals are narrow enough ever to be called equivalent"
            )
        cell = [
            "machine_label",
            "framework",
            "device",
            "workload",
            "variant",
            "phase",
            "batch_size",
            "params_digest",
            "replicate",
        ]
        raw_calls = full.set_index(cell)["verdict"].isin(["faster", "slower"])
        for variant_kind, g in adjusted.assign(
            kind=np.where(adjusted["variant"].isin(EAGER), "eager", "compiled")
        ).groupby(["kind", "phase", "workload"]):
            s = reliability.false_positive_summary(g)
            raw = int(raw_calls.reindex(pd.MultiIndex.from_frame(g[cell]), fill_value=False).sum())
            print(
                f"      {' '.join(variant_kind)}: {s['false_positives']} of {s['controls']} false positives (raw {raw})"
            )
        for name, table in (("raw", full), ("shift-adjusted", adjusted)):
            for _, c in table[table["verdict"].isin(["faster", "slower"])].iterrows():
                print(
                    f"      flagged ({name}): {c['framework']} {c['variant']} {c['workload']} {c['phase']} "
                    f"b{c['batch_size']}: {c['speedup']:.2f}x ({c['speedup_ci_low']:.2f}-{c['speedup_ci_high']:.2f})"
                )
    aa = pd.concat([r.aa_controls(EXP) for r in reports], ignore_index=True)
    for kind, g in aa.groupby("kind"):
        s = reliability.false_positive_summary(g)
        print(
            f"      extra, {kind}: {s['false_positives']} of {s['controls']} false positives (upper bound "
            f"{s['upper_95']:.0%}), {s['equivalent']} equivalent, {s['inconclusive']} inconclusive"
        )

    tallies = [reliability.verdict_tally(r, EXP).set_index("claim") for r in reports]
    timing_claims = [c.id for c in load_claims() if c.experiment == EXP]
    print("(c) verdicts:")
    same = True
    for cid in timing_claims:
        cols = ["-" if cid not in t.index else tally_text(t.loc[cid]) for t in tallies]
        same &= len({t.loc[cid, "verdict"] for t in tallies if cid in t.index}) == 1
        print(f"      {cid}: " + "   |   ".join(cols))
    direction = all(
        len({t.loc[cid, "verdict"].split()[0] for t in tallies if cid in t.index}) == 1 for cid in timing_claims
    )
    print(
        f"      (supports/contradicts/inconclusive); identical in every run: {'yes' if same else 'NO'}; "
        f"same direction (supported/contradicted/mixed/inconclusive): {'yes' if direction else 'NO'}"
        + (f" (not a test: run {' and '.join(map(str, empty))} measured nothing that votes)" if empty else "")
    )

    print(
        f"(g) independent check (scipy's Welch t-test on log process medians, p < 0.05, not fwbench's statistics): "
        f"{independent_welch(reports[0], reports[1])}"
    )
    cells = [r.cell_table(EXP) for r in reports]
    cells = [c.dropna(subset=["step_time_median_s"]) if "step_time_median_s" in c else c for c in cells]
    keys = ["framework", "workload", "variant", "phase", "batch_size"]
    comparable = all(not c.empty and "step_time_median_s" in c for c in cells)
    m = cells[0].merge(cells[1], on=keys, suffixes=("_a", "_b")) if comparable else pd.DataFrame()
    if m.empty:  # a run whose every series was kept out (measured on a busy machine) leaves nothing to compare
        print("(d) no cell measured in both runs")
    else:
        moves = np.abs(np.log(m["step_time_median_s_b"] / m["step_time_median_s_a"]))
        print(
            f"(d) |log(B/A)| of cell step times over {len(m)} cells: 90th percentile {np.quantile(moves, 0.9):.3f} "
            f"(x{math.exp(np.quantile(moves, 0.9)):.2f}), median {np.median(moves):.3f}"
        )

    print(
        "(e) inconclusive share: "
        + ", ".join(f"run {i + 1} {views.inconclusive_share(r):.0%}" for i, r in enumerate(reports))
    )
    for i, r in enumerate(reports):
        cmp = views.comparisons(r)
        for fw, variant, workload, phase in LARGE_EFFECTS if not cmp.empty else ():
            row = cmp[
                (cmp.framework == fw) & (cmp.variant == variant) & (cmp.workload == workload) & (cmp.phase == phase)
            ]
            for _, c in row.iterrows():
                print(
                    f"      run {i + 1} {fw} {variant} vs eager, {workload} {phase} b{c['batch_size']}: "
                    f"{c['speedup']:.2f}x ({c['speedup_ci_low']:.2f}-{c['speedup_ci_high']:.2f}) {c['verdict']}"
                )
        excluded = r.excluded(EXP)
        if not excluded.empty:
            busy = excluded["reason"].str.startswith("busy machine")
            print(
                f"      run {i + 1}: {len(excluded)} series excluded ({int(busy.sum())} measured on a busy machine): "
                + "; ".join(
                    f"{x.framework} {x.variant} {x.workload} {x.phase}: {x.reason[:80]}" for x in excluded.itertuples()
                )
            )
        table = reliability.disturbance(r, EXP)
        if not table.empty:
            print(
                f"      run {i + 1}: {int(table['dropped_busy'].sum())} busy and {int(table['dropped_stolen'].sum())} "
                f"stolen blocks dropped and re-run of {int(table[['dropped_busy', 'dropped_stolen', 'blocks_kept']].sum().sum())}; "
                f"largest share in a cell {table['disturbed_share'].max():.0%}; garbage collection "
                f"{np.nanmedian(table['gc_share_of_steps']):.1%} of the timed steps (median over cells)"
            )
    print(
        "(f) wall time: "
        + ", ".join(
            f"run {i + 1} {w:.0f} s" if math.isfinite(w) else f"run {i + 1} not measured (stores reused)"
            for i, w in enumerate(walls)
        )
        + f"; whole benchmark {time.perf_counter() - started:.0f} s"
    )
    if not args.keep:
        print(f"stores left in {root} (delete when done)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
