"""Whether a stored process added after a cell's planned ones still belongs to its cell (read by runner and report)."""

from __future__ import annotations

#: The entries a stored job carries when a rule added it: a replacement of unstable processes
#: (fwbench.run.replace) or a sequential round's extra process (fwbench.run.sequential).
ADDED_BY = ("replacement", "sequential")


def is_current(job: dict, current: dict[str, str]) -> bool:
    """Whether a stored job counts: a planned process always; an added one while every process it was added for
    is still the newest result of its slot (`current`: job id -> run id, one machine). Once one of them is
    measured again, the added process belongs to a cell that no longer exists and is left out."""
    for entry in ADDED_BY:
        added = job.get(entry)
        if added is None:
            continue
        if not isinstance(added, dict):
            return False
        slots = added.get("for") or []
        if not (slots and all(isinstance(s, dict) and current.get(s.get("job_id")) == s.get("run_id") for s in slots)):
            return False
    return True
