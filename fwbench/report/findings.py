"""The book's opening: key findings in sentences and the verdicts with a reason each, all computed from the store.

Experiments contribute their own findings through a `findings(report)` function in
their folder's `findings.py`; this module adds what spans experiments (verdict
counts, what broke, the harness's false-positive rate) and the caveats a reader
must know (model sizes, what a machine lacked).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fwbench.report.sanitize import md

#: How the sentences name the frameworks (their package names elsewhere).
FRAMEWORK_NAMES = {"torch": "PyTorch", "tensorflow": "TensorFlow", "jax": "JAX"}


def framework_name(fw: str) -> str:
    """'PyTorch' for torch, as plain text: a sentence passes it through `md`, an HTML table escapes it."""
    return FRAMEWORK_NAMES.get(fw, fw)


def ci_text(lo: float, hi: float, fmt, missing: str) -> str:
    """'95% CI lo – hi' for a sentence, or `missing` where there is no interval (too few processes)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return missing
    return f"95% CI {fmt(lo)} – {fmt(hi)}"


@dataclass(frozen=True)
class Finding:
    text: str = field(metadata={"help": "one or two sentences of Markdown; store strings already escaped"})
    target: str = field(default="", metadata={"help": "label of the section holding the evidence ({ref} target)"})

    def markdown(self) -> str:
        return self.text + (f" ({{ref}}`evidence <{self.target}>`)" if self.target else "")


def _first_sentence(text: str, limit: int = 220) -> str:
    text = " ".join(str(text or "").split())
    m = re.search(r"(?<=[.!?])\s", text)
    sentence = text[: m.start()] if m else text
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def _plain(markdown: str) -> str:
    """Markdown of a rule's evidence as plain text: no emphasis markers, no escaping backslashes."""
    return re.sub(r"\\(.)", r"\1", re.sub(r"\*\*(.+?)\*\*", r"\1", str(markdown or "")))


def _outcome_tally(evidence: str, verdict: str) -> str:
    """For evidence that opens with a list of rows each with its outcome in bold (the debugging and export rules):
    how many of those rows had each outcome, and the first row of the rarest, in plain text. "" for any other
    evidence, and where the rows cannot explain the verdict (a *mixed* one over rows that all agree: the rule
    decided on something else)."""
    rows = []
    for line in str(evidence or "").splitlines():
        if not line.startswith("- "):
            break  # later lists are context ("for comparison"), not the rows the verdict counts
        rows.append(line[2:])
    outcomes = [re.search(r"\*\*(.+?)\*\*", r) for r in rows]
    if not rows or not all(outcomes):
        return ""
    counts = Counter(_plain(o.group(1)) for o in outcomes)  # in order of first appearance
    if verdict == "mixed" and len(counts) == 1:
        return ""
    text = ", ".join(f"{n} {word}" for word, n in counts.items()) + f" (of {len(rows)} rows)"
    if len(counts) > 1:
        rarest = min(counts, key=counts.get)
        example = next(r for r, o in zip(rows, outcomes) if _plain(o.group(1)) == rarest)
        text += f"; e.g. {_first_sentence(_plain(example), limit=160)}"
    return text


def _first_row(evidence: str) -> str:
    """Evidence that opens with a list: its first row in plain text and how many more there are; "" otherwise."""
    lines = str(evidence or "").splitlines()
    if not lines or not lines[0].startswith("- "):
        return ""
    more = sum(1 for ln in lines[1:] if ln.startswith("- "))
    return _first_sentence(_plain(lines[0][2:]), limit=180) + (f" (and {more} more rows)" if more else "")


def _where(row: pd.Series) -> str:
    parts = [str(row[k]) for k in ("workload", "phase") if k in row and isinstance(row[k], str)]
    if "machine_label" in row and isinstance(row["machine_label"], str):
        parts.append(f"on {row['machine_label']}")
    return " ".join(parts)


