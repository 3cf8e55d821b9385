"""The outside-Python claim (X7): its rule turns the store into a verdict, with its wording beside it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fwbench.measure import stats
from fwbench.report.claims import (
    DIRECTION,
    MARGIN_TEXT,
    SCALE_TEXT,
    Revote,
    count_line,
    exceptions_line,
    rule,
    tally,
)
from fwbench.report.results import COMPARISON_COLUMNS, Report, comparison_columns, fmt_s
from fwbench.report.sanitize import md

#: The ONNX runtimes outside Python that ran here (Java and C# packages come from registries this machine cannot
#: reach: Maven Central's com.microsoft.onnxruntime:onnxruntime and NuGet's Microsoft.ML.OnnxRuntime).
ONNX_MODES = ("node:onnxruntime-node", "node:onnxruntime-web", "browser:onnxruntime-web")
WEB_TFJS, WEB_ONNX = "browser:tfjs-wasm", "browser:onnxruntime-web"


def portability_cells(att: pd.DataFrame) -> pd.DataFrame:
    """One cell per (machine, source, workload, ONNX runtime): supports when the ONNX model ran there, matched its
    source model and took the other batch sizes; contradicts when it differs or fails; inconclusive when the
    runtime's packages did not install (the registry or the network, not ONNX Runtime, failed)."""
    from fwbench.experiments.outside_python.tables import works

    cells = att[att["runtime"].isin(ONNX_MODES)] if not att.empty else att
    if cells.empty:
        return cells.assign(role=pd.Series(dtype=str), label=pd.Series(dtype=str), part=pd.Series(dtype=str))
    roles = [
        "inconclusive" if r["stage"] == "install" else "supports" if works(r) else "contradicts"
        for _, r in cells.iterrows()
    ]
    labels = [f"{r['machine_label']} {r['framework']} {r['workload']} in {r['runtime']}" for _, r in cells.iterrows()]
    return cells.assign(role=roles, label=labels, part="ONNX portability")


def web_cells(att: pd.DataFrame, latencies: dict) -> pd.DataFrame:
    """Per (machine, source, workload) that ran both in the browser: TF.js (WebAssembly) against ONNX Runtime Web on
    the same source model, one cell per timed batch size (latency over fresh pages) and one for the runtime's bytes
    the page fetched."""
    from fwbench.experiments.outside_python.tables import works

    out = []
    if att.empty:
        return pd.DataFrame(columns=["label", "role", "part", "detail"])
    for (machine, fw, w), g in att.groupby(["machine_label", "framework", "workload"]):
        tfjs, onnx = g[g["runtime"] == WEB_TFJS], g[g["runtime"] == WEB_ONNX]
        if tfjs.empty or onnx.empty:
            continue
        t, o = tfjs.iloc[0], onnx.iloc[0]
        where = f"{machine} {fw} {w}"
        if t["stage"] == "install" or o["stage"] == "install":
            out.append(
                {
                    "label": f"{where}: browser runtimes",
                    "role": "inconclusive",
                    "part": "web path",
                    "detail": "a runtime's packages did not install",
                }
            )
            continue
        if not (works(t) and works(o)):
            role = "supports" if works(t) else "contradicts" if works(o) else "inconclusive"
            out.append(
                {
                    "label": f"{where}: works in the page",
                    "role": role,
                    "part": "web path",
                    "detail": f"TF.js {t['outcome']}, ONNX Runtime Web {o['outcome']}",
                }
            )
            continue
        for batch in (1, 64):
            a = latencies.get((machine, fw, w, WEB_ONNX, batch), {})
            b = latencies.get((machine, fw, w, WEB_TFJS, batch), {})
            if not a or not b:
                continue
            c = stats.compare({p: [v] for p, v in a.items()}, {p: [v] for p, v in b.items()})
            out.append(
                {
                    "label": f"{where}: latency at batch {batch}",
                    "role": _latency_role(comparison_columns(c)),
                    "part": "web path",
                    "detail": f"TF.js {fmt_s(t[f'latency_b{batch}_s'])} vs ONNX Runtime Web "
                    f"{fmt_s(o[f'latency_b{batch}_s'])}: speedup {c.ratio:.2f}x "
                    f"({_ci(c)}), {c.verdict}",
                    **comparison_columns(c),
                }
            )
        if pd.notna(t["bundle_bytes"]) and pd.notna(o["bundle_bytes"]):
            up = 1 + stats.EQUIVALENCE_MARGIN
            role = "supports" if t["bundle_bytes"] <= o["bundle_bytes"] * up else "contradicts"
            out.append(
                {
                    "label": f"{where}: runtime bytes fetched",
                    "role": role,
                    "part": "web path",
                    "detail": f"TF.js {t['bundle_bytes'] / 1e6:.2f} MB vs ONNX Runtime Web "
                    f"{o['bundle_bytes'] / 1e6:.2f} MB",
                }
            )
    return pd.DataFrame(out, columns=["label", "role", "part", "detail", *COMPARISON_COLUMNS])


def _latency_role(c) -> str:
    """TF.js faster than or equivalent to ONNX Runtime Web supports the strong-web-path half; slower contradicts."""
    return {"faster": "supports", "equivalent": "supports", "slower": "contradicts"}.get(c["verdict"], "inconclusive")


def _web_revote(web: pd.DataFrame, portability: str) -> Revote:
    """X7 voted again with the web half's latency comparisons redrawn; its other cells (which runtime works, bytes
    fetched) and the portability half repeat as measured."""
    rows = web.assign(fixed=[r if pd.isna(lr) else "" for r, lr in zip(web["role"], web["log_ratio"])])
    rows = rows.assign(se=rows["se"].fillna(np.inf), df=rows["df"].fillna(1.0))

    def verdict_of(d: pd.DataFrame) -> str:
        roles = [r["fixed"] or _latency_role(r) for r in d.to_dict("records")]
        return combine(portability, tally(pd.DataFrame({"role": pd.Series(roles, dtype=object)}))[0])

    return Revote(rows[["fixed", *COMPARISON_COLUMNS]], verdict_of)


