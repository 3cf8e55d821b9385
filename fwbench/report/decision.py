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
from fwbench.report.results import escape


@dataclass(frozen=True)
class UseCase:
    name: str = field(metadata={"help": "the use case as comparisons name it"})
    question: str = field(metadata={"help": "what someone in that situation asks"})
    claims: tuple = field(metadata={"help": "ids of the claims (claims.yml) whose verdicts answer it"})


USE_CASES = (
    UseCase("Research prototyping", "Can I write, inspect and debug models freely, and still run them fast?",
            ("D1", "D2", "D3", "E1", "E5", "U1")),
    UseCase("Fast training on one machine", "Which framework and mode trains fastest here?", ("E1", "E2", "E3", "E4", "E5")),
    UseCase("High-throughput input pipelines", "Which data loader keeps the accelerator fed?", ("P1",)),
    UseCase("Production serving", "Which serving path holds latency under load?", ("X4", "X3")),
    UseCase("Polyglot and edge deployment", "Does an exported model run elsewhere, and correctly?",
            ("X1", "X2", "X5", "X7")),
    UseCase("Teaching one API across stacks", "Can one model definition run on every framework?", ("X6", "M1")),
    UseCase("Distributed training", "Which framework covers more multi-device setups?", ("S1",)),
    UseCase("Apple Silicon", "How do PyTorch MPS and TensorFlow Metal compare?", ("H1",)),
    UseCase("TPU", "Which framework uses TPUs natively?", ("H2",)),
)

_UNMEASURED = ("not yet measured", "not testable here")


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
        out.append({"use case": case.name, "question": case.question,
                    "measured": [(v.claim.id, v.claim.claim, v.verdict, because(v)) for v in measured],
                    "not measured": [(v.claim.id, _need(v.claim)) for v in missing]})
    return pd.DataFrame(out)


def html(table: pd.DataFrame, claims_page: str = "claims.html") -> str:
    """The decision table; store-derived text is escaped, claim ids link to their evidence."""
    body = []
    for _, r in table.iterrows():
        said = "".join(f"<li><a href='{claims_page}#claim-{escape(cid)}'>{escape(cid)}</a> <em>{escape(claim)}</em> "
                       f"<strong class='verdict-{escape(verdict.split()[0])}'>{escape(verdict)}</strong>: "
                       f"{escape(reason)}</li>" for cid, claim, verdict, reason in r["measured"])
        gaps = "".join(f"<li><a href='{claims_page}#claim-{escape(cid)}'>{escape(cid)}</a>: not measured here; "
                       f"needs {escape(need)}</li>" for cid, need in r["not measured"])
        answer = (f"<ul>{said}</ul>" if said else "<p><strong>Not measured here.</strong></p>") + \
                 (f"<ul>{gaps}</ul>" if gaps else "")
        body.append(f"<tr><td><strong>{escape(r['use case'])}</strong><br>{escape(r['question'])}</td>"
                    f"<td>{answer}</td></tr>")
    return ("<table class='fwbench-table fwbench-decision'><thead><tr><th>use case</th>"
            "<th>what this report's measurements say</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>")
