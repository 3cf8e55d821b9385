"""Which framework for which job: the use cases framework comparisons list, each answered from this report's verdicts.

Only the mapping from a use case to the claims it rests on is written here; every
answer is composed from those claims' computed verdicts and reasons, so it changes
when the measurements do. A use case none of whose claims is measured says what a
verdict would need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from fwbench.report.findings import because
from fwbench.report.results import escape, profile_name


@dataclass(frozen=True)
class UseCase:
    name: str = field(metadata={"help": "the use case as comparisons name it"})
    question: str = field(metadata={"help": "what someone in that situation asks"})
    claims: tuple = field(metadata={"help": "ids of the claims (claims.yml) whose verdicts answer it"})


USE_CASES = (
    UseCase(
        "Research prototyping",
        "Can I write, inspect and debug models freely, and still run them fast?",
        ("D1", "D2", "D3", "E1", "E5", "U1"),
    ),
    UseCase(
        "Fast training on one machine", "Which framework and mode trains fastest here?", ("E1", "E2", "E3", "E4", "E5")
    ),
    UseCase("High-throughput input pipelines", "Which data loader keeps the accelerator fed?", ("P1",)),
    UseCase("Production serving", "Which serving path holds latency under load?", ("X4", "X3")),
    UseCase(
        "Polyglot and edge deployment", "Does an exported model run elsewhere, and correctly?", ("X1", "X2", "X5", "X7")
    ),
    UseCase("Teaching one API across stacks", "Can one model definition run on every framework?", ("X6", "M1")),
    UseCase("Distributed training", "Which framework covers more multi-device setups?", ("S1",)),
    UseCase("Apple Silicon", "How do PyTorch MPS and TensorFlow Metal compare?", ("H1",)),
    UseCase("TPU", "Which framework uses TPUs natively?", ("H2",)),
)

_UNMEASURED = ("not yet measured", "not testable here")


@dataclass(frozen=True)
class Job:
    """A job an engineer picks a framework for, and the claims that would decide it where nothing measured it."""

    name: str = field(metadata={"help": "the job as a reader names it"})
    claims: tuple = field(metadata={"help": "ids of the claims (claims.yml) that bear on it"})


#: The jobs the decision page and the introduction answer, in this order. Each experiment answers the ones it
#: measures through `picks(report)` in its folder's picks.py; a job no stored result answers says so.
JOBS = (
    Job("Training on CPU", ("E1", "E2", "E3", "E4", "E5")),
    Job("Training on GPU", ("E1", "E2", "E3", "E4", "E5")),
    Job("Low-latency serving", ("X4",)),
    Job("Throughput serving", ("X4", "X3")),
    Job("Export to mobile", ("X5",)),
    Job("Export to web", ("X7",)),
    Job("Debugging", ("D1", "D2", "D3")),
    Job("Distributed training", ("S1",)),
)


@dataclass(frozen=True)
class Pick:
    """One answer to "which framework for this job, here": plain text (the page escapes it)."""

    job: str = field(metadata={"help": "a JOBS name"})
    machine: str = field(metadata={"help": "the machine label the answer holds for ('' where none measured it)"})
    pick: str = field(
        metadata={"help": "framework and mode to pick, or 'no difference we can detect' / 'not measured here'"}
    )
    by_how_much: str = field(default="", metadata={"help": "the lead over the next choice, with its 95% interval"})
    how_sure: str = field(default="", metadata={"help": "what decides it: separated cells, counts, or why not"})
    evidence: str = field(default="", metadata={"help": "page (without .html) and anchor of the evidence"})
    profile: str = field(default="", metadata={"help": "the profile(s) the numbers come from"})


def profiles_by_machine(report) -> dict[str, str]:
    """machine label -> the profile names of its runs ('quick', 'full', ...), as the pick says where numbers came
    from: a quick profile's small models and short budgets limit what they say."""
    out: dict[str, set] = {}
    for run in report.runs:
        out.setdefault(run.manifest["machine_label"], set()).add(profile_name(run.manifest))
    return {m: ", ".join(sorted(p)) for m, p in out.items()}


def profile_line(report) -> str:
    """One line of HTML naming the profile each machine's numbers come from and what that profile limits."""
    seen: dict[str, dict] = {}
    for run in report.runs:
        prof = run.manifest["profile"]
        seen.setdefault(run.manifest["machine_label"], {})[profile_name(run.manifest)] = str(
            prof.get("description", "")
        )
    if not seen:
        return ""
    parts = []
    for machine, profs in sorted(seen.items()):
        said = "; ".join(
            f"<strong>{escape(name)}</strong> profile" + (f" ({escape(d)})" if d else "")
            for name, d in sorted(profs.items())
        )
        parts.append(f"{escape(machine)}: {said}")
    quick = any("quick" in p for p in seen.values())
    limits = (
        " The quick profile is a first look: small models and short timing budgets, so per-step framework "
        "overhead weighs more than in large models, and some claims need the full profile "
        "(<code>PROFILE=full make report</code>) to be decided."
        if quick
        else ""
    )
    return (
        "<p id='fwbench-profiles'><strong>Where the numbers come from:</strong> "
        + "; ".join(parts)
        + "."
        + limits
        + "</p>"
    )


