"""The claims (fwbench/claims.yml) and the rules that turn stored measurements into a verdict on each."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from fwbench import stats
from fwbench.sanitize import md
from fwbench.report import Report, fmt_s

CLAIMS_FILE = Path(__file__).with_name("claims.yml")
VERDICTS = ("supported", "contradicted", "mixed", "inconclusive", "not testable here", "not yet measured")


@dataclass(frozen=True)
class Claim:
    id: str = field(metadata={"help": "stable, citable id (E1, D2, ...)"})
    group: str = field(metadata={"help": "section of the claims page"})
    claim: str = field(metadata={"help": "the claim, paraphrased"})
    experiment: str | None = field(default=None, metadata={"help": "experiment that settles it here"})
    needs: str = field(default="", metadata={"help": "what a verdict needs when no experiment here tests it"})
    hardware: bool = field(default=False, metadata={"help": "true when only special hardware can test it"})


@dataclass
class Verdict:
    claim: Claim
    verdict: str
    rule: str
    evidence: str
    cells: pd.DataFrame = field(default_factory=pd.DataFrame)
    runs: list[str] = field(default_factory=list)


def load_claims(path: Path = CLAIMS_FILE) -> list[Claim]:
    data = yaml.safe_load(Path(path).read_text())
    return [Claim(**entry) for entry in data["claims"]]


def all_some_none(cells: pd.DataFrame, good: str) -> str:
    """supported if every cell is `good`, contradicted if none is, mixed otherwise."""
    hits = (cells["verdict"] == good).sum()
    if hits == len(cells):
        return "supported"
    if hits == 0:
        return "contradicted"
    return "mixed"


# ---- eager vs graph (E1-E6): one burden of proof for every timing rule ---------------------------------
#
# Every cell is a comparison with a 95% interval from per-process estimates (fwbench.stats.compare) and a
# class against the one equivalence margin. A rule maps classes to roles: the cell *supports* the claim,
# *contradicts* it, or is *inconclusive* (its interval straddles a boundary the claim's words draw). Only
# decided cells vote: supported if all of them support, contradicted if none does, mixed otherwise, and
# inconclusive if no cell was decided.

ROLES = ("supports", "contradicts", "inconclusive")
MARGIN_TEXT = f"±{stats.EQUIVALENCE_MARGIN:.0%}"
#: E2's "a little faster": PyTorch eager faster by more than the margin but by at most this factor.
E2_LITTLE_MAX = 1.5


def tally(cells: pd.DataFrame) -> tuple[str, dict]:
    """Verdict and role counts of cells carrying a `role` column; inconclusive cells never vote."""
    counts = {r: int((cells["role"] == r).sum()) if not cells.empty else 0 for r in ROLES}
    decided = counts["supports"] + counts["contradicts"]
    if cells.empty:
        verdict = "not yet measured"
    elif decided == 0:
        verdict = "inconclusive"
    elif counts["contradicts"] == 0:
        verdict = "supported"
    elif counts["supports"] == 0:
        verdict = "contradicted"
    else:
        verdict = "mixed"
    return verdict, counts


def count_line(counts: dict) -> str:
    return (f"{counts['supports']} cell(s) support the claim, {counts['contradicts']} contradict it, "
            f"{counts['inconclusive']} are inconclusive (equivalence margin {MARGIN_TEXT}; inconclusive cells do not vote).")


def _describe(cells: pd.DataFrame, label: Callable[[pd.Series], str]) -> str:
    lines = []
    for _, c in cells.iterrows():
        lines.append(f"- {label(c)}: speedup {c['speedup']:.2f}x "
                     f"(95% CI {c['speedup_ci_low']:.2f}-{_hi(c['speedup_ci_high'])}, {_procs(c)}), "
                     f"{c['verdict']}: **{c['role']}**")
    return "\n".join(lines)


def _hi(v: float) -> str:
    return f"{v:.2f}" if np.isfinite(v) else "∞"


def _procs(c) -> str:
    return (f"{int(c['n_baseline'])} paired processes" if c["paired"]
            else f"{int(c['n_baseline'])} vs {int(c['n_candidate'])} processes")


def _where(c) -> str:
    return f"{c['machine_label']} {c['device']} {c['workload']} {c['phase']} (batch {c['batch_size']})"


def _judge(cells: pd.DataFrame, role: Callable[[pd.Series], str], label: Callable[[pd.Series], str],
           extra: str = "") -> tuple[str, str, pd.DataFrame]:
    if cells.empty:
        return "not yet measured", "", cells
    cells = cells.assign(role=[role(c) for _, c in cells.iterrows()])
    verdict, counts = tally(cells)
    evidence = count_line(counts) + extra + "\n\n" + _describe(cells, label)
    return verdict, evidence, cells


def _faster_supports(c) -> str:
    """The claim says the candidate is faster: faster supports, slower or equivalent contradicts."""
    return {"faster": "supports", "slower": "contradicts", "equivalent": "contradicts"}.get(c["verdict"], "inconclusive")


def _cpu_only(cells: pd.DataFrame) -> str:
    if not cells.empty and set(cells["device"]) == {"cpu"}:
        return " Judged on CPU data only: no accelerator run in the store measured these cells."
    return ""


def rule_e1(report: Report) -> tuple[str, str, pd.DataFrame]:
    cells = report.comparisons()
    return _judge(cells, _faster_supports, lambda c: f"{c['framework']} {c['variant']} vs eager, {_where(c)}",
                  _cpu_only(cells))


def _e2_role(c) -> str:
    up = 1 + stats.EQUIVALENCE_MARGIN
    if c["verdict"] in ("slower", "equivalent") or c["speedup_ci_low"] > E2_LITTLE_MAX:
        return "contradicts"
    if c["speedup_ci_low"] > up and c["speedup_ci_high"] <= E2_LITTLE_MAX:
        return "supports"
    return "inconclusive"


def rule_e2(report: Report) -> tuple[str, str, pd.DataFrame]:
    cells = report.cross_framework(("torch", "eager"), [("tensorflow", "eager")])
    return _judge(cells, _e2_role, lambda c: f"torch eager over tensorflow eager, {_where(c)}", _cpu_only(cells))


def rule_e4(report: Report) -> tuple[str, str, pd.DataFrame]:
    cells = report.comparisons()
    if not cells.empty:
        cells = cells[cells["variant"] == "torch.compile"]
    return _judge(cells, _faster_supports, lambda c: (
        f"torch.compile vs eager, {_where(c)}; first call {fmt_s(c['first_call_graph_s'])} vs "
        f"{fmt_s(c['first_call_eager_s'])} eager, pays off after "
        + (f"{c['break_even_steps']:.0f} steps" if c['break_even_steps'] != float('inf') else "never")), _cpu_only(cells))


CELL = ["machine_label", "device", "workload", "phase", "batch_size", "params_digest"]


def _one_per_cell(pairs: pd.DataFrame, role: Callable[[pd.DataFrame], str], show: Callable[[pd.DataFrame], pd.Series]):
    """Cells where several comparisons decide one role: `role(group)` decides it, `show(group)` is the row shown."""
    rows = []
    for _, g in pairs.groupby(CELL):
        row = show(g).copy()
        row["role"] = role(g)
        rows.append(row)
    return pd.DataFrame(rows)


def rule_e5(report: Report) -> tuple[str, str, pd.DataFrame]:
    others = [("torch", "torch.compile"), ("torch", "torch.compile-reduce-overhead"), ("tensorflow", "tf.function"),
              ("tensorflow", "tf.function-unrolled"), ("tensorflow", "tf.function+xla")]
    # On the RNN each JAX loop strategy meets only the same strategy elsewhere (Report.cross_framework).
    pairs = pd.concat([report.cross_framework(("jax", v), others) for v in ("jax.jit", "jax.jit-unrolled")],
                      ignore_index=True)
    if pairs.empty:
        return "not yet measured", "", pairs

    # Competitive with the best means not slower than any other compiled mode: slower than one (decided)
    # contradicts; faster-or-equivalent against all supports; anything else is inconclusive.
    def role(g):
        if (g["verdict"] == "slower").any():
            return "contradicts"
        return "supports" if g["verdict"].isin(["faster", "equivalent"]).all() else "inconclusive"

    cells = _one_per_cell(pairs, role, lambda g: g.loc[g["other_median_s"].idxmin()])
    verdict, counts = tally(cells)
    evidence = (count_line(counts) + _cpu_only(cells) + "\n\n" + "\n".join(
        f"- JAX compiled, {md(_where(c))}: **{c['role']}**; against "
        + "; ".join(f"{md(o['other'])} {o['speedup']:.2f}x (95% CI {o['speedup_ci_low']:.2f}-{_hi(o['speedup_ci_high'])}, "
                    f"{o['verdict']})" + (f" [{md(o['baseline'])}]" if o['baseline'] != "jax jax.jit" else "")
                    for _, o in pairs[(pairs[CELL] == c[CELL]).all(axis=1)].iterrows())
        for _, c in cells.iterrows()))
    return verdict, evidence, cells


def rule_e3(report: Report) -> tuple[str, str, pd.DataFrame]:
    pairs = pd.concat([report.cross_framework(("tensorflow", v), [("torch", "torch.compile")])
                       for v in ("tf.function", "tf.function-unrolled", "tf.function+xla")], ignore_index=True)
    if pairs.empty:
        return "not yet measured", "", pairs

    # TensorFlow optimizes better where one of its graph modes is decidedly faster than torch.compile.
    def role(g):
        if (g["verdict"] == "faster").any():
            return "supports"
        return "contradicts" if g["verdict"].isin(["slower", "equivalent"]).all() else "inconclusive"

    best = _one_per_cell(pairs, role, lambda g: g.loc[g["baseline_median_s"].idxmin()])
    verdict, counts = tally(best)
    from fwbench.workloads import WORKLOADS
    best["n_params"] = best["workload"].map(lambda w: getattr(WORKLOADS.get(w), "n_params", np.nan))
    sweep = best[best["workload"].map(lambda w: getattr(WORKLOADS.get(w), "family", w) == "mlp")]
    trend = ""
    if sweep["n_params"].nunique() >= 3:
        for (machine, phase), g in sweep.groupby(["machine_label", "phase"]):
            small, large = g.loc[g["n_params"].idxmin()], g.loc[g["n_params"].idxmax()]
            trend += (f"\n- MLP sweep, {machine} {phase}: TensorFlow's graph speedup over torch.compile is "
                      f"{small['speedup']:.2f}x at {small['workload']} and {large['speedup']:.2f}x at {large['workload']}.")
    evidence = (count_line(counts) + _cpu_only(best) + "\n\n"
                + _describe(best, lambda c: f"{c['baseline']} (TensorFlow's faster mode here) over torch.compile, {_where(c)}")
                + trend)
    return verdict, evidence, best


def rule_e6(report: Report) -> tuple[str, str, pd.DataFrame]:
    cells = report.cross_framework(("tensorflow", "tf.function+xla"), [("tensorflow", "tf.function")])
    return _judge(cells, _faster_supports, lambda c: f"tf.function+xla over tf.function, {_where(c)}", _cpu_only(cells))


# ---- debugging (D1-D4): outcomes of planted bugs, no tool switched on -------------------------------

PYTHON_DEBUGGING = ["print", "breakpoint"]


def _python_debugging(report: Report) -> pd.DataFrame:
    from fwbench import debug_report

    df = debug_report.cases(report)
    return df[(df["tool"] == "none") & df["bug"].isin(PYTHON_DEBUGGING)]


def _case_lines(df: pd.DataFrame) -> str:
    return "\n".join(f"- {c['machine_label']} {c['framework']} {c['mode']}, {c['bug']}: **{c['outcome']}**"
                      + (f" ({md(c['seen'])})" if c["seen"] else "") for _, c in df.iterrows())


def rule_d1(report: Report) -> tuple[str, str, pd.DataFrame]:
    df = _python_debugging(report)
    if df.empty or "torch" not in set(df["framework"]):
        return "not yet measured", "", df
    verdicts = []
    for machine, g in df.groupby("machine_label"):
        works = g.groupby("framework")["outcome"].apply(lambda s: int((s == "works").sum()))
        total = g.groupby("framework").size()
        torch_, others = works.get("torch", 0), works.drop("torch", errors="ignore")
        if others.empty or (others >= torch_).any():
            verdicts.append("contradicted")
        elif torch_ == total.get("torch", 0):
            verdicts.append("supported")
        else:
            verdicts.append("mixed")
    verdict = verdicts[0] if len(set(verdicts)) == 1 else "mixed"
    return verdict, _case_lines(df), df


def rule_d2(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench import debug_report

    scores = debug_report.scores(debug_report.cases(report))
    if scores.empty or set(scores["mode"]) != {"eager", "graph"}:
        return "not yet measured", "", scores
    wide = scores.pivot_table(index=["machine_label", "framework"], columns="mode", values="good").reset_index()
    wide["verdict"] = ["harder" if g < e else "not harder" for e, g in zip(wide["eager"], wide["graph"])]
    evidence = "\n".join(f"- {r['machine_label']} {r['framework']}: {int(r['eager'])} bugs handled well eagerly, "
                         f"{int(r['graph'])} compiled: **{r['verdict']}**" for _, r in wide.iterrows())
    return all_some_none(wide, "harder"), evidence, wide


def rule_d3(report: Report) -> tuple[str, str, pd.DataFrame]:
    df = _python_debugging(report)
    if df.empty:
        return "not yet measured", "", df
    eager_ok = (df[df["mode"] == "eager"]["outcome"] == "works").all()
    graph_ok = (df[df["mode"] == "graph"]["outcome"] == "works").all()
    verdict = "supported" if eager_ok and graph_ok else ("mixed" if eager_ok else "contradicted")
    return verdict, _case_lines(df), df


def rule_d4(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench import debug_report

    sv = debug_report.survey(report)
    if sv.empty or not {"torch", "tensorflow"} <= set(sv["framework"]):
        return "not yet measured", "", sv
    needs = sv.groupby(["machine_label", "framework"])["extra_packages"].apply(
        lambda s: sorted({p for items in s for p in items})).reset_index()
    verdicts = []
    for machine, g in needs.groupby("machine_label"):
        n = {r["framework"]: len(r["extra_packages"]) for _, r in g.iterrows()}
        if n.get("tensorflow", 0) >= n.get("torch", 0):
            verdicts.append("contradicted")
        elif n.get("tensorflow", 0) == 0:
            verdicts.append("supported")
        else:
            verdicts.append("mixed")
    verdict = verdicts[0] if len(set(verdicts)) == 1 else "mixed"
    evidence = "\n".join(
        f"- {r['machine_label']} {r['framework']} {r['framework_version']}, {r['item']}: "
        + ("works" if r["works"] else f"does not work ({r['error']})")
        + (f"; needs {', '.join(r['extra_packages'])}" if r["extra_packages"] else "; nothing extra needed")
        for _, r in sv.iterrows())
    return verdict, evidence, sv


def _attempts(report: Report) -> pd.DataFrame:
    from fwbench import export_report

    return export_report.attempts(report)


def _attempt_lines(df: pd.DataFrame, extra: Callable[[pd.Series], str] = lambda r: "") -> str:
    def detail(r):
        if r["outcome"] == "fails":
            return f" ({md(r['error_type'])}: {md(str(r['error_message'])[:160])})" if r["error_type"] else ""
        err = f" (max abs error {r['max_abs_err']:.2g})" if pd.notna(r["max_abs_err"]) else ""
        return err + extra(r)
    return "\n".join(f"- {r['machine_label']} {r['framework']} {r['path']} on {r['workload']}: **{r['outcome']}**"
                     + detail(r) for _, r in df.iterrows())


def rule_x1(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.export_report import is_true

    df = _attempts(report)
    cells = df[(df["framework"] == "torch") & (df["path"] == "onnx-dynamo")] if not df.empty else df
    if cells.empty:
        return "not yet measured", "", cells
    cells = cells.assign(verdict=["smooth" if o == "matches" and is_true(d) else "not smooth"
                                  for o, d in zip(cells["outcome"], cells["dynamic_batch_ok"])])
    legacy = df[(df["framework"] == "torch") & (df["path"] == "onnx-legacy")]
    evidence = _attempt_lines(cells, lambda r: "" if is_true(r["dynamic_batch_ok"]) else "; other batch sizes fail")
    if not legacy.empty:
        evidence += "\n\nFor comparison, the legacy TorchScript-based exporter:\n" + _attempt_lines(legacy)
    return all_some_none(cells, "smooth"), evidence, cells


def rule_x2(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.export_report import ONNX_RUNTIME

    df = _attempts(report)
    if df.empty:
        return "not yet measured", "", df
    ran = df[df["outcome"] != "fails"]
    onnx, other = ran[ran["runtime"] == ONNX_RUNTIME], ran[ran["runtime"] != ONNX_RUNTIME]
    if onnx.empty:
        return "not yet measured", "", onnx
    rate = (onnx["outcome"] == "differs").mean()
    other_rate = (other["outcome"] == "differs").mean() if not other.empty else 0.0
    if rate == 0:
        verdict = "contradicted"
    elif rate >= 0.25 and rate > other_rate:
        verdict = "supported"
    else:
        verdict = "mixed"
    failed = df[(df["runtime"] == ONNX_RUNTIME) & (df["outcome"] == "fails")]
    evidence = (f"{(onnx['outcome'] == 'differs').sum()} of {len(onnx)} ONNX models that ran differ from their source "
                f"beyond the tolerance ({rate:.0%}); {(other['outcome'] == 'differs').sum()} of {len(other)} "
                f"non-ONNX artifacts do ({other_rate:.0%}).\n\n" + _attempt_lines(onnx))
    if not failed.empty:
        evidence += ("\n\nONNX conversions that did not produce a running model (failures, not numerical bugs):\n"
                     + _attempt_lines(failed))
    return verdict, evidence, onnx


def rule_x3(report: Report) -> tuple[str, str, pd.DataFrame]:
    df = _attempts(report)
    if df.empty:
        return "not yet measured", "", df
    saved = df[(df["framework"] == "tensorflow") & (df["path"] == "savedmodel")]
    native = df[(df["framework"] == "torch") & (df["path"] == "torch.export")]
    if saved.empty or native.empty:
        return "not yet measured", "", df.iloc[0:0]
    saved_ok = (saved["outcome"] == "matches").all()
    native_ok = (native["outcome"] == "matches").all()
    if saved_ok and not native_ok:
        verdict = "supported"
    elif native_ok and not saved_ok:
        verdict = "contradicted"
    else:
        verdict = "mixed"
    torch_rows = df[(df["framework"] == "torch") & (df["path"] != "keras3")]
    cells = pd.concat([saved, torch_rows])
    evidence = _attempt_lines(cells, lambda r: f"; {r['n_steps']} step(s): {r['steps']}")
    return verdict, evidence, cells


#: Export paths that end in an on-device (edge) runtime, per source framework.
EDGE_PATHS = {"tensorflow": ["tflite"], "torch": ["executorch"]}


def rule_x5(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.export_report import is_true

    df = _attempts(report)
    if df.empty:
        return "not yet measured", "", df
    tfl = df[(df["framework"] == "tensorflow") & df["path"].isin(EDGE_PATHS["tensorflow"])]
    pt = df[(df["framework"] == "torch") & df["path"].isin(EDGE_PATHS["torch"])]
    if tfl.empty:
        return "not yet measured", "", tfl
    cells = pd.concat([tfl, pt])
    evidence = _attempt_lines(cells, lambda r: (f"; {r['export_bytes'] / 1e6:.2f} MB" if pd.notna(r["export_bytes"]) else "")
                              + (f"; batch-1 latency {fmt_s(r['latency_b1_s'])}" if pd.notna(r["latency_b1_s"]) else ""))
    missing = pt[(pt["outcome"] == "fails") & pt["error_type"].isin(["ModuleNotFoundError", "ImportError",
                                                                      "PackageUnavailable"])]
    if pt.empty:
        return "not yet measured", evidence, cells
    if len(missing) == len(pt):  # the package would not install or import: nothing to compare with
        return "not testable here", evidence, cells
    verdicts = []
    for (machine, workload), g in cells.groupby(["machine_label", "workload"]):
        t, p = g[g["framework"] == "tensorflow"], g[g["framework"] == "torch"]
        if t.empty or p.empty:
            continue
        t, p = t.iloc[0], p.iloc[0]
        # On a device the batch varies too: a path that only runs at its exported size is not a working path.
        t_ok = t["outcome"] == "matches" and is_true(t["dynamic_batch_ok"])
        p_ok = p["outcome"] == "matches" and is_true(p["dynamic_batch_ok"])
        if t_ok and p_ok and pd.notna(t["latency_b1_ci_high_s"]) and pd.notna(p["latency_b1_ci_low_s"]):
            # The book's margin: ahead only if one interval clears the other by more than the margin.
            up = 1 + stats.EQUIVALENCE_MARGIN
            verdicts.append("tflite ahead" if t["latency_b1_ci_high_s"] * up < p["latency_b1_ci_low_s"] else
                            "pytorch ahead" if p["latency_b1_ci_high_s"] * up < t["latency_b1_ci_low_s"] else "tie")
        else:
            verdicts.append("tflite ahead" if t_ok and not p_ok else "pytorch ahead" if p_ok and not t_ok else "tie")
    if not verdicts:
        return "not yet measured", evidence, cells
    if all(v == "tflite ahead" for v in verdicts):
        return "supported", evidence, cells
    if all(v == "pytorch ahead" for v in verdicts):
        return "contradicted", evidence, cells
    return "mixed", evidence, cells


def rule_x6(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench import export_report

    df = _attempts(report)
    cells = export_report.keras_backends(df) if not df.empty else df
    if cells.empty:
        return "not yet measured", "", cells
    cells = cells.assign(verdict=["runs" if o == "matches" else "does not run" if o == "fails" else "differs"
                                  for o in cells["outcome"]])
    evidence = _attempt_lines(cells, lambda r: (f"; inference at batch 64 {fmt_s(r['latency_b64_s'])}"
                                                if pd.notna(r["latency_b64_s"]) else "")
                              + (f"; training step at batch {int(r['train_batch'])} {fmt_s(r['train_step_s'])}"
                                 if pd.notna(r["train_step_s"]) else ""))
    backends = set(cells["backend"])
    if backends != {"tensorflow", "torch", "jax"}:
        return "mixed" if (cells["verdict"] == "runs").any() else "not yet measured", evidence, cells
    return all_some_none(cells, "runs"), evidence, cells


#: X4: the SavedModel is "on par" with at least this share of the best other runtime's peak throughput ...
X4_THROUGHPUT_SHARE = 0.9
#: ... and a single-client p99 at most this multiple of the lowest other runtime's.
X4_P99_FACTOR = 1.25


def rule_x4(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench import serving_report as sr

    servers = sr.servers(report)
    if servers.empty:
        return "not yet measured", "", servers
    best = sr.best_per_variant(sr.levels(report))
    is_sm = servers["source"].isin(sr.SAVEDMODEL_SOURCES)
    notes = []
    for _, r in servers[is_sm & (servers["outcome"] == "unavailable")].drop_duplicates("variant").iterrows():
        notes.append(f"- {r['machine_label']} {r['label']}: **unavailable** ({md(r['error_message'])})")
    failed = servers[is_sm & (servers["outcome"] == "fails")]
    if not (is_sm & (servers["outcome"] != "unavailable")).any():
        return "not yet measured", "No SavedModel server ran here.\n" + "\n".join(notes), pd.DataFrame()
    rows = []
    for (machine, workload), g in servers[servers["outcome"] != "unavailable"].groupby(["machine_label", "workload"]):
        b = best[(best["machine_label"] == machine) & (best["workload"] == workload)] if not best.empty else best
        sm_variants = set(g[g["source"].isin(sr.SAVEDMODEL_SOURCES)]["variant"])
        sm = b[b["variant"].isin(sm_variants) & (b["framework"] == "tensorflow")] if not b.empty else b
        other = b[~(b["variant"].isin(sm_variants) & (b["framework"] == "tensorflow"))] if not b.empty else b
        row = {"machine_label": machine, "workload": workload}
        if sm.empty:
            rows.append({**row, "verdict": "does not serve", "detail": "no SavedModel server served it"})
            continue
        top = sm.loc[sm["peak_rps"].idxmax()]
        if other.empty:
            rows.append({**row, "verdict": "on par or ahead", "detail": "no other runtime to compare"})
            continue
        rival = other.loc[other["peak_rps"].idxmax()]
        quick = other.loc[other["single_client_p99_s"].idxmin()]
        on_par = (top["peak_rps"] >= X4_THROUGHPUT_SHARE * rival["peak_rps"]
                  and top["single_client_p99_s"] <= X4_P99_FACTOR * quick["single_client_p99_s"])
        rows.append({**row, "verdict": "on par or ahead" if on_par else "behind",
                     "detail": (f"{top['label']} peaks at {top['peak_rps']:.0f} req/s, single-client p99 "
                                f"{fmt_s(top['single_client_p99_s'])}; best other: {rival['label']} "
                                f"{rival['peak_rps']:.0f} req/s, lowest single-client p99: {quick['label']} "
                                f"{fmt_s(quick['single_client_p99_s'])}")})
    cells = pd.DataFrame(rows)
    if cells.empty:
        return "not yet measured", "\n".join(notes), cells
    evidence = "\n".join(f"- {c['machine_label']} {c['workload']}: **{c['verdict']}** ({c['detail']})"
                         for _, c in cells.iterrows())
    if not failed.empty:
        evidence += "\n\nSavedModel server starts that failed:\n" + "\n".join(
            f"- {r['machine_label']} {r['label']} on {r['workload']}: {md(r['error_type'])}: {md(str(r['error_message'])[:160])}"
            for _, r in failed.iterrows())
    if notes:
        evidence += "\n\nNot measured here:\n" + "\n".join(notes)
    verdict = all_some_none(cells, "on par or ahead")
    if verdict == "supported" and not failed.empty:
        verdict = "mixed"
    return verdict, evidence, cells


_VOTE = ("Only decided cells vote: **supported** if all of them support the claim, **contradicted** if none "
         "does, **mixed** otherwise, **inconclusive** if no cell was decided. Cells that failed a correctness "
         "check or whose timings never settled are left out and listed in the chapter.")

_TIMED = (" What each side timed (compiled scope, update, operators per eager step, loop strategy, precision, "
          "donation, threads requested and observed, compiler cache) is in the eager-vs-graph chapter's "
          "*What exactly is timed* table.")

RULES: dict[str, tuple[str, Callable[[Report], tuple[str, str, pd.DataFrame]]]] = {
    "E1": (f"Each compiled variant against its own framework's eager mode in every cell (machine, device, workload, "
           f"phase, batch), both measured interleaved in the same processes; speedup = eager time / compiled time "
           f"with a 95% interval over processes (paired). A cell *supports* the claim when the whole interval lies "
           f"above 1 + the margin ({MARGIN_TEXT}), *contradicts* it when the interval lies below 1 - margin or wholly "
           f"inside the margin (no real gain), and is *inconclusive* otherwise. " + _VOTE + _TIMED, rule_e1),
    "E2": (f"torch eager against tensorflow eager in every shared cell (separate processes, so the interval is over "
           f"both sets of processes); speedup = TensorFlow time / PyTorch time. \"A little faster\" is a band: a cell "
           f"*supports* the claim when the whole interval lies between 1 + the margin ({MARGIN_TEXT}) and "
           f"{E2_LITTLE_MAX:g}x; it *contradicts* it when PyTorch is slower, equivalent, or faster by more than "
           f"{E2_LITTLE_MAX:g}x for certain (more than a little); otherwise it is *inconclusive*. " + _VOTE + _TIMED, rule_e2),
    "E3": (f"In every cell, each of TensorFlow's graph modes (tf.function, tf.function+xla, and on the RNN the "
           f"unrolled tf.function) against torch.compile, both compiling the whole training step; on the RNN only "
           f"the same loop strategy is compared (torch.compile unrolls, so it meets the unrolled tf.function); "
           f"speedup = torch.compile time / TensorFlow time. A cell *supports* the claim when one of them is faster "
           f"beyond the margin ({MARGIN_TEXT}), *contradicts* it when both are slower or equivalent, and is "
           f"*inconclusive* otherwise. " + _VOTE + " The MLP size sweep shows whether the gap grows with model size "
           f"(the \"especially for large models\" half)." + _TIMED, rule_e3),
    "E4": (f"torch.compile against torch eager in every cell, steady state, measured interleaved in the same "
           f"processes. A cell *supports* the claim when torch.compile is faster beyond the margin ({MARGIN_TEXT}), "
           f"*contradicts* it when slower or equivalent, and is *inconclusive* otherwise. " + _VOTE + " The compile "
           f"cost and the step count at which it pays off are shown beside the verdict." + _TIMED, rule_e4),
    "E5": (f"Speed half of the claim only (flexibility is not a timing): in every cell, jax.jit against every other "
           f"compiled mode (torch.compile, its reduce-overhead mode on CUDA, tf.function, tf.function+xla; on the "
           f"RNN jax.jit's lax.scan meets the loop constructs and the unrolled jax.jit the unrolled variants). "
           f"\"Compiled speed\" means competitive with the best: a cell *supports* the claim when jax.jit is faster "
           f"or equivalent (within {MARGIN_TEXT}) against all of them, *contradicts* it when it is slower beyond "
           f"the margin than any one, and is *inconclusive* otherwise: a noisy cell proves nothing either way. "
           + _VOTE + _TIMED, rule_e5),
    "E6": (f"The XLA half of the claim: tf.function with jit_compile=True against plain tf.function in every cell, "
           f"measured interleaved in the same processes. A cell *supports* the claim when XLA is faster beyond the "
           f"margin ({MARGIN_TEXT}), *contradicts* it when slower or equivalent, and is *inconclusive* otherwise. "
           + _VOTE + " The TFLite half needs the export experiment and is not judged here; a verdict from CPU runs "
           f"only says so." + _TIMED, rule_e6),
    "D1": ("Python's own debugging, per framework with no tool on: `print` of an intermediate and `breakpoint()` "
           "(pdb's entry point), each in eager and compiled mode, counted as *works* when every call showed the "
           "concrete value. **Supported** if PyTorch works in all four cases and every other framework in fewer; "
           "**mixed** if PyTorch leads but not in all four; **contradicted** if another framework does as well "
           "as PyTorch or better.", rule_d1),
    "D2": ("Per framework, with no tool on, the bugs that gave the developer what they want: for a bug that "
           "should stop the program, an error whose printout names the planted file and line (or the right "
           "answer, where a framework does something sensible instead, e.g. promotes an int to float); for the "
           "others, code that does what it says. **Supported** if every framework handles fewer bugs well compiled than "
           "eagerly, **contradicted** if none does, **mixed** otherwise.", rule_d2),
    "D3": ("The same print and breakpoint cases as D1, for every framework. **Supported** if they work "
           "everywhere, eager and compiled; **mixed** if they work eagerly everywhere but not in every compiled "
           "mode; **contradicted** if they fail even eagerly somewhere.", rule_d3),
    "D4": ("The installation half of the claim (how rich TensorBoard is, is not a measurement): each framework, "
           "as pip installs it, is asked to write a profiler trace and TensorBoard scalars. **Supported** if "
           "TensorFlow needs no extra package and PyTorch needs some; **contradicted** if TensorFlow needs as "
           "many extra packages as PyTorch or more; **mixed** otherwise.", rule_d4),
    "X1": ("PyTorch's current ONNX exporter (`torch.onnx.export(dynamo=True)`) on every workload, the ONNX file run in "
           "ONNX Runtime in a fresh process. A workload counts as *smooth* when the export succeeds, ONNX Runtime "
           "loads and runs it, its logits match PyTorch's within the stated float32 tolerances, and batch sizes other "
           "than the exported one run and match too (what \"runtime-independent inference\" needs). **Supported** if "
           "every workload is smooth, **contradicted** if none is, **mixed** otherwise. The legacy exporter is shown "
           "beside it, not judged.", rule_x1),
    "X2": ("Every ONNX model that ran (from PyTorch, TensorFlow via tf2onnx, JAX via jax2tf + tf2onnx), compared "
           "with its source model on fixed inputs. A *numerical bug* is a model that runs but whose logits differ "
           "beyond the tolerances. **Supported** if at least a quarter of the ONNX models that ran differ and ONNX "
           "differs more often than the other export formats; **contradicted** if none differs; **mixed** otherwise. "
           "Conversions that fail outright are listed apart: they are not silent numerical bugs.", rule_x2),
    "X3": ("The production half is a count of steps (shown per path), so the verdict rests on the contrast the claim "
           "draws: TensorFlow's native SavedModel against PyTorch's native `torch.export` (one call, saved and loaded "
           "without converting to another format). **Supported** if SavedModel works and matches on every workload "
           "and `torch.export` does not; **contradicted** if `torch.export` does and SavedModel does not; **mixed** "
           "if both or neither do (then TorchScript and ONNX are a conversion step, but PyTorch has a native path "
           "too, or neither is reliable).", rule_x3),
    "X4": ("Only the measurable half of *mature*: does the SavedModel, served (TensorFlow Serving where its binary "
           "is installed, else fwbench's common HTTP frontend with TensorFlow loading the SavedModel), serve reliably "
           "and as well as the other runtimes behind the same load? Per machine and workload, each runtime's best "
           "closed-loop throughput and its lowest single-client p99 latency, each over batching on/off and both wire "
           "formats (error-free levels only). The SavedModel is *on par or ahead* when its best throughput is at least "
           f"{X4_THROUGHPUT_SHARE:.0%} of the best other runtime's and its single-client p99 at most "
           f"{X4_P99_FACTOR:g}x the lowest other one. "
           "**Supported** if it is on par or ahead on every workload and no SavedModel server failed; "
           "**contradicted** if it is behind everywhere; **mixed** otherwise.", rule_x4),
    "X5": ("The edge paths, per workload: TFLite (TensorFlow's converter, run in the LiteRT interpreter) against "
           "the closest PyTorch edge path installable from the package registries (ExecuTorch). A path *works* on a "
           "workload when it matches the source and also runs and matches at the other batch sizes. A workload goes "
           "to the path that works when the other does not, else to the one with the lower batch-1 latency "
           f"(95% CIs apart by more than the ±{stats.EQUIVALENCE_MARGIN:.0%} margin), else it is a tie. **Supported** if TFLite is ahead on every workload, **contradicted** "
           "if PyTorch's is, **mixed** otherwise; **not testable here** if PyTorch's edge path could not be "
           "installed (the reason is shown).", rule_x5),
    "X6": ("The one Keras 3 model definition (`fwbench/keras_model.py`) on the tensorflow, torch and jax backends, "
           "each in its own process, on every workload. It *runs* when it builds, runs and its logits match that "
           "framework's own model from the same weights within the tolerances. **Supported** if it runs on all "
           "three backends for every workload, **contradicted** if it runs nowhere, **mixed** otherwise. Step times "
           "per backend are shown beside the verdict.", rule_x6),
}


def verdict_for(claim: Claim, report: Report) -> Verdict:
    if claim.id in RULES:
        rule_text, rule = RULES[claim.id]
        verdict, evidence, cells = rule(report)
        return Verdict(claim, verdict, rule_text, evidence, cells, report.runs_used(claim.experiment))
    if claim.hardware:
        return Verdict(claim, "not testable here", "", f"Needs {claim.needs}; no run in the store had it.")
    return Verdict(claim, "not yet measured", "", f"Needs {claim.needs}, which this report does not run yet.")


def verdicts(report: Report) -> list[Verdict]:
    return [verdict_for(c, report) for c in load_claims()]
