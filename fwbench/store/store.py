"""The results store: one directory per run holding its manifest, job results (JSON) and executed notebooks.

Layout under the store root::

    runs/<run_id>/manifest.json        machine fingerprint, profile, timing of the run, job list
    runs/<run_id>/jobs/<job_id>.json   one job's status, records, raw samples and checks
    runs/<run_id>/notebooks/<job_id>.ipynb   the executed experiment notebook
    runs/<run_id>/logs/<job_id>.log    the kernel's stderr (framework warnings and chatter)
    .lock                              held by the runner while it writes

Everything is JSON (never pickle), carries `schema_version`, is validated on
read, and is written atomically so a killed process never leaves a torn file.
"""

from __future__ import annotations

import fcntl
import math
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from fwbench import SCHEMA_VERSION
from fwbench.errors import StoreError
from fwbench.experiments import registry
from fwbench.files import write_json_atomic
from fwbench.paths import RESULTS
from fwbench.store import safe, schema

JOB_STATUSES = ("ok", "failed", "skipped")
RUN_STATUSES = ("running", "complete", "interrupted")


#: Names that identify things (machines, frameworks, variants, workloads, bugs, ...): they reach page titles,
#: file names and Markdown, so they are plain text: letters, digits and a few separators; no markup, no newline.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.,:;+@()/-]{0,199}")
#: Run and job ids: also file and folder names, so no space and no leading dot.
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}")