def picks(report, verdicts=()) -> list[Pick]:
    """Every job of JOBS answered: each experiment's picks (per machine), then, for a job none answers, one line
    saying it is not measured here and which claims' experiment would decide it."""
    from fwbench.experiments import part, registry

    found: list[Pick] = []
    for name in registry():
        module = part(name, "picks")
        if module is not None:
            found += module.picks(report)
    profiles = profiles_by_machine(report)
    by_id = {v.claim.id: v for v in verdicts}
    out = []
    for job in JOBS:
        mine = [p for p in found if p.job == job.name]
        if mine:
            out += [p if p.profile else Pick(**{**p.__dict__, "profile": profiles.get(p.machine, "")}) for p in mine]
            continue
        needs = [f"{c} ({_need(by_id[c].claim)})" for c in job.claims if c in by_id]
        out.append(
            Pick(
                job.name,
                "",
                "not measured here",
                how_sure=("nothing in this store measures it; deciding it needs " + "; ".join(needs))
                if needs
                else "nothing in this store measures it",
                evidence="chapters/claims",
            )
        )
    return out


def picks_html(rows: list[Pick], chapters: str = "") -> str:
    """The pick table: job, machine, pick, by how much, how sure, evidence link; every stored string escaped."""
    body = []
    for p in rows:
        page, _, anchor = p.evidence.partition("#")
        link = (
            f"<a href='{chapters}{escape(page)}.html" + (f"#{escape(anchor)}" if anchor else "") + "'>evidence</a>"
            if page
            else ""
        )
        machine = escape(p.machine) + (f"<br><small>{escape(p.profile)} profile</small>" if p.profile else "")
        body.append(
            f"<tr><td><strong>{escape(p.job)}</strong></td><td>{machine or '-'}</td>"
            f"<td><strong>{escape(p.pick)}</strong></td><td>{escape(p.by_how_much) or '-'}</td>"
            f"<td>{escape(p.how_sure) or '-'}</td><td>{link}</td></tr>"
        )
    return (
        "<table class='fwbench-table fwbench-picks'><thead><tr><th>job</th><th>machine</th><th>pick</th>"
        "<th>by how much</th><th>how sure</th><th></th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    )


def _need(claim) -> str:
    if claim.experiment:
        return f"results of the {claim.experiment} experiment in the store (make report measures them)"
    return claim.needs or "hardware that no run in the store had"


def rows(verdicts) -> pd.DataFrame:
    """One row per use case: what the measured verdicts say (with reasons), and what is not measured here."""
    by_id = {v.claim.id: v for v in verdicts}
    out = []
    for case in USE_CASES:
        known = [by_id[c] for c in case.claims if c in by_id]
        measured = [v for v in known if v.verdict not in _UNMEASURED]
        missing = [v for v in known if v.verdict in _UNMEASURED]
        out.append(
            {
                "use case": case.name,
                "question": case.question,
                "measured": [(v.claim.id, v.claim.claim, v.verdict, because(v)) for v in measured],
                "not measured": [(v.claim.id, _need(v.claim)) for v in missing],
            }
        )
    return pd.DataFrame(out)


def html(table: pd.DataFrame, claims_page: str = "claims.html") -> str:
    """The decision table; store-derived text is escaped, claim ids link to their evidence."""
    body = []
    for _, r in table.iterrows():
        said = "".join(
            f"<li><a href='{claims_page}#claim-{escape(cid)}'>{escape(cid)}</a> <em>{escape(claim)}</em> "
            f"<strong class='verdict-{escape(verdict.split()[0])}'>{escape(verdict)}</strong>: "
            f"{escape(reason)}</li>"
            for cid, claim, verdict, reason in r["measured"]
        )
        gaps = "".join(
            f"<li><a href='{claims_page}#claim-{escape(cid)}'>{escape(cid)}</a>: not measured here; "
            f"needs {escape(need)}</li>"
            for cid, need in r["not measured"]
        )
        answer = (f"<ul>{said}</ul>" if said else "<p><strong>Not measured here.</strong></p>") + (
            f"<ul>{gaps}</ul>" if gaps else ""
        )
        body.append(
            f"<tr><td><strong>{escape(r['use case'])}</strong><br>{escape(r['question'])}</td><td>{answer}</td></tr>"
        )
    return (
        "<table class='fwbench-table fwbench-decision'><thead><tr><th>use case</th>"
        "<th>what this report's measurements say</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    )
