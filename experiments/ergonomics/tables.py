"""The ergonomics chapter's tables and text: one row per program from the store, the loss agreement between the
programs, the programs' source side by side, and what the counts mean."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fwbench.paths import REPO
from fwbench.report.results import Report, escape, plain_number
from fwbench.report.sanitize import md

EXPERIMENT = "ergonomics"
#: The programs in the chapter's order, with the names the book gives them.
PROGRAM_NAMES = {
    "pytorch": "PyTorch",
    "keras": "Keras 3 (TensorFlow)",
    "gradienttape": "TensorFlow GradientTape",
    "flax": "JAX + Flax NNX",
}
#: The counts, record metric -> column name, in the table's order.
COUNTS = {
    "source_logical_lines": "logical lines",
    "source_tokens": "tokens",
    "source_api_names": "API names",
    "source_concepts": "concepts",
    "source_max_nesting": "max nesting",
}
TENSORFLOW_PROGRAMS = ("keras", "gradienttape")
_COLUMNS = [
    "machine_label",
    "framework",
    "variant",
    "program",
    "mode",
    "status",
    "error",
    *COUNTS.values(),
    "harness lines",
    "program_ok",
    "program_wall_s",
    "initial_logits_max_abs_err",
    "final_train_loss",
    "final_test_loss",
    "restored_test_loss",
    "checks_failed",
    "file",
    "sha256",
    "api_name_list",
    "concept_names",
    "train_loss",
    "test_loss",
    "loss_rtol",
    "run_id",
]


def programs(report: Report) -> pd.DataFrame:
    """One row per newest (machine, program) job: its counts, what the program computed, its checks."""
    rows = []
    for run, job in report.experiment_jobs(EXPERIMENT):
        program = job.get("program") or {}
        values = {r["metric"]: r["value"] for r in job.get("records", [])}
        error = job.get("error") or program.get("error") or {}
        rows.append(
            {
                "machine_label": run.manifest["machine_label"],
                "framework": job["framework"],
                "variant": job["variant"],
                "program": PROGRAM_NAMES.get(job["variant"], job["variant"]),
                "mode": job["mode"],
                "status": job["status"],
                "error": f"{error['type']}: {error['message']}" if error else "",
                **{name: values.get(metric, np.nan) for metric, name in COUNTS.items()},
                "harness lines": values.get("source_harness_lines", np.nan),
                **{
                    m: values.get(m, np.nan)
                    for m in (
                        "program_ok",
                        "program_wall_s",
                        "initial_logits_max_abs_err",
                        "final_train_loss",
                        "final_test_loss",
                        "restored_test_loss",
                    )
                },
                "checks_failed": "; ".join(c["name"] for c in job.get("checks", []) if not c["passed"]),
                "file": program.get("file", ""),
                "sha256": program.get("sha256", ""),
                "api_name_list": list(program.get("api_names", [])),
                "concept_names": list(program.get("concepts", [])),
                "train_loss": list(program.get("train_loss", [])),
                "test_loss": list(program.get("test_loss", [])),
                "loss_rtol": job["params"].get("loss_rtol", np.nan),
                "run_id": run.run_id,
            }
        )
    order = list(PROGRAM_NAMES)
    df = pd.DataFrame(rows, columns=_COLUMNS)
    return df.sort_values(
        ["machine_label", "variant"],
        key=lambda s: s.map(lambda v: order.index(v) if v in order else len(order)) if s.name == "variant" else s,
    ).reset_index(drop=True)


def loss_agreement(df: pd.DataFrame) -> pd.DataFrame:
    """Per machine, epoch and loss (train, test): the programs' median, their largest relative deviation from it,
    the tolerance, and whether they agree. Programs that did not run are named, never counted as agreeing."""
    rows = []
    for machine, g in df.groupby("machine_label"):
        ran = g[g["train_loss"].map(len) > 0]
        missing = ", ".join(g.loc[g["train_loss"].map(len) == 0, "program"])
        epochs = min((len(v) for v in ran["train_loss"]), default=0)
        tol = float(g["loss_rtol"].max())
        for kind in ("train_loss", "test_loss"):
            for epoch in range(epochs):
                values = np.array([v[epoch] for v in ran[kind]], dtype=float)
                median = float(np.median(values))
                spread = float(np.max(np.abs(values - median)) / abs(median)) if median else np.nan
                rows.append(
                    {
                        "machine_label": machine,
                        "loss": kind.replace("_", " "),
                        "epoch": epoch + 1,
                        "programs": len(values),
                        "median": median,
                        "max relative deviation": spread,
                        "tolerance": tol,
                        "agree": bool(spread <= tol),
                        "did not run": missing,
                    }
                )
    return pd.DataFrame(
        rows,
        columns=[
            "machine_label",
            "loss",
            "epoch",
            "programs",
            "median",
            "max relative deviation",
            "tolerance",
            "agree",
            "did not run",
        ],
    )


def agreement_line(df: pd.DataFrame) -> str:
    """One sentence per machine: whether the programs reached the same losses, from `loss_agreement`."""
    agree = loss_agreement(df)
    lines = []
    for machine, g in df.groupby("machine_label"):
        a = agree[agree["machine_label"] == machine]
        missing = g.loc[g["train_loss"].map(len) == 0, "program"].tolist()
        if a.empty:
            lines.append(f"- {md(machine)}: no program ran to its end, so no losses to compare.")
            continue
        worst = a.loc[a["max relative deviation"].idxmax()]
        verdict = "reached the same losses" if a["agree"].all() else "did **not** reach the same losses"
        lines.append(
            f"- {md(machine)}: the {int(a['programs'].max())} programs that ran {verdict} "
            f"(largest relative deviation from their median {plain_number(worst['max relative deviation'], 2)}, "
            f"{md(worst['loss'])} after epoch {int(worst['epoch'])}; tolerance {plain_number(worst['tolerance'], 2)})"
            + (f"; did not run: {md(', '.join(missing))}" if missing else "")
            + "."
        )
    return "\n".join(lines)


def counts_table(df: pd.DataFrame) -> pd.DataFrame:
    """The counts per program, as the chapter's table shows them."""
    cols = ["machine_label", "program", "mode", *COUNTS.values(), "harness lines"]
    out = df[cols].copy()
    for c in [*COUNTS.values(), "harness lines"]:
        out[c] = out[c].map(lambda v: "" if pd.isna(v) else str(int(v)))
    return out