def _ci(c) -> str:
    if not (pd.notna(c.ci_low) and c.ci_high < float("inf")):
        return "no interval: too few processes"
    return f"95% CI {c.ci_low:.2f}-{c.ci_high:.2f} over {c.n_baseline} processes"


def combine(portability: str, web: str) -> str:
    """The claim is a conjunction: both halves must lean its way for it to be supported, and either half leaning
    against it contradicts it; a half not measured or inconclusive leaves a leaning-for verdict inconclusive."""
    if portability == web:
        return portability
    words = (portability, web)
    undecided = [v for v in words if v not in DIRECTION]
    decided = [v for v in words if v in DIRECTION]
    if undecided:
        if decided and DIRECTION[decided[0]] < 0:
            return decided[0]
        return "inconclusive" if decided or "inconclusive" in undecided else "not yet measured"
    signs = {DIRECTION[v] for v in words}
    if signs == {1}:
        return "supported with exceptions"
    if signs == {-1}:
        return "contradicted with exceptions"
    if -1 in signs:
        return "contradicted with exceptions" if 1 not in signs else "mixed"
    return "mixed"


@rule(
    "X7",
    "Two halves, one verdict each on the shared scale, then joined. *ONNX Runtime gives portability*: every "
    "ONNX model (from PyTorch's `torch.onnx.export(dynamo=True)`, TensorFlow's tf2onnx) run in ONNX Runtime "
    "for Node (native), ONNX Runtime Web in Node and ONNX Runtime Web in a headless Chromium page; a cell "
    "supports the claim when the model loads, its logits match the source model's within the export "
    "chapter's float32 tolerances and other batch sizes run and match, contradicts it when it fails or "
    "differs (a runtime whose npm packages did not install is inconclusive). *TensorFlow.js is the strong "
    "web path*: per TensorFlow model run in the browser both ways, TF.js (WebAssembly backend) against ONNX "
    "Runtime Web (WebAssembly) on the same source model: a cell per timed batch size supports when TF.js is "
    f"faster or equivalent (95% interval over fresh pages, taking turns in a seeded random order, margin "
    f"{MARGIN_TEXT}) and contradicts when it is slower; a cell for the runtime's bytes the page fetched "
    "supports when TF.js's are no larger (within the margin); where only one of them works, that one wins "
    "the cell. " + SCALE_TEXT + " The halves join as a conjunction: the same word if they agree, supported "
    "(or contradicted) with exceptions if both lean the same way, mixed if they lean apart, inconclusive "
    "where a half is undecided and the other leans for the claim. Java and C# are not run (their packages "
    "come from Maven Central and NuGet, out of reach here): the verdict covers JavaScript only.",
)
def rule_x7(report: Report) -> tuple[str, str, pd.DataFrame]:
    from fwbench.experiments.outside_python import tables

    att = tables.attempts(report)
    if att.empty:
        return "not yet measured", "", att
    port = portability_cells(att)
    web = web_cells(att, tables.latency_samples(report))
    p_verdict, p_counts = tally(port) if not port.empty else ("not yet measured", None)
    w_verdict, w_counts = tally(web) if not web.empty else ("not yet measured", None)
    verdict = combine(p_verdict, w_verdict)
    parts = []
    for name, cells, word, counts in (
        ("ONNX Runtime gives portability", port, p_verdict, p_counts),
        ("TensorFlow.js is the strong web path", web, w_verdict, w_counts),
    ):
        if counts is None:
            tfjs_ran = att["runtime"].astype(str).str.contains("tfjs").any()
            parts.append(
                f"**{name}**: not measured by the stored runs."
                + (
                    ""
                    if tfjs_ran or cells is port
                    else " The TF.js path needs its converter's own environment (an older TensorFlow installed apart) "
                    "and runs in the full profile: `PROFILE=full make report` decides this half."
                )
            )
            continue
        lines = "\n".join(
            f"- {md(c['label'])}: **{c['role']}**"
            + (
                f" ({md(c['detail'])})"
                if c.get("detail")
                else f" ({md(c['outcome'])}{'; ' + md(str(c['error_message'])[:160]) if c.get('error_message') else ''})"
            )
            for _, c in cells.iterrows()
        )
        parts.append(
            f"**{name}: {word}.** "
            + count_line(counts)
            + exceptions_line(cells, word, lambda c: md(c["label"]))
            + "\n\n"
            + lines
        )
    busy = int(att[att["runtime"].isin([WEB_TFJS, WEB_ONNX])]["busy_processes"].fillna(0).sum())
    if busy:
        parts.append(
            f"{busy} page(s) measured on a busy machine (other programs took the CPUs even when run again) are left "
            "out of these latencies; the chapter lists them."
        )
    cells = pd.concat([port[["label", "role", "part"]], web[["label", "role", "part"]]], ignore_index=True)
    evidence = (
        "\n\n".join(parts) + "\n\nNot run here: ONNX Runtime for Java (Maven Central) and C# (NuGet), "
        "whose registries this machine cannot reach, and TensorFlow.js's native binding tfjs-node, whose "
        "install downloads libtensorflow from outside the npm registry ("
        + (
            "its attempt is in the chapter)."
            if (att["runtime"] == "node:tfjs-node").any()
            else "attempted in the full profile)."
        )
    )
    if not web.empty and web["log_ratio"].notna().any():
        cells.attrs["revote"] = _web_revote(web, p_verdict)
    return verdict, evidence, cells
