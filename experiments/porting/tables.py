"""Tables of the porting experiment, read from the store: one row per (machine, layer kind, source, target, route)."""

from __future__ import annotations

import pandas as pd

from fwbench.experiments.porting.layers import CONVENTION, FRAMEWORKS, KINDS, LAYOUT, step_kind
from fwbench.report.results import Report, plain_number
from fwbench.report.sanitize import md

EXPERIMENT = "porting"
NAMES = {"torch": "torch.nn", "tensorflow": "Keras", "jax": "flax"}
COLUMNS = [
    "machine_label",
    "layer",
    "source",
    "target",
    "pair",
    "route",
    "outcome",
    "stage",
    "naive",
    "naive_detail",
    "naive_max_abs_err",
    "max_abs_err",
    "steps",
    "kinds",
    "n_steps",
    "lines",
    "converter",
    "straightforward",
    "export_ok",
    "finding",
    "error_type",
    "error_message",
    "traceback",
    "atol",
    "rtol",
    "framework_version",
    "run_id",
]


def pair(source: str, target: str) -> str:
    return f"{NAMES.get(source, source)} → {NAMES.get(target, target)}"


def pair_order() -> list[str]:
    return [pair(a, b) for a in FRAMEWORKS for b in FRAMEWORKS if a != b]


def _kinds(steps: list[str]) -> list[str]:
    out = []
    for s in steps:
        try:
            kind = step_kind(s)
        except ValueError:  # a step a newer fwbench named: shown as written, counted as more than layout
            kind = s.split(":", 1)[0]
        if kind not in out:
            out.append(kind)
    return out


def is_straightforward(kinds: list[str], outcome: str) -> bool:
    return outcome == "matches" and all(k in LAYOUT for k in kinds)


def attempts(report: Report) -> pd.DataFrame:
    """Every attempt of every newest porting job; a job that failed as a whole gives one 'fails' row per layer kind
    and target."""
    rows = []
    for run, job in report.experiment_jobs(EXPERIMENT):
        params = job.get("params", {})
        base = {
            "machine_label": run.manifest["machine_label"],
            "source": job["framework"],
            "route": job["variant"],
            "framework_version": job.get("framework_version", ""),
            "run_id": run.run_id,
            "atol": params.get("atol"),
            "rtol": params.get("rtol"),
        }
        if job["status"] != "ok":
            for layer in params.get("layers", list(KINDS)):
                for target in (f for f in FRAMEWORKS if f != job["framework"]):
                    rows.append(
                        {
                            **base,
                            "layer": layer,
                            "target": target,
                            "outcome": "fails",
                            "stage": "job",
                            "error_type": job["error"]["type"],
                            "error_message": job["error"]["message"],
                            "traceback": job["error"].get("traceback", ""),
                            "steps": "",
                            "kinds": [],
                        }
                    )
            continue
        for a in job.get("attempts", []):
            err, naive = a.get("error") or {}, a.get("naive") or {}
            kinds = _kinds(a.get("steps", [])) if a["route"] == "weights" else []
            rows.append(
                {
                    **base,
                    "layer": a["layer"],
                    "target": a["target"],
                    "outcome": a["outcome"],
                    "stage": a.get("stage", "done" if a["outcome"] != "fails" else ""),
                    "naive": naive.get("outcome", ""),
                    "naive_detail": naive.get("detail", ""),
                    "naive_max_abs_err": naive.get("max_abs_err"),
                    "max_abs_err": a.get("max_abs_err"),
                    "steps": "; ".join(a.get("steps", [])),
                    "kinds": kinds,
                    "n_steps": len(a.get("steps", [])),
                    "lines": a.get("lines"),
                    "converter": a.get("converter", ""),
                    "straightforward": is_straightforward(kinds, a["outcome"]) if a["route"] == "weights" else None,
                    "export_ok": a.get("export_ok"),
                    "finding": a.get("finding", ""),
                    "error_type": err.get("type", ""),
                    "error_message": err.get("message", ""),
                    "traceback": err.get("traceback", ""),
                }
            )
    df = pd.DataFrame(rows, columns=COLUMNS)
    if df.empty:
        return df
    df["pair"] = [pair(s, t) for s, t in zip(df["source"], df["target"])]
    order = {k: i for i, k in enumerate(KINDS)}
    pairs = {p: i for i, p in enumerate(pair_order())}
    df["_o"] = [(order.get(k, len(order)), pairs.get(p, len(pairs))) for k, p in zip(df["layer"], df["pair"])]
    return df.sort_values(["machine_label", "route", "_o"]).drop(columns="_o").reset_index(drop=True)


def cell_text(row: pd.Series) -> str:
    """What one (layer, pair) took, in a few words: the kinds of transformation, `as-is` where none, the failure, and
    a warning where the naive copy ran and silently computed something else."""
    if row["outcome"] != "matches":
        text = "FAILS" if row["outcome"] == "fails" else "DIFFERS"
    else:
        text = ", ".join(row["kinds"]) if row["kinds"] else "as-is"
    return text + (" ⚠ naive copy silently wrong" if row["naive"] == "silent-wrong" else "")


def matrix(att: pd.DataFrame) -> pd.DataFrame:
    """Layer kinds as rows, directed pairs as columns, `cell_text` in each (the weights route of one machine)."""
    w = att[att["route"] == "weights"]
    if w.empty:
        return pd.DataFrame()
    w = w.assign(text=[cell_text(r) for _, r in w.iterrows()])
    table = w.pivot_table(index="layer", columns="pair", values="text", aggfunc="first")
    return table.reindex(
        index=[k for k in KINDS if k in table.index], columns=[p for p in pair_order() if p in table.columns]
    ).fillna("not measured")


