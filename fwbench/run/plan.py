"""A dry run: every job a profile expands to, whether `run` would reuse a stored result or measure, and why.

Nothing is imported from any framework and nothing is measured; reading the store
and hashing the source files is all it does, so it answers in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fwbench.matrix.profile import Job, Profile
from fwbench.measure import fingerprint
from fwbench.run.estimate import CELL_FIELDS
from fwbench.run.inputs import Inputs
from fwbench.run.runner import imported_jobs, newest_results, reusable_results
from fwbench.store.bundle import imported_runs
from fwbench.store.store import Store


@dataclass(frozen=True)
class Planned:
    """One job and what `run` would do with it."""

    job: Job = field(metadata={"help": "the job"})
    action: str = field(metadata={"help": "'reuse' (a stored result has the same key) or 'run'"})
    reason: str = field(default="", metadata={"help": "for 'run': the input that changed, in words"})
    files: tuple[str, ...] = field(default=(), metadata={"help": "for a code change: the source files that changed"})


def _same_cell(job: Job, stored: dict) -> bool:
    """The stored job measured this job's cell and process (its parameters may differ)."""
    return all(stored.get(k) == getattr(job, k) for k in CELL_FIELDS)


def _files_changed(before: dict[str, str], now: dict[str, str]) -> tuple[str, ...]:
    return tuple(sorted(p for p in set(before) | set(now) if before.get(p) != now.get(p)))


def _why(job: Job, inputs: Inputs, history: list[tuple[dict, dict]]) -> tuple[str, tuple[str, ...]]:
    """Why `job` runs: compare with the newest stored result of the same cell on this machine."""
    same_id = [(m, j) for m, j in history if j["job_id"] == job.job_id]
    if not same_id:
        earlier = [(m, j) for m, j in history if _same_cell(job, j)]
        if not earlier:
            return "new: never measured on this machine", ()
        _, stored = earlier[-1]
        keys = sorted(
            k
            for k in set(stored.get("params", {})) | set(job.params)
            if stored.get("params", {}).get(k) != job.params.get(k)
        )
        return f"parameters changed: {', '.join(keys) or 'their values'}", ()
    manifest, stored = same_id[-1]
    if stored["status"] == "failed":
        return "its last run failed", ()
    before = manifest.get("inputs")
    if before is None:
        return "stored before runs recorded their inputs: the code or environment changed since", ()
    reasons, files = [], ()
    if before.get("notebooks", {}).get(job.experiment) != inputs.notebooks[job.experiment]:
        reasons.append("notebook changed")
    files = _files_changed(before.get("code", {}).get(job.experiment, {}), inputs.code[job.experiment])
    if files:
        reasons.append(f"code changed ({len(files)} file{'s' * (len(files) != 1)})")
    env_then = before.get("environments", {}).get(str(job.threads))
    env_now = inputs.environments[str(job.threads)]
    if env_then != env_now:
        what = sorted(k for k in set(env_then or {}) | set(env_now) if (env_then or {}).get(k) != env_now.get(k))
        if "packages" in what and env_then:
            pkgs = sorted(
                p
                for p in set(env_then["packages"]) | set(env_now["packages"])
                if env_then["packages"].get(p) != env_now["packages"].get(p)
            )
            what = [w if w != "packages" else f"packages ({', '.join(pkgs)})" for w in what]
        reasons.append(f"environment changed: {', '.join(what)}")
    if not reasons:
        reasons.append("external programs it uses, or the store's schema, changed")
    return "; ".join(reasons), files


def plan(
    profile: Profile, store: Store, force: bool = False, stored: list | None = None, elsewhere: list | None = None
) -> list[Planned]:
    """What `run --profile` would do now, job by job, in execution order. `stored`, if given, receives the newest
    stored (run id, job) of every job id this machine measured into the store, and `elsewhere` every (run id, job)
    of the runs imported from other machines (what its time estimates read)."""
    inputs = Inputs.of(profile.jobs, fingerprint.collect())
    runs, _ = store.load(strict=False) if store.root.is_dir() else ([], [])
    imported = imported_runs(store) if store.root.is_dir() else {}
    done = reusable_results(runs, imported)
    if stored is not None:
        stored.extend(newest_results(runs, imported, inputs.fingerprint["machine_id"]).values())
    if elsewhere is not None:
        elsewhere.extend(imported_jobs(runs, imported))
    return _planned(profile.jobs, inputs, done, _history(runs, imported), force)


