"""The export claims: each rule turns the store into a verdict, with its wording beside it."""

from __future__ import annotations

from typing import Callable

import pandas as pd

from fwbench.measure import stats
from fwbench.report.claims import NOT_REDRAWN, all_some_none, rule
from fwbench.report.results import Report, fmt_s, plain_number
from fwbench.report.sanitize import md

#: Export paths that end in an on-device (edge) runtime, per source framework.
EDGE_PATHS = {"tensorflow": ["tflite"], "torch": ["executorch"]}


def _attempts(report: Report) -> pd.DataFrame:
    """The attempts a verdict reads: a failure that is fwbench's own (tables.HARNESS) says nothing of a framework."""
    from fwbench.experiments.export import tables as export_report

    att = export_report.attempts(report)
    return att[att["blame"] == ""] if not att.empty else att


def _attempt_lines(df: pd.DataFrame, extra: Callable[[pd.Series], str] = lambda r: "") -> str:
    def detail(r):
        if r["outcome"] == "fails":
            return f" ({md(r['error_type'])}: {md(str(r['error_message'])[:160])})" if r["error_type"] else ""
        err = f" (max abs error {plain_number(r['max_abs_err'], 2)})" if pd.notna(r["max_abs_err"]) else ""
        return err + extra(r)

    return "\n".join(
        f"- {r['machine_label']} {r['framework']} {r['path']} on {r['workload']}: **{r['outcome']}**" + detail(r)
        for _, r in df.iterrows()
    )