def concepts_table(df: pd.DataFrame) -> pd.DataFrame:
    """Which documented concept each program uses (one column per program), from the stored names."""
    from fwbench.experiments.ergonomics.source import CONCEPTS

    out = []
    for machine, g in df.groupby("machine_label"):
        for c in CONCEPTS:
            out.append(
                {
                    "machine_label": machine,
                    "concept": c.name,
                    "what a reader must know": c.meaning,
                    **{r["program"]: "yes" if c.name in r["concept_names"] else "" for _, r in g.iterrows()},
                }
            )
    return pd.DataFrame(out)


def program_columns(df: pd.DataFrame) -> str:
    """HTML of the four programs side by side, read from the checkout's files now (escaped), each under its name
    and counts; a file that changed since the stored run is flagged, since the counts describe the stored one."""
    import hashlib

    from fwbench.experiments.ergonomics.measure import program_file

    newest = df.drop_duplicates("variant", keep="last").set_index("variant")
    columns = []
    for variant, name in PROGRAM_NAMES.items():
        path = program_file(variant)
        text = path.read_text() if path.is_file() else ""
        note = ""
        if (
            variant in newest.index
            and newest.loc[variant, "sha256"]
            and hashlib.sha256(text.encode()).hexdigest() != newest.loc[variant, "sha256"]
        ):
            note = "<p><em>This file changed since the stored run: the counts describe the version that ran.</em></p>"
        counts = ""
        if variant in newest.index:
            r = newest.loc[variant]
            counts = escape(", ".join(f"{c} {int(r[c])}" for c in COUNTS.values() if pd.notna(r[c])))
        columns.append(
            f"<div class='fwbench-tb'><p><b>{escape(name)}</b><br><code>"
            f"{escape(Path(path).relative_to(REPO).as_posix())}</code><br>{counts}</p>{note}"
            f"<pre>{escape(text)}</pre></div>"
        )
    return f"<div class='fwbench-tb-row'>{''.join(columns)}</div>"


def ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Per machine: each count of the PyTorch program over the same count of each TensorFlow program (below 1:
    PyTorch's is smaller), for the programs that have counts."""
    rows = []
    for machine, g in df.groupby("machine_label"):
        g = g.set_index("variant")
        if "pytorch" not in g.index:
            continue
        for other in TENSORFLOW_PROGRAMS:
            if other not in g.index:
                continue
            for metric in ("logical lines", "tokens"):
                torch_, tf_ = g.loc["pytorch", metric], g.loc[other, metric]
                if pd.notna(torch_) and pd.notna(tf_) and tf_ > 0:
                    rows.append(
                        {
                            "machine_label": machine,
                            "against": PROGRAM_NAMES[other],
                            "count": metric,
                            "pytorch": int(torch_),
                            "other": int(tf_),
                            "ratio": float(torch_ / tf_),
                        }
                    )
    return pd.DataFrame(rows, columns=["machine_label", "against", "count", "pytorch", "other", "ratio"])


def what_this_means(df: pd.DataFrame) -> str:
    """The counts in words, per machine, every number from the store."""
    out = []
    for machine, g in df.groupby("machine_label"):
        g = g.dropna(subset=["logical lines"])
        if g.empty:
            continue
        by_lines = g.sort_values("logical lines")
        shortest, longest = by_lines.iloc[0], by_lines.iloc[-1]
        fewest_concepts = g.sort_values("concepts").iloc[0]
        out.append(
            f"On {md(machine)}, the shortest program is **{md(shortest['program'])}** "
            f"({int(shortest['logical lines'])} logical lines, {int(shortest['tokens'])} tokens) and the longest "
            f"**{md(longest['program'])}** ({int(longest['logical lines'])} lines, {int(longest['tokens'])} tokens). "
            f"{md(fewest_concepts['program'])} asks the reader for the fewest framework-specific concepts "
            f"({int(fewest_concepts['concepts'])} of the list)."
        )
    return "\n\n".join(out)