def _cell_text(row: pd.Series) -> str:
    """One cell of a verdict in words (plain text: the table it goes into escapes it)."""
    speedup = row.get("speedup")
    has = isinstance(speedup, (int, float)) and np.isfinite(speedup)
    if isinstance(row.get("summary"), str):  # a rule's own words for a cell that is not a speedup
        what = row["summary"]
    elif isinstance(row.get("baseline"), str) and isinstance(row.get("other"), str):
        what = (
            f"{row['baseline']} {speedup:.2f}x as fast as {row['other']}"
            if has
            else f"{row['baseline']} vs {row['other']}"
        )
    elif isinstance(row.get("framework"), str) and isinstance(row.get("variant"), str):
        what = f"{row['framework']} {row['variant']}" + (f" at {speedup:.2f}x its eager speed" if has else "")
    else:
        what = f"speedup {speedup:.2f}x" if has else "one cell"
    where = _where(row)
    return f"{what} ({where})" if where else what


def because(verdict) -> str:
    """Why a verdict came out as it did, in one line of plain text: the vote and the clearest cell on the
    deciding side."""
    cells = verdict.cells if isinstance(verdict.cells, pd.DataFrame) else pd.DataFrame()
    if cells.attrs.get("because") and verdict.verdict not in ("not yet measured", "not testable here"):
        return str(cells.attrs["because"])  # a rule's own reason (two rules over the same cases must not share one)
    if verdict.verdict in ("not yet measured", "not testable here") or cells.empty or "role" not in cells:
        return (
            _outcome_tally(verdict.evidence, verdict.verdict)
            or _first_row(verdict.evidence)
            or _first_sentence(_plain(verdict.evidence))
            or "-"
        )
    sup, con = int((cells["role"] == "supports").sum()), int((cells["role"] == "contradicts").sum())
    undecided = int((cells["role"] == "inconclusive").sum())
    text = f"{sup} of {sup + con} decided cells support it" + (f" ({undecided} inconclusive)" if undecided else "")
    if cells.attrs.get("caveat"):  # what a reader must know first (e.g. the system the claim names did not run)
        text = f"{cells.attrs['caveat']} {text}"
    side = {"supported": ["supports"], "contradicted": ["contradicts"], "mixed": ["supports", "contradicts"]}
    for role in side.get(verdict.verdict.split()[0], []):
        picked = cells[cells["role"] == role]
        if picked.empty:
            continue
        if "speedup" in picked and picked["speedup"].notna().any():
            strength = np.abs(np.log(picked["speedup"].astype(float).clip(lower=1e-12)))
            row = picked.loc[strength.idxmax()]
        else:
            row = picked.iloc[0]
        text += f"; clearest {'for' if role == 'supports' else 'against'}: {_cell_text(row)}"
    from fwbench.report.claims import exceptions, quorum, reproduces

    if verdict.verdict == "inconclusive" and sup + con and sup + con < quorum(len(cells)):
        text += f"; fewer than the {quorum(len(cells))} decided cells a verdict needs"
    same = getattr(verdict, "reruns", None)
    if verdict.verdict == "inconclusive" and same and not reproduces(same):
        text += (
            f"; on these numbers {verdict.rule_verdict}, but only {same[0]} of {same[1]} simulated reruns repeat "
            "it: it does not reproduce"
        )
    elif same and verdict.rule_verdict and verdict.rule_verdict != verdict.verdict:
        text += f"; {verdict.rule_verdict} on these numbers, but only {verdict.verdict} reproduces"
    ex = exceptions(cells, verdict.verdict)
    if not ex.empty and verdict.verdict in ("supported", "contradicted"):
        text += f"; {len(ex)} exception(s), e.g. {_cell_text(ex.iloc[0])}"
    return text