@rule(
    "X1",
    "PyTorch's current ONNX exporter (`torch.onnx.export(dynamo=True)`) on every workload, the ONNX file run in "
    "ONNX Runtime in a process of its own. A workload counts as *smooth* when the export succeeds, ONNX Runtime "
    "loads and runs it, its logits match PyTorch's within the stated float32 tolerances, and batch sizes other "
    'than the exported one run and match too (what "runtime-independent inference" needs). **Supported** if '
    "every workload is smooth, **contradicted** if none is, **mixed** otherwise. The legacy exporter is shown "
    "beside it, not judged.",
)
def rule_x1(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.export.tables import is_true

    df = _attempts(report)
    cells = df[(df["framework"] == "torch") & (df["path"] == "onnx-dynamo")] if not df.empty else df
    if cells.empty:
        return "not yet measured", "", cells
    cells = cells.assign(
        verdict=[
            "smooth" if o == "matches" and is_true(d) else "not smooth"
            for o, d in zip(cells["outcome"], cells["dynamic_batch_ok"])
        ]
    )
    legacy = df[(df["framework"] == "torch") & (df["path"] == "onnx-legacy")]
    evidence = _attempt_lines(cells, lambda r: "" if is_true(r["dynamic_batch_ok"]) else "; other batch sizes fail")
    if not legacy.empty:
        evidence += "\n\nFor comparison, the legacy TorchScript-based exporter:\n" + _attempt_lines(legacy)
    return all_some_none(cells, "smooth"), evidence, cells


@rule(
    "X2",
    "Every ONNX model that ran (from PyTorch, TensorFlow via tf2onnx, JAX via jax2tf + tf2onnx), compared "
    "with its source model on fixed inputs. A *numerical bug* is a model that runs but whose logits differ "
    "beyond the tolerances. **Supported** if at least a quarter of the ONNX models that ran differ and ONNX "
    "differs more often than the other export formats; **contradicted** if none differs and there are enough "
    "models to say so (the 95% upper bound of the rate of differing models, Clopper-Pearson, below a quarter), "
    "**inconclusive** if none differs among too few; **mixed** otherwise. Conversions that fail outright are "
    "listed apart: they are not silent numerical bugs, and a source framework whose ONNX path failed is named.",
)
def rule_x2(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.export.tables import ONNX_RUNTIME

    df = _attempts(report)
    if df.empty:
        return "not yet measured", "", df
    ran = df[df["outcome"] != "fails"]
    onnx, other = ran[ran["runtime"] == ONNX_RUNTIME], ran[ran["runtime"] != ONNX_RUNTIME]
    if onnx.empty:
        return "not yet measured", "", onnx
    rate = (onnx["outcome"] == "differs").mean()
    other_rate = (other["outcome"] == "differs").mean() if not other.empty else 0.0
    differ = int((onnx["outcome"] == "differs").sum())
    upper = stats.binomial_upper(differ, len(onnx))
    if rate == 0:
        # 0 of 6 still allows a 39% rate: "often" is ruled out only when the upper bound is below a quarter.
        verdict = "contradicted" if upper < 0.25 else "inconclusive"
    elif rate >= 0.25 and rate > other_rate:
        verdict = "supported"
    else:
        verdict = "mixed"
    failed = df[(df["runtime"] == ONNX_RUNTIME) & (df["outcome"] == "fails")]
    evidence = (
        f"{differ} of {len(onnx)} ONNX models that ran differ from their source beyond the tolerance "
        f"({rate:.0%}; 95% upper bound {upper:.0%}); {(other['outcome'] == 'differs').sum()} of {len(other)} "
        f"non-ONNX artifacts do ({other_rate:.0%}).\n\n" + _attempt_lines(onnx)
    )
    ran_fw = set(onnx["framework"])
    lost = sorted(set(df[df["runtime"] == ONNX_RUNTIME]["framework"]) - ran_fw)
    if lost:
        onnx = onnx.copy()
        onnx.attrs["caveat"] = (
            f"No ONNX model from {', '.join(lost)} ran (its ONNX path failed), so the count is over "
            f"{', '.join(sorted(ran_fw))} only."
        )
        evidence = onnx.attrs["caveat"] + "\n\n" + evidence
    if not failed.empty:
        evidence += (
            "\n\nONNX conversions that did not produce a running model (failures, not numerical bugs):\n"
            + _attempt_lines(failed)
        )
    return verdict, evidence, onnx


@rule(
    "X3",
    "The production half is a count of steps (shown per path), so the verdict rests on the contrast the claim "
    "draws: TensorFlow's native SavedModel against PyTorch's native `torch.export` (one call, saved and loaded "
    "without converting to another format). **Supported** if SavedModel works and matches on every workload "
    "and `torch.export` does not; **contradicted** if `torch.export` does and SavedModel does not; **mixed** "
    "if both or neither do (then TorchScript and ONNX are a conversion step, but PyTorch has a native path "
    "too, or neither is reliable).",
)
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


@rule(
    "X5",
    "The edge paths, per workload: TFLite (TensorFlow's converter, run in the LiteRT interpreter) against "
    "the closest PyTorch edge path installable from the package registries (ExecuTorch). A path *works* on a "
    "workload when it matches the source and also runs and matches at the other batch sizes. A workload goes "
    "to the path that works when the other does not, else to the one with the lower batch-1 latency "
    f"(95% CIs over fresh processes apart by more than the ±{stats.EQUIVALENCE_MARGIN:.0%} margin; latencies "
    f"timed in forks of one process share its luck and separate nothing), else it is a tie. **Supported** if TFLite is ahead on every workload, **contradicted** "
    "if PyTorch's is, **mixed** otherwise; **not testable here** if PyTorch's edge path could not be "
    "installed (the reason is shown).",
)
def rule_x5(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.export.tables import is_true

    df = _attempts(report)
    if df.empty:
        return "not yet measured", "", df
    tfl = df[(df["framework"] == "tensorflow") & df["path"].isin(EDGE_PATHS["tensorflow"])]
    pt = df[(df["framework"] == "torch") & df["path"].isin(EDGE_PATHS["torch"])]
    if tfl.empty:
        return "not yet measured", "", tfl
    cells = pd.concat([tfl, pt])
    evidence = _attempt_lines(
        cells,
        lambda r: (
            (f"; {r['export_bytes'] / 1e6:.2f} MB" if pd.notna(r["export_bytes"]) else "")
            + (f"; batch-1 latency {fmt_s(r['latency_b1_s'])}" if pd.notna(r["latency_b1_s"]) else "")
        ),
    )
    missing = pt[
        (pt["outcome"] == "fails") & pt["error_type"].isin(["ModuleNotFoundError", "ImportError", "PackageUnavailable"])
    ]
    if pt.empty:
        return "not yet measured", evidence, cells
    if len(missing) == len(pt):  # the package would not install or import: nothing to compare with
        return "not testable here", evidence, cells
    verdicts, why, timed = [], [], False
    for (machine, workload), g in cells.groupby(["machine_label", "workload"]):
        t, p = g[g["framework"] == "tensorflow"], g[g["framework"] == "torch"]
        if t.empty or p.empty:
            continue
        t, p = t.iloc[0], p.iloc[0]
        # On a device the batch varies too: a path that only runs at its exported size is not a working path.
        t_ok = t["outcome"] == "matches" and is_true(t["dynamic_batch_ok"])
        p_ok = p["outcome"] == "matches" and is_true(p["dynamic_batch_ok"])
        # Latencies over forks of one process share its luck: their interval is too narrow to decide a workload.
        independent = t["latency_process_kind"] == "fresh" and p["latency_process_kind"] == "fresh"
        if t_ok and p_ok and not independent:
            verdicts.append("tie")
            detail = (
                f"batch-1 latency {md(t['path'])} {fmt_s(t['latency_b1_s'])}, {md(p['path'])} "
                f"{fmt_s(p['latency_b1_s'])}, timed in forks of one process: no interval over independent "
                f"processes, so not separated"
            )
        elif t_ok and p_ok and pd.notna(t["latency_b1_ci_high_s"]) and pd.notna(p["latency_b1_ci_low_s"]):
            # The book's margin: ahead only if one interval clears the other by more than the margin.
            up, timed = 1 + stats.EQUIVALENCE_MARGIN, True
            verdicts.append(
                "tflite ahead"
                if t["latency_b1_ci_high_s"] * up < p["latency_b1_ci_low_s"]
                else "pytorch ahead"
                if p["latency_b1_ci_high_s"] * up < t["latency_b1_ci_low_s"]
                else "tie"
            )
            detail = (
                f"batch-1 latency {md(t['path'])} {fmt_s(t['latency_b1_s'])}, {md(p['path'])} "
                f"{fmt_s(p['latency_b1_s'])}"
            )
        else:
            verdicts.append("tflite ahead" if t_ok and not p_ok else "pytorch ahead" if p_ok and not t_ok else "tie")
            detail = "; ".join(
                f"{md(r['path'])} {'works' if ok else 'does not work at every batch size'}"
                for r, ok in ((t, t_ok), (p, p_ok))
            )
        why.append(f"{md(machine)} {md(workload)}: **{verdicts[-1]}** ({detail})")
    if not verdicts:
        return "not yet measured", evidence, cells
    if timed:  # two latency intervals, not one comparison: not redrawn by the rerun check yet
        cells.attrs["revote"] = NOT_REDRAWN
    # The deciding facts first: the rows below do not say which path each workload went to, nor why.
    evidence = "Per workload: " + "; ".join(why) + ".\n\n" + evidence
    busy = int(cells["latency_b1_busy"].fillna(0).sum())
    if busy:
        evidence += (
            f"\n\n{busy} batch-1 latency series measured on a busy machine (other programs took the CPUs) are left "
            "out of these latencies; the export chapter lists them."
        )
    if all(v == "tflite ahead" for v in verdicts):
        return "supported", evidence, cells
    if all(v == "pytorch ahead" for v in verdicts):
        return "contradicted", evidence, cells
    return "mixed", evidence, cells


@rule(
    "X6",
    "The one Keras 3 model definition (`fwbench/runtimes/_keras_model.py`) on the tensorflow, torch and jax backends, "
    "each in its own process, on every workload. It *runs* when it builds, runs and its logits match that "
    "framework's own model from the same weights within the tolerances. **Supported** if it runs on all "
    "three backends for every workload, **contradicted** if it runs nowhere, **mixed** otherwise. Step times "
    "per backend are shown beside the verdict.",
)
def rule_x6(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.export import tables as export_report

    df = _attempts(report)
    cells = export_report.keras_backends(df) if not df.empty else df
    if cells.empty:
        return "not yet measured", "", cells
    cells = cells.assign(
        verdict=["runs" if o == "matches" else "does not run" if o == "fails" else "differs" for o in cells["outcome"]]
    )
    evidence = _attempt_lines(
        cells,
        lambda r: (
            (f"; inference at batch 64 {fmt_s(r['latency_b64_s'])}" if pd.notna(r["latency_b64_s"]) else "")
            + (
                f"; training step at batch {int(r['train_batch'])} {fmt_s(r['train_step_s'])}"
                if pd.notna(r["train_step_s"])
                else ""
            )
        ),
    )
    backends = set(cells["backend"])
    if backends != {"tensorflow", "torch", "jax"}:
        return "mixed" if (cells["verdict"] == "runs").any() else "not yet measured", evidence, cells
    return all_some_none(cells, "runs"), evidence, cells