def _history(runs, imported, machine: str | None = None) -> list[tuple[dict, dict]]:
    """(manifest, job) of every run measured into this store (of `machine` only, if given), oldest first."""
    return [
        (run.manifest, job)
        for run in sorted(runs, key=lambda r: r.run_id)
        if run.run_id not in imported and (machine is None or run.manifest.get("machine_id") == machine)
        for job in run.jobs
    ]


def _planned(jobs, inputs: Inputs, done, history, force: bool) -> list[Planned]:
    """Each job reused (its key is stored), forced, or to run with the input that changed since it was stored."""
    return [
        Planned(job, "run", "--force")
        if force
        else Planned(job, "reuse")
        if inputs.keys[job.job_id] in done
        else Planned(job, "run", *_why(job, inputs, history))
        for job in jobs
    ]


def describe(planned: list[Planned]) -> list[str]:
    """The plan as lines for a terminal: one per job, the changed files under it, a count at the end."""
    lines, shown = [], set()
    # A profile that pins jobs to hardware classes (a Ray cluster's nodes) says on each line which class runs it.
    pinned = any(p.job.classes for p in planned)
    for p in planned:
        line = f"{p.action:5}  {p.job.job_id}"
        if pinned:
            line += f"  (class {' or '.join(p.job.classes) if p.job.classes else 'any'})"
        lines.append(line + (f"  [{p.reason}]" if p.reason else ""))
        if p.files and (p.job.experiment, p.files) not in shown:  # an experiment's files once, not per job
            shown.add((p.job.experiment, p.files))
            lines.extend(f"         changed: {f}" for f in p.files)
    runs = sum(p.action == "run" for p in planned)
    cap = max((p.job.replacements for p in planned), default=0)
    later = f"; then up to {cap} replacement processes per cell whose series come out unstable" if cap else ""
    grow = {
        p.job.cell_id: p.job.max_processes - sum(q.job.cell_id == p.job.cell_id for q in planned)
        for p in planned
        if p.job.max_processes
    }
    if grow:
        later += (
            f"; then, in {len(grow)} cells of sequential designs, up to {sum(grow.values())} more processes in "
            f"all, one per cell and round while a comparison is undecided"
        )
    lines.append(f"fwbench: plan: {runs} to run, {len(planned) - runs} reused, {len(planned)} jobs{later}")
    return lines


def plan_classes(targets: list, store: Store, force: bool = False) -> list[tuple[object, list[Planned]]]:
    """What `run --executor ray` would do now, per hardware class: each class's jobs (fwbench.run.executor.Target)
    keyed with the fingerprint its own nodes reported, and compared with that machine's stored runs only."""
    runs, _ = store.load(strict=False) if store.root.is_dir() else ([], [])
    imported = imported_runs(store) if store.root.is_dir() else {}
    done = reusable_results(runs, imported)
    out = []
    for target in targets:
        inputs = Inputs.of(target.jobs, target.fingerprint, cpus=target.cpus)
        history = _history(runs, imported, target.fingerprint["machine_id"])
        out.append((target, _planned(target.jobs, inputs, done, history, force)))
    return out


def describe_classes(by_class: list[tuple[object, list[Planned]]]) -> list[str]:
    """A cluster's plan as lines for a terminal: each class's machine, then its jobs as `describe` puts them."""
    lines = []
    for target, planned in by_class:
        fp = target.fingerprint
        lines.append(
            f"fwbench: plan: class {target.hardware_class}: machine {fp['machine_id']} "
            f"({fp.get('machine_label') or 'unlabelled'}), {len((target.record or {}).get('nodes', ()))} "
            f"node(s)"
        )
        lines.extend(describe(planned))
    if not by_class:
        lines.append("fwbench: plan: no class of the cluster runs any of the profile's jobs")
    return lines