def verdict_table(verdicts) -> pd.DataFrame:
    """id, claim, verdict and the reason, one row per claim (the claims page explains each in full)."""
    return pd.DataFrame(
        [{"id": v.claim.id, "claim": v.claim.claim, "verdict": v.verdict, "because": because(v)} for v in verdicts]
    )


def verdict_table_html(verdicts, claims_page: str = "chapters/claims.html") -> str:
    """`verdict_table` as HTML, each claim id a link to its verdict and evidence on the claims page."""
    from fwbench.report.results import escape, html_table

    html = html_table(verdict_table(verdicts))
    for v in verdicts:
        cid = escape(v.claim.id)
        html = re.sub(
            rf"(<tr>\s*<td>){re.escape(cid)}(</td>)",
            rf"\g<1><a href='{claims_page}#claim-{cid}'>{cid}</a>\g<2>",
            html,
            count=1,
        )
    return html


def _verdict_finding(verdicts) -> Finding:
    counts = pd.Series([v.verdict for v in verdicts]).value_counts()
    from fwbench.report.claims import VERDICTS

    order = list(VERDICTS)
    parts = [f"{int(counts[k])} {k}" for k in order if k in counts]
    return Finding(
        f"**Of {len(verdicts)} common claims**, this store's measurements leave " + ", ".join(parts) + ".", "verdicts"
    )


def _failure_finding(report) -> Finding:
    counts = report.status_counts()
    if not counts["failed"] and not counts["skipped"]:
        return Finding(f"**Nothing broke**: all {counts['results']} results the book shows completed.", "")
    failures = report.failures()
    failed = failures[failures["status"] == "failed"]
    text = f"**What broke**: {counts['failed']} of the {counts['results']} results the book shows failed"
    if not failed.empty:
        text += " (" + ", ".join(f"{int(n)} in {md(e)}" for e, n in failed["experiment"].value_counts().items()) + ")"
    if counts["skipped"]:
        text += f" and {counts['skipped']} were skipped because something they need was missing"
    if not failed.empty:
        first = failed.iloc[0]
        text += (
            f"; for example {md(first['framework'])} {md(first['variant'])} on {md(first['workload'])} "
            f"({md(first['machine'])}): {md(_first_sentence(first['message'] or first['error'], 120).rstrip('.'))}"
        )
    return Finding(text + ". Each is shown with its error in its chapter.", "")


def _aa_finding(report) -> Finding | None:
    from fwbench.experiments import timed

    rates = pd.concat([report.false_positive_rates(name) for name in timed()] or [pd.DataFrame()], ignore_index=True)
    if rates.empty:
        return None
    controls, fp = int(rates["controls"].sum()), int(rates["false_positives"].sum())
    decided = fp + int(rates["equivalent"].sum())
    text = (
        f"**The harness checks itself**: {fp} of {controls} A/A controls (identical alternatives compared by "
        f"the same code as real ones) came out faster or slower ({fp / controls:.0%}; about 5% or less is what "
        f"the 95% intervals promise)"
    )
    if decided == 0:  # a control that never decides cannot fail either: no evidence, and said so
        text += (
            f"; but none of them was decided at all (all {controls} inconclusive), so this is no evidence "
            "either way: more processes per cell would make the control able to fail"
        )
    else:
        text += f"; {decided} of the {controls} were decided (the rest inconclusive)"
    return Finding(text + ".", "sec-confidence")


def _provenance_gaps(report) -> dict[str, list[str]]:
    """Per machine, what its newest runs cannot vouch for: code that was no commit (a dirty tree), a matmul
    precision nobody recorded (TF32 or bf16 matmuls on a GPU change every number)."""
    newest: dict[str, object] = {}
    for run in report.runs:
        newest[run.manifest["machine_label"]] = run
    out: dict[str, list[str]] = {}
    for label, run in newest.items():
        fp = run.manifest.get("fingerprint", {})
        if (fp.get("fwbench") or {}).get("dirty"):
            out.setdefault(label, []).append(
                "measured from uncommitted code (a dirty tree: no commit reproduces it exactly)"
            )
        if (fp.get("numerics") or {}).get("matmul_precision") is None:
            out.setdefault(label, []).append("matmul precision not recorded")
    return out


