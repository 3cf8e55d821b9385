"""Each claim's verdict on each machine's runs alone, and where one machine's profiles (quick, full) disagree."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from fwbench.report.claims import DECIDED, load_claims, verdict_for
from fwbench.report.results import Report, escape, profile_name
from fwbench.report.sanitize import md

# Two DECIDED verdicts that differ are a disagreement. The rest ("inconclusive", "not yet measured", "not testable
# here") say that one side could not decide, which is no disagreement.


@dataclass(frozen=True)
class Disagreement:
    """One claim that two profiles run on the same machine decide differently."""

    claim: str = field(metadata={"help": "the claim's id"})
    machine_id: str = field(metadata={"help": "the machine both profiles ran on"})
    verdicts: dict = field(metadata={"help": "machine label (one per profile) -> that profile's verdict"})
    votes: dict = field(metadata={"help": "machine label -> 'supports/contradicts/inconclusive' cell counts, or ''"})


def machine_report(report: Report, label: str) -> Report:
    """The report restricted to the runs shown under one machine label (one machine, one profile)."""
    runs = [r for r in report.runs if r.manifest["machine_label"] == label]
    return Report(
        runs=runs, problems=[], origins={r.run_id: report.origins[r.run_id] for r in runs if r.run_id in report.origins}
    )


def _votes(cells: pd.DataFrame) -> str:
    if cells is None or cells.empty or "role" not in cells:
        return ""
    roles = cells["role"].value_counts()
    return "/".join(str(int(roles.get(r, 0))) for r in ("supports", "contradicts", "inconclusive"))


def verdicts_by_machine(report: Report) -> pd.DataFrame:
    """One row per (claim, machine label): the verdict and its votes from that label's runs alone. Claims no
    experiment here tests are left out (the same words on every machine)."""

    def compute() -> pd.DataFrame:
        labels = sorted({r.manifest["machine_label"] for r in report.runs})
        claims = [c for c in load_claims() if c.experiment]
        rows = []
        for label in labels:
            sub = machine_report(report, label)
            first = next(r for r in sub.runs)
            for claim in claims:
                v = verdict_for(claim, sub)
                rows.append(
                    {
                        "claim": claim.id,
                        "machine_label": label,
                        "machine_id": first.manifest["machine_id"],
                        "profile": profile_name(first.manifest),
                        "verdict": v.verdict,
                        "votes": _votes(v.cells),
                    }
                )
        return pd.DataFrame(rows, columns=["claim", "machine_label", "machine_id", "profile", "verdict", "votes"])

    return report.memoized(("verdicts_by_machine",), compute)


def disagreements(table: pd.DataFrame) -> list[Disagreement]:
    """Claims that two labels of one machine (its profiles) both decide, differently."""
    found = []
    for (claim, machine_id), g in table.groupby(["claim", "machine_id"], sort=False):
        decided = g[g["verdict"].isin(DECIDED)]
        if decided["machine_label"].nunique() > 1 and decided["verdict"].nunique() > 1:
            found.append(
                Disagreement(
                    claim,
                    machine_id,
                    dict(zip(decided["machine_label"], decided["verdict"])),
                    dict(zip(decided["machine_label"], decided["votes"])),
                )
            )
    return found


def agreement_line(table: pd.DataFrame) -> str:
    """What the page says of each machine measured under several profiles: how many claims both decide, and
    which of them they decide differently (an empty string when no machine ran more than one profile)."""
    lines = []
    for machine_id, g in table.groupby("machine_id", sort=False):
        labels = sorted(g["machine_label"].unique())
        if len(labels) < 2:
            continue
        both = [c for c, cg in g.groupby("claim", sort=False) if cg["verdict"].isin(DECIDED).sum() == len(labels)]
        differ = disagreements(g)
        names = " and ".join(f"*{md(lb)}*" for lb in labels)
        if not both:  # a small check run beside a real one, say: nothing to compare, nothing to say
            continue
        if not differ:
            lines.append(f"{names}: the {len(both)} claims both decide are decided alike.")
            continue
        detail = "; ".join(
            f"{d.claim}: "
            + ", ".join(f"**{v}** ({md(lb)}, votes {d.votes[lb] or 'n/a'})" for lb, v in d.verdicts.items())
            for d in differ
        )
        lines.append(
            f"{names}: of the {len(both)} claims both decide, {len(differ)} "
            f"{'differs' if len(differ) == 1 else 'differ'}: {detail}. A profile that "
            "measures more workloads, sizes and processes can turn a verdict: the claim's evidence lists the cells "
            "each vote came from."
        )
    return "\n\n".join(lines)


def _cell(verdict: str, votes: str) -> str:
    if verdict == "not yet measured":  # most machines run some experiments only: a dash keeps the table readable
        return "<td title='not measured on this machine'>&ndash;</td>"
    title = f" title='votes {escape(votes)} (supporting/contradicting/inconclusive cells)'" if votes else ""
    return f"<td class='verdict-{escape(verdict.split()[0])}'{title}>{escape(verdict)}</td>"


def _profile_note(label: str, profile: str) -> str:
    """The profile under a column's machine name, unless the name already carries it: a reference measured at the
    full profile beside a reader's quick run is no like-for-like pair, and the header says so."""
    if label.endswith(f"({profile} profile)"):
        return ""
    return f"<br><span class='fwbench-profile'>{escape(profile)} profile</span>"


def html(table: pd.DataFrame) -> str:
    """Claims down, machines across (each with its profile), each cell a verdict (class verdict-<first word>, as on
    the summary table)."""
    if table.empty:
        return ""
    labels = list(dict.fromkeys(table["machine_label"]))
    profiles = dict(zip(table["machine_label"], table["profile"]))
    head = "".join(f"<th>{escape(lb)}{_profile_note(lb, profiles[lb])}</th>" for lb in labels)
    body = []
    for claim, g in table.groupby("claim", sort=False):
        by = dict(zip(g["machine_label"], zip(g["verdict"], g["votes"])))
        cells = "".join(_cell(*by[lb]) if lb in by else "<td></td>" for lb in labels)
        body.append(f"<tr><td><a href='#claim-{escape(claim)}'>{escape(claim)}</a></td>{cells}</tr>")
    return (
        f"<table class='fwbench-table'><thead><tr><th>id</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
