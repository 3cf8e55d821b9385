"""Whether a stored replacement process (fwbench.run.replace) still belongs to its cell (read by runner and report)."""

from __future__ import annotations


def is_current(job: dict, current: dict[str, str]) -> bool:
    """Whether a stored job counts: a planned process always; a replacement while every process it was added for
    is still the newest result of its slot (`current`: job id -> run id, one machine). Once one of them is
    measured again, the replacement belongs to a cell that no longer exists and is left out."""
    replacement = job.get("replacement")
    if not isinstance(replacement, dict):
        return True
    slots = replacement.get("for") or []
    return bool(slots) and all(current.get(s["job_id"]) == s["run_id"] for s in slots)