def caveats(report) -> list[str]:
    """What a reader must know before trusting a number: model sizes and what each machine lacked."""
    from fwbench.workloads import WORKLOADS

    out = []
    from fwbench.experiments import timed

    timing = set(timed())
    used = sorted({j["workload"] for _, j in report.latest if j.get("experiment") in timing})
    sizes = [
        f"{md(w)} {WORKLOADS[w].n_params / 1e6:.2g} M"
        for w in used
        if w in WORKLOADS and getattr(WORKLOADS[w], "n_params", None)
    ]
    if sizes:
        out.append(
            "The timed models are small (parameters: " + ", ".join(sizes) + "), so per-step framework "
            "overhead weighs more than it would in a large model."
        )
    frameworks = {"torch", "tensorflow", "jax"}
    have: dict[str, set] = {}
    devices: dict[str, set] = {}
    for run, job in report.latest:
        label = run.manifest["machine_label"]
        devices.setdefault(label, set()).add(job.get("device"))
        if job.get("status") == "ok":
            have.setdefault(label, set()).add(job.get("framework"))
        else:
            have.setdefault(label, set())
    provenance = _provenance_gaps(report)
    for label in sorted(have):
        missing = sorted(frameworks - have[label])
        gaps = list(provenance.get(label, []))
        if missing:
            gaps.append("no successful result for " + ", ".join(missing))
        if "cuda" not in devices[label]:
            gaps.append("CPU only")
        if gaps:
            out.append(f"{md(label)}: " + "; ".join(gaps) + ".")
    return out


def key_findings(report, verdicts) -> list[Finding]:
    """The 5-8 sentences the book opens with: each experiment's own, then verdicts, breakage and reliability."""
    from fwbench.experiments import part, registry

    out: list[Finding] = []
    for name in registry():
        module = part(name, "findings")
        if module is not None:
            out += module.findings(report)
    out.append(_verdict_finding(verdicts))
    for extra in (_failure_finding(report), _aa_finding(report)):
        if extra is not None:
            out.append(extra)
    return out


def machine_line(report) -> str:
    """One line of HTML (id fwbench-machines, which the page check looks for in the first screen) naming every
    machine in the store plainly, with its devices and where its runs came from; store text is escaped."""
    from fwbench.report.results import escape

    if not report.runs:
        return (
            "<p id='fwbench-machines'><em>The store is empty: run <code>make report</code> to measure this "
            "machine.</em></p>"
        )
    machines: dict[str, dict] = {}
    for run in report.runs:
        entry = machines.setdefault(run.manifest["machine_label"], {"devices": set(), "imported": True, "runs": 0})
        entry["devices"] |= {j.get("device") for j in run.jobs if j.get("device")}
        entry["imported"] &= bool(report.origins.get(run.run_id))
        entry["runs"] += 1
    parts = []
    for label, e in sorted(machines.items()):
        devices = ", ".join(sorted(d for d in e["devices"] if isinstance(d, str))) or "no results"
        where = "imported bundle" if e["imported"] else "measured here"
        parts.append(f"<strong>{escape(label)}</strong> ({escape(devices)}; {e['runs']} run(s), {where})")
    return "<p id='fwbench-machines'><strong>Machines:</strong> " + "; ".join(parts) + ".</p>"


#: The machine table's key columns; the rest stay behind "all details".
MACHINE_COLUMNS = ["machine", "GPU", "usable CPUs", "RAM (GiB)", "torch", "tensorflow", "jax", "runs", "source"]


def machines_summary(machines: pd.DataFrame) -> pd.DataFrame:
    return machines[[c for c in MACHINE_COLUMNS if c in machines]]