def per_kind(att: pd.DataFrame) -> pd.DataFrame:
    """Per (machine, layer kind), weights route: pairs measured, ported, straightforward, naive silently wrong, and
    the transformations and lines over its pairs; whether the kind ports straightforwardly on every pair."""
    w = att[att["route"] == "weights"]
    rows = []
    for (machine, layer), g in w.groupby(["machine_label", "layer"], sort=False):
        g = g[g["stage"] != "job"]  # a job that failed as a whole measured none of its pairs
        kinds = sorted({k for ks in g["kinds"] for k in ks})
        rows.append(
            {
                "machine_label": machine,
                "layer": layer,
                "pairs": len(g),
                "ported": int((g["outcome"] == "matches").sum()),
                "straightforward_pairs": int(g["straightforward"].fillna(False).astype(bool).sum()),
                "naive_silent": int((g["naive"] == "silent-wrong").sum()),
                "naive_ok": int((g["naive"] == "matches").sum()),
                "beyond_layout": ", ".join(k for k in kinds if k not in LAYOUT),
                "layout": ", ".join(k for k in kinds if k in LAYOUT),
                "lines": int(g["lines"].fillna(0).sum()),
                "transformations": int(g["n_steps"].fillna(0).sum()),
            }
        )
    df = pd.DataFrame(
        rows,
        columns=[
            "machine_label",
            "layer",
            "pairs",
            "ported",
            "straightforward_pairs",
            "naive_silent",
            "naive_ok",
            "beyond_layout",
            "layout",
            "lines",
            "transformations",
        ],
    )
    df["straightforward"] = (df["pairs"] == 6) & (df["straightforward_pairs"] == 6)
    return df


def onnx_table(att: pd.DataFrame) -> pd.DataFrame:
    o = att[att["route"] == "onnx"]
    if o.empty:
        return o
    return o.assign(
        result=[
            ("matches" if r["outcome"] == "matches" else f"{r['outcome']} at {r['stage']}: {r['error_type']}")
            for _, r in o.iterrows()
        ],
        exported=o["export_ok"].map({True: "yes", False: "no"}).fillna("no"),
    )


def what_was_measured(att: pd.DataFrame) -> str:
    w = att[att["route"] == "weights"]
    tol = att.dropna(subset=["atol"])
    tol_text = (
        (
            f"within atol {plain_number(tol['atol'].iloc[0], 2)} + rtol {plain_number(tol['rtol'].iloc[0], 2)} × "
            f"|source output| on every output (float32)"
        )
        if not tol.empty
        else "within the run's tolerance"
    )
    return (
        f"{att['layer'].nunique()} layer kind(s) from {att['source'].nunique()} source framework(s): "
        f"{len(w)} (layer, source, target) conversions by hand and {len(att) - len(w)} attempts through ONNX on "
        f"{', '.join(md(m) for m in sorted(att['machine_label'].unique()))}. A ported layer *matches* when its "
        f"outputs on a fixed input the source never trained on agree with the source's {tol_text}."
    )


def what_this_means(att: pd.DataFrame) -> str:
    """The chapter's conclusion, every number from the store, one paragraph per machine."""
    out = []
    for machine, g in att.groupby("machine_label"):
        kinds = per_kind(g)
        w = g[g["route"] == "weights"]
        if kinds.empty:
            continue
        easy = kinds[kinds["straightforward"]]["layer"].tolist()
        hard = kinds[~kinds["straightforward"]]
        silent = w[w["naive"] == "silent-wrong"]
        refused = int((w["naive"] == "refused").sum())
        text = (
            f"**{md(machine)}.** {len(easy)} of {len(kinds)} layer kinds port on every pair with no more than "
            f"transposes, reshapes and slices"
            + (f" ({', '.join(md(k) for k in easy)})" if easy else "")
            + ". "
            + (
                "; ".join(
                    f"{md(r['layer'])} needs {md(r['beyond_layout'] or 'a fix for a failed pair')}"
                    for _, r in hard.iterrows()
                )
                + (". " if len(hard) else "")
            )
            + f"{int((w['outcome'] == 'matches').sum())} of {len(w)} conversions by hand match. "
            f"The naive copy (arrays as-is where every shape fits) matched on {int((w['naive'] == 'matches').sum())}, "
            f"stopped with a shape or count mismatch on {refused}, and **ran and silently computed something else "
            f"on {len(silent)}**"
            + (f" ({', '.join(sorted({md(x) for x in silent['layer']}))})" if len(silent) else "")
            + ": those are the dangerous cases, since nothing fails until outputs are compared. "
            f"The conversions by hand take {int(w['lines'].fillna(0).sum())} logical lines in all "
            f"(median {plain_number(float(w['lines'].median()), 2) if w['lines'].notna().any() else '-'} per pair)."
        )
        o = g[g["route"] == "onnx"]
        if not o.empty:
            text += (
                f" Through ONNX, {int((o['outcome'] == 'matches').sum())} of {len(o)} attempts matched; "
                f"{int((o['stage'] == 'converter').sum())} had no installable converter here and "
                f"{int((o['stage'] == 'export').sum())} stopped at the export."
            )
        out.append(text)
    return "\n\n".join(out)


def convention_legend() -> pd.DataFrame:
    """Every kind of transformation, whether it counts as layout (straightforward) or as more, and what it means."""
    rows = [{"transformation": k, "counts as": "layout (straightforward)", "meaning": v} for k, v in LAYOUT.items()]
    rows += [{"transformation": k, "counts as": "more than layout", "meaning": v} for k, v in CONVENTION.items()]
    return pd.DataFrame(rows)