def check_name(path, where: str, value, pattern: re.Pattern = NAME) -> None:
    """Refuse an identifying string that is not plain (see NAME and ID)."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        kind = (
            "an id (letters, digits, '_', '.', '+', '-')"
            if pattern is ID
            else "a plain name (letters, digits, spaces and _ . , : ; + @ ( ) / -)"
        )
        raise StoreError(f"{path}: {where} {repr(value)[:60]} is not {kind}")


def default_root() -> Path:
    """FWBENCH_STORE if set and not empty, else `results/` at the repository root."""
    env = os.environ.get("FWBENCH_STORE")
    return Path(env) if env else RESULTS


def read_json(path: Path, kind: str = "json", root: Path | None = None) -> dict:
    """A JSON object from the store, read within the bounds of fwbench.store.safe (no symlink, size, depth)."""
    data = safe.read_json(path, kind, root)
    if not isinstance(data, dict):
        raise StoreError(f"{path}: expected a JSON object")
    return data


def _check_fields(path, data: dict, kind: str) -> None:
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise StoreError(f"{path}: schema_version {version!r} is not supported (this fwbench reads {SCHEMA_VERSION})")
    found = schema.problem(kind, data)
    if found:
        raise StoreError(f"{path}: {found}")


@lru_cache(maxsize=None)
def payload_checks() -> dict[str, dict[str, object]]:
    """Stored-job key -> {experiment: its checker} (fwbench.experiments.base.Experiment.payloads): several
    experiments may store a part under the same key (an export job's and a porting job's `attempts`), each in its
    own shape."""
    out: dict[str, dict[str, object]] = {}
    for name, experiment in registry().items():
        for key, check in experiment.payloads.items():
            out.setdefault(key, {})[name] = check
    return out


def validate_job(data: dict, path="job") -> dict:
    """Check a job result against the schema; return it unchanged or raise StoreError."""
    _check_fields(path, data, "job")
    if data["kind"] != "job":
        raise StoreError(f"{path}: kind is {data['kind']!r}, expected 'job'")
    for name in ("run_id", "job_id"):
        check_name(path, name, data[name], ID)
    for name in ("experiment", "framework", "device", "workload", "variant", "mode"):
        check_name(path, name, data[name])
    if data.get("framework_version"):
        check_name(path, "framework_version", data["framework_version"])
    if data["status"] not in JOB_STATUSES:
        raise StoreError(f"{path}: status {data['status']!r} is not one of {', '.join(JOB_STATUSES)}")
    if data["status"] != "ok" and not isinstance(data.get("error"), dict):
        raise StoreError(f"{path}: a {data['status']} job must carry an error object")
    for i, rec in enumerate(data["records"]):  # typed by the schema; what it cannot say is checked here
        if not math.isfinite(rec["value"]):
            raise StoreError(f"{path}: records[{i}].value is not finite")
        for name in ("workload", "mode", "variant"):  # optional per-record overrides (a debugging job's bug and mode)
            if name in rec:
                check_name(path, f"records[{i}].{name}", rec[name])
        check_name(path, f"records[{i}].metric", rec["metric"])
    samples = data.get("samples", [])
    for i, entry in enumerate(samples if isinstance(samples, list) else []):
        # Timed series (eager vs graph, tool costs): what the statistics read, so their shape is checked here.
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("phase"), str)
            or not isinstance(entry.get("batch_size"), int)
            or not isinstance(entry.get("values"), list)
        ):
            raise StoreError(f"{path}: samples[{i}] lacks phase, batch_size or values")
        if not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
            for v in entry["values"]
        ):
            raise StoreError(f"{path}: samples[{i}].values holds a value that is not a positive finite number")
        if "variant" in entry:
            check_name(path, f"samples[{i}].variant", entry["variant"])
    if "replacement" in data:
        _check_replacement(path, data["replacement"])
    # Experiment-specific parts (a debugging job's cases, an export job's attempts, ...) are checked by the job's own
    # experiment's code; a part that only other experiments store is refused, so a bundle cannot slip one past
    # under another experiment's name.
    for key, owners in payload_checks().items():
        if key not in data:
            continue
        check = owners.get(data["experiment"])
        if check is None:
            raise StoreError(
                f"{path}: carries {key!r}, which {', '.join(sorted(owners))} jobs store, not {data['experiment']} jobs"
            )
        check(data[key], path, check_name)
    return data


def _check_replacement(path, replacement) -> None:
    """Refuse a `replacement` entry that is not: the processes it was added for ('for': run and job ids) and the
    series they lacked ('short': plain lines)."""
    if (
        not isinstance(replacement, dict)
        or not isinstance(replacement.get("for"), list)
        or not replacement["for"]
        or not isinstance(replacement.get("short"), list)
    ):
        raise StoreError(f"{path}: replacement must hold a non-empty list 'for' and a list 'short'")
    for i, slot in enumerate(replacement["for"]):
        if not isinstance(slot, dict):
            raise StoreError(f"{path}: replacement.for[{i}] is not an object")
        for name in ("run_id", "job_id"):
            check_name(path, f"replacement.for[{i}].{name}", slot.get(name), ID)
    for i, line in enumerate(replacement["short"]):
        check_name(path, f"replacement.short[{i}]", line)


def validate_manifest(data: dict, path="manifest") -> dict:
    _check_fields(path, data, "run")
    if data["kind"] != "run":
        raise StoreError(f"{path}: kind is {data['kind']!r}, expected 'run'")
    check_name(path, "run_id", data["run_id"], ID)
    check_name(path, "machine_id", data["machine_id"], ID)
    check_name(path, "machine_label", data["machine_label"])
    if data["status"] not in RUN_STATUSES:
        raise StoreError(f"{path}: status {data['status']!r} is not one of {', '.join(RUN_STATUSES)}")
    return data


@dataclass
class Run:
    """One stored run: its manifest and its job results."""

    path: Path
    manifest: dict
    jobs: list[dict]
    #: One line per job file of this run that could not be read (left out of `jobs`).
    damaged: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return self.manifest["run_id"]

    def notebook(self, job_id: str) -> Path:
        return self.path / "notebooks" / f"{job_id}.ipynb"

    def read_notebook(self, job_id: str) -> dict:
        """The executed notebook of a job as parsed JSON, within the store's bounds (no symlink followed, size
        and depth capped); StoreError naming it otherwise. Callers still check it is a notebook."""
        data = safe.read_json(self.notebook(job_id), "notebook", self.path.parent.parent, allow_nan=True)
        if not isinstance(data, dict):
            raise StoreError(f"{self.notebook(job_id)}: expected a JSON object")
        return data


class Store:
    """Read and write access to a results store rooted at `root`."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_root()

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive writer lock; a second runner on the same store is refused, not interleaved.
        Creates the store, saying so, if it does not exist yet (only commands that write take the lock)."""
        if not self.root.exists():
            print(f"fwbench: creating a new store at {self.root}", file=sys.stderr)
        self.root.mkdir(parents=True, exist_ok=True)
        fh = open(self.root / ".lock", "a+")
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(f"{self.root}: another fwbench runner is writing to this store") from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            yield
        finally:
            fh.close()

    def write_manifest(self, manifest: dict) -> None:
        validate_manifest(manifest)
        write_json_atomic(self.run_dir(manifest["run_id"]) / "manifest.json", manifest)

    def write_job(self, job: dict) -> Path:
        validate_job(job)
        path = self.run_dir(job["run_id"]) / "jobs" / f"{job['job_id']}.json"
        write_json_atomic(path, job)
        return path

    def run_ids(self) -> list[str]:
        if not self.runs_dir.is_dir():
            return []
        # Hidden entries are the import's scratch; anything else that is not a folder is not a run. A symlinked
        # folder is listed (and refused when loaded, so that `validate` names it) but never followed.
        return sorted(
            p.name for p in self.runs_dir.iterdir() if (p.is_dir() or p.is_symlink()) and not p.name.startswith(".")
        )

    def links(self) -> list[Path]:
        """Symbolic links anywhere under runs/: a store never follows them (they could point anywhere on this
        machine), so each is a problem `validate` names."""
        if not self.runs_dir.is_dir():
            return []
        out = []
        for here, dirs, files in os.walk(self.runs_dir):  # os.walk does not descend into linked folders
            out += [Path(here) / name for name in dirs + files if (Path(here) / name).is_symlink()]
        return sorted(out)

    def load_run(self, run_id: str, strict: bool = True) -> Run:
        """One run. strict=False keeps a run whose manifest is sound but some job files are not: those
        jobs are left out and named in `run.damaged`, the others load (and stay reusable) as they are."""
        check_name(self.runs_dir / run_id, "run id", run_id, ID)
        path = self.run_dir(run_id)
        manifest = validate_manifest(read_json(path / "manifest.json", "manifest", self.root), path / "manifest.json")
        if manifest["run_id"] != run_id:
            raise StoreError(f"{path / 'manifest.json'}: run_id {manifest['run_id']!r} does not match its directory")
        jobs, damaged = [], []
        for job_path in sorted((path / "jobs").glob("*.json")):
            try:
                job = validate_job(read_json(job_path, "job", self.root), job_path)
                if job["run_id"] != run_id:
                    raise StoreError(f"{job_path}: run_id {job['run_id']!r} does not match its directory")
            except StoreError as exc:
                if strict:
                    raise
                damaged.append(str(exc))
                continue
            jobs.append(job)
        return Run(path=path, manifest=manifest, jobs=jobs, damaged=damaged)

    def load(self, strict: bool = True) -> tuple[list[Run], list[str]]:
        """All runs, oldest first, and the problems found.

        strict=True raises StoreError at the first bad file; strict=False keeps everything that is
        valid and returns one line per bad file: a bad job file loses only that job, a bad manifest
        its run (whose directory is still there, see `unreadable_runs`).
        """
        runs, problems = [], []
        for run_id in self.run_ids():
            try:
                run = self.load_run(run_id, strict=strict)
            except StoreError as exc:
                if strict:
                    raise
                problems.append(str(exc))
                continue
            runs.append(run)
            problems += run.damaged
        return runs, problems

    def unreadable_runs(self) -> list[str]:
        """Run directories whose manifest cannot be read: present in the store, but not loadable."""
        out = []
        for run_id in self.run_ids():
            try:
                check_name(self.runs_dir / run_id, "run id", run_id, ID)
                validate_manifest(read_json(self.run_dir(run_id) / "manifest.json", "manifest", self.root))
            except StoreError:
                out.append(run_id)
        return out
