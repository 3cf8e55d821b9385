"""Executes a profile's jobs with papermill, one fresh kernel each, and files every outcome in the store."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fwbench import SCHEMA_VERSION, privacy
from fwbench.errors import StoreError
from fwbench.experiments import EXPERIMENTS
from fwbench.files import copy_atomic, process_alive, write_json_atomic
from fwbench.matrix.profile import Job, Profile
from fwbench.measure import fingerprint, threads
from fwbench.measure.child import error_of
from fwbench.paths import SCRATCH
from fwbench.run import estimate, strays
from fwbench.run.executor import Outcome, Target, one_by_one
from fwbench.run.inputs import Inputs
from fwbench.run.jobkey import digest
from fwbench.run.kernel import KERNEL_NAME, jupyter_env
from fwbench.run.replace import Replacements
from fwbench.run.sequential import ENTRY as SEQUENTIAL
from fwbench.run.sequential import Extensions
from fwbench.store.bundle import imported_runs
from fwbench.store.store import Store, read_json, validate_job


@dataclass(frozen=True)
class RunOptions:
    """How the runner behaves, as set on the command line."""

    force: bool = field(default=False, metadata={"help": "re-run jobs even when a stored result has the same inputs"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar over the whole matrix"})
    scratch: Path = field(default=SCRATCH, metadata={"help": "where kernels, caches and in-flight notebooks live"})


@dataclass
class Summary:
    run_id: str | None = None
    executed: int = 0
    reused: int = 0
    failed: int = 0
    skipped: int = 0
    replacements: int = 0
    extended: int = 0
    failures: list[str] = field(default_factory=list)
    machines: list[str] = field(default_factory=list)  # the machine ids whose jobs these are, reused ones included

    def line(self) -> str:
        where = f"run {self.run_id}" if self.run_id else "no new run"
        replaced = f", {self.replacements} of the executed replacing unstable processes" if self.replacements else ""
        grown = f", {self.extended} of them added to cells whose comparisons were still open" if self.extended else ""
        return (
            f"fwbench: {self.executed} executed, {self.reused} reused, {self.failed} failed, "
            f"{self.skipped} skipped{replaced}{grown} ({where})"
        )

    @classmethod
    def merged(cls, summaries: list["Summary"]) -> "Summary":
        """One summary over several machines' runs (a Ray cluster's hardware classes); one machine's as it is."""
        if len(summaries) == 1:
            return summaries[0]
        out = cls(run_id=", ".join(s.run_id for s in summaries if s.run_id) or None)
        for name in ("executed", "reused", "failed", "skipped", "replacements", "extended"):
            setattr(out, name, sum(getattr(s, name) for s in summaries))
        out.failures = [f for s in summaries for f in s.failures]
        out.machines = sorted({m for s in summaries for m in s.machines})
        return out


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def machine_lock(path: Path):
    """One benchmark at a time per machine: a second runner anywhere on it is refused."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(
                "another fwbench runner is measuring on this machine; run one benchmark at a time"
            ) from None
        yield


def _machine_lock_path() -> Path:
    return Path(tempfile.gettempdir()) / f"fwbench-{os.getuid()}.lock"


def _failure_doc(job: Job, error: dict) -> dict:
    return {"mode": job.mode, "records": [], "samples": {}, "checks": [], "error": error}


#: The variables through which a kernel and everything it starts find their temporary directory.
TEMP_VARS = ("TMPDIR", "TEMP", "TMP")

#: A cell's temporary folder is `<temp dir>/fwbench-cell-<owner pid>-<random>`; a run's work folder (in-flight
#: notebooks, kernel logs, compiler caches, kernels' connection files) is `<scratch>/work/<run id>-pid<owner pid>`.
CELL_PREFIX = "fwbench-cell-"
_CELL_OWNER = re.compile(rf"^{CELL_PREFIX}(\d+)-")
_WORK_OWNER = re.compile(r"-pid(\d+)$")


def work_root_of(scratch: Path, run_id: str) -> Path:
    """Where a run keeps what it has not stored yet; named after this process, its owner."""
    return scratch / "work" / f"{run_id}-pid{os.getpid()}"


def clean_leftovers(scratch: Path) -> list[Path]:
    """Remove what runners killed without a chance to clean up (kill -9, a lost machine) left, and return it:
    work folders under `scratch` (in-flight notebooks, compiler caches, and kernels' connection files, which hold
    each kernel's HMAC key) and cells' temporary folders.

    Only folders whose owner, named in the folder's name, is dead, and that this user owns: a runner beside this
    one (another scratch folder, another store) keeps its folders. (A pid reused by a live process only delays the
    removal to a later run.) Folders named before owners were named in them are left alone: nothing says whose.
    """
    found = [(p, _WORK_OWNER.search(p.name)) for p in _entries(scratch / "work")]
    found += [
        (p, _CELL_OWNER.match(p.name)) for p in _entries(Path(tempfile.gettempdir())) if p.name.startswith(CELL_PREFIX)
    ]
    removed = []
    for path, owner in found:
        if owner is None or int(owner.group(1)) == os.getpid() or process_alive(int(owner.group(1))):
            continue
        try:
            if not path.is_dir() or path.is_symlink() or path.lstat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    # Servers and workers of jobs whose runner died before it could stop them (fwbench.run.strays).
    strays.stop_orphans()
    return removed


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


class CellTemps:
    """One temporary directory per cell, which its processes' kernels (and all they start) use as TMPDIR; removed
    after the cell's last process of the run.

    Per cell, not per machine or per job, because compilers keep caches there that their cache-dir settings do
    not move (TorchInductor's precompiled headers, about 150 MB, and other caches under
    tempfile.gettempdir()/torchinductor_<user>): in the shared /tmp they made a "cold" first process warm after
    any earlier run, and per job they made every "warm" process cold. And children that end with os._exit
    (forked debugging cases, export children) skip the atexit handlers that delete TensorFlow's AutoGraph
    files: without a folder of their own, every run left hundreds of files in /tmp. The folders sit directly in
    the system temp dir, not under the scratch folder, so that paths of Unix sockets made in them stay under the
    108-byte limit. `keep(cell_id)`, asked once the cell's last process of a batch is stored, keeps the folder for
    processes still to come (a replacement process finds the caches as the cell's other warm processes did).
    Each folder's name carries this process's id, so that a later run can tell one a killed runner left (its
    owner dead) from one a runner beside it still uses (`clean_leftovers`).
    """

    def __init__(self, jobs, keep=lambda cell_id: False):
        self._keep = keep
        self._dirs: dict[str, str] = {}
        self.schedule(jobs)
        tempfile.gettempdir()  # fixes this process's own temp dir before the environment points elsewhere

    def schedule(self, jobs) -> None:
        """The next batch of jobs, whose positions `env` is given."""
        self._last = {job.cell_id: i for i, job in enumerate(jobs)}

    @contextlib.contextmanager
    def env(self, index: int, job):
        """Run the job at position `index` with TMPDIR (TEMP, TMP) at its cell's folder."""
        path = self._dirs.get(job.cell_id) or self._dirs.setdefault(
            job.cell_id, tempfile.mkdtemp(prefix=f"{CELL_PREFIX}{os.getpid()}-")
        )
        saved = {name: os.environ.get(name) for name in TEMP_VARS}
        os.environ.update({name: path for name in TEMP_VARS})
        try:
            yield path
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def done(self, index: int, job) -> None:
        """The job at position `index` is stored: its cell's folder goes if it was the cell's last process."""
        if self._last.get(job.cell_id) == index and not self._keep(job.cell_id):
            self.remove(job.cell_id)

    def remove(self, cell_id: str) -> None:
        path = self._dirs.pop(cell_id, None)
        if path:
            shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        for cell_id in list(self._dirs):
            self.remove(cell_id)


def execute_job(job: Job, work: Path, notebook_out: Path, cache_dir: Path) -> dict:
    """Run one job's notebook in a fresh kernel; return its result body (never raises for job failures)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

    output_json = work / "result.json"
    params = {**job.notebook_parameters(), "output_path": str(output_json), "cache_dir": str(cache_dir)}
    started = time.monotonic()
    os.environ["FWBENCH_KERNEL_LOG"] = str(work / "kernel.log")
    os.environ[strays.MARK] = mark = strays.mark_of(job.job_id)
    # The kernel's connection file holds the key that signs its messages. jupyter_client would make it in the
    # shared temp folder under an anonymous name, and leave it there if this runner is killed; in the work
    # folder it goes with the folder, by this run or, after a kill, by the next (clean_leftovers).
    config = Config({"KernelManager": {"connection_file": str(work / "kernel-connection.json")}})
    try:
        papermill.execute_notebook(
            str(EXPERIMENTS[job.experiment].notebook_path),
            str(notebook_out),
            parameters=params,
            kernel_name=KERNEL_NAME,
            execution_timeout=job.timeout_s,
            progress_bar=False,
            log_output=False,
            cwd=str(work),
            config=config,
            # The notebook's last cell has written the result; a graceful shutdown then waits while the kernel
            # finalizes (1.4 s with JAX, up to 3.5 s with TensorFlow loaded, read off the notebooks' cell times),
            # dead time between jobs, several minutes per profile. What the kernel started is stopped below
            # (strays) and its temporary folder goes with its cell (CellTemps), so nothing needs its exit hooks.
            shutdown_kernel="immediate",
        )
        body = read_json(output_json)
        body.setdefault("error", None)
        status = "ok"
    except PapermillExecutionError as exc:
        error = error_of(exc, whole_message=True)
        # Hardware or a server this machine lacks: nothing was measured, and that is not a failure.
        status = "skipped" if error["type"] in ("DeviceUnavailable", "ServerUnavailable") else "failed"
        body = _failure_doc(job, error)
    except Exception as exc:  # timeouts, dead kernels, unreadable output: all are results too
        error = error_of(exc, whole_message=True)
        if "timeout" in type(exc).__name__.lower() or isinstance(exc, TimeoutError):
            error["message"] = f"timed out after {job.timeout_s:g} s: {error['message']}"
        body = _failure_doc(job, error)
        status = "failed"
    finally:
        os.environ.pop("FWBENCH_KERNEL_LOG", None)
        os.environ.pop(strays.MARK, None)
        # What the job started in sessions of its own (servers, load generators, workers) outlives a kernel that
        # died, timed out or was interrupted: stopped here, before the next job measures beside it.
        left = strays.stop_job(mark)
    if left:
        print(f"fwbench: {job.job_id}: stopped {len(left)} process(es) it left running", file=sys.stderr)
    body["status"] = status
    body["duration_s"] = time.monotonic() - started
    return body


def skipped_like(first: dict, job: Job) -> dict:
    """A later process of a cell whose earlier process, in this run, found its device or server missing: not run.

    What is missing does not come back between two processes of one run, so starting a
    kernel and importing a framework again would only find the same absence (seconds per
    process); the result says which process found it, and why.
    """
    error = dict(first["error"])
    error["message"] = f"not run: process {first['process']} of this cell found, in this run: {error['message']}"
    return {**_failure_doc(job, error), "status": "skipped", "duration_s": 0.0}


class LocalExecutor:
    """Today's runner: the jobs run here, one after the other, each in a fresh kernel, under the machine's lock."""

    name = "local"

    def __init__(self, options: RunOptions = RunOptions()):
        self.options = options

    def session(self):
        return machine_lock(_machine_lock_path())

    def targets(self, profile: Profile) -> list[Target]:
        fp = fingerprint.collect()
        if profile.machine_label and fp.get("machine_label_source") != "env":  # the environment wins
            fp["machine_label"], fp["machine_label_source"] = profile.machine_label, "profile"
        return [Target(fp, profile.jobs, load=threads.machine_load)]

    def lane(self, target: Target, run_id: str, keep) -> "LocalLane":
        return LocalLane(self.options, run_id, keep)

    def each(self, targets, work) -> list:
        return one_by_one(targets, work)


class LocalLane:
    """One job at a time on this machine: `submit` runs it to the end (Lane, fwbench.run.executor)."""

    def __init__(self, options: RunOptions, run_id: str, keep):
        os.environ.update(jupyter_env(options.scratch / "jupyter"))
        self.work_root = work_root_of(options.scratch, run_id)
        self.temps = CellTemps([], keep=keep)
        self.finished: list[tuple[str, Outcome]] = []

    def capacity(self) -> int:
        return 1

    def schedule(self, batch) -> None:
        self.temps.schedule(batch)

    def submit(self, index: int, job: Job) -> str:
        work = self.work_root / job.job_id
        work.mkdir(parents=True, exist_ok=True)
        nb_tmp = work / "executed.ipynb"
        started = _now()
        # Shared by the cell's processes: the first compiles into it, later ones find it warm.
        with self.temps.env(index, job):
            body = execute_job(job, work, nb_tmp, self.work_root / "cache" / job.cell_id)
        self.finished.append(
            (
                job.job_id,
                Outcome(
                    body,
                    started,
                    _now(),
                    notebook=read_text(nb_tmp),
                    log=read_text(work / "kernel.log"),
                    artifacts_dir=work / "artifacts" if (work / "artifacts").is_dir() else None,
                ),
            )
        )
        return job.job_id

    def wait(self) -> tuple[str, Outcome]:
        return self.finished.pop(0)

    def done(self, index: int, job: Job) -> None:
        self.temps.done(index, job)
        shutil.rmtree(self.work_root / job.job_id, ignore_errors=True)

    def close(self) -> None:
        self.temps.close()
        shutil.rmtree(self.work_root, ignore_errors=True)


def read_text(path: Path) -> str | None:
    """A file a kernel wrote, as text (bytes that are not UTF-8 kept as surrogates), or None if it was not written."""
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        return None


@dataclass
class _Shared:
    """What every target of one run_profile call reads: the profile, the store as loaded, and how to scrub."""

    profile: Profile
    store: Store
    options: RunOptions
    executor: object
    scrub: object
    runs: list
    imported: dict
    done: dict


@contextlib.contextmanager
def _terminate_unwinds():
    """SIGTERM (`kill`, a CI job cancelled, a stopped service) ends the run as Ctrl-C does, through every `finally`:
    the job in flight stops what it started (fwbench.run.strays) and the lane removes its scratch. Python's default
    would end this process at once and leave that to the next run. Exit status 143, as a shell reports SIGTERM."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum, frame):
        raise SystemExit(128 + signum)

    saved = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, saved)


def run_profile(profile: Profile, store: Store, options: RunOptions = RunOptions(), executor=None) -> Summary:
    """Execute `profile` into `store`; skip jobs whose inputs match a stored successful result.

    `executor` says where jobs run (fwbench.run.executor): this machine by default, or the nodes of a Ray cluster
    (fwbench.run.ray_executor). Everything else, keys, reuse, rounds and the store's writes, is the same code."""
    executor = executor or LocalExecutor(options)
    with _terminate_unwinds(), executor.session(), store.lock():
        clean_leftovers(options.scratch)
        # Everything written into the store passes through `scrub` (fwbench.privacy): stores travel in bundles and
        # books. Keys and measurements use the real values; only the stored copies are scrubbed.
        scrub = privacy.scrubber(store=store.root, scratch=options.scratch)
        targets = executor.targets(profile)
        runs, problems = store.load(strict=False)
        for problem in problems:
            print(f"fwbench: warning: skipping unreadable run: {problem}", file=sys.stderr)
        _close_abandoned(runs, store, scrub)
        imported = imported_runs(store)
        shared = _Shared(profile, store, options, executor, scrub, runs, imported, reusable_results(runs, imported))
        summaries = executor.each(targets, lambda target: _run_target(target, shared))
    return Summary.merged(summaries)


def _run_target(target: Target, shared: _Shared) -> Summary:
    """One machine's share of the profile: reuse what is stored for it, run the rest as one run of the store."""
    profile, store, options, scrub, done = shared.profile, shared.store, shared.options, shared.scrub, shared.done
    fp = target.fingerprint
    summary = Summary(machines=[fp["machine_id"]])
    inputs = Inputs.of(target.jobs, fp, cpus=target.cpus)
    keys = inputs.keys
    code = {name: digest(files) for name, files in inputs.code.items()}

    todo = [j for j in target.jobs if options.force or keys[j.job_id] not in done]
    summary.reused = len(target.jobs) - len(todo)
    newest = newest_results(shared.runs, shared.imported, fp["machine_id"])
    replacements = Replacements(target.jobs, inputs.key_of, newest)
    extensions = Extensions(target.jobs, inputs.key_of, dict(newest), seed=profile.seed, budget_min=profile.budget_min)
    # (A run killed between a cell's processes and its replacements or sequential rounds goes on from there.)
    if not todo and not replacements.round() and not extensions.round():
        return summary

    # What this is expected to take, before the first job: a run that will overrun its budget says so now.
    rows = estimate.expected(
        target.jobs, {j.job_id for j in todo}, newest.values(), imported_jobs(shared.runs, shared.imported)
    )
    for line in estimate.table(rows, f" (class {target.hardware_class})" if target.hardware_class else ""):
        print(line)
    warning = estimate.over_budget(rows, profile.budget_min)
    if warning:
        print(warning, file=sys.stderr)

    # Say at once if the machine is already busy (pyperf warns of an untuned system likewise); the manifest
    # keeps what was seen, so a reader can tell a quiet run from one made beside other work.
    load = (target.load or threads.machine_load)()
    cpus = fp["hardware"].get("logical_cpus") or 1
    warning = threads.busy_line(load, cpus)
    if warning:
        print(warning + (f" (class {target.hardware_class})" if target.hardware_class else ""), file=sys.stderr)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    # Two classes may be one kind of machine (a test cluster on one host): the class keeps their runs apart.
    run_id = f"{stamp}-{fp['machine_id']}" + (f"-{target.hardware_class}" if target.hardware_class else "")
    summary.run_id = run_id
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "kind": "run",
        "run_id": run_id,
        "machine_id": fp["machine_id"],
        "machine_label": fp["machine_label"],
        "fingerprint": fp,
        "profile": {
            "name": profile.name,
            "description": profile.description,
            "source": profile.source,
            "seed": profile.seed,
        },
        "status": "running",
        "started": _now(),
        "finished": None,
        "code_hash": code,
        "load_at_start": load,
        "inputs": inputs.manifest_entry(),  # what `plan` compares with to say why a job runs again
        # In execution order: each process round in its seeded random order, then any replacement processes.
        "jobs": [j.job_id for j in todo],
        "reused": {j.job_id: done[keys[j.job_id]] for j in target.jobs if j not in todo},
        "counts": {},
        **({"executor": target.record} if target.record else {}),
    }
    store.write_manifest(scrub(manifest))
    lane = shared.executor.lane(
        target, run_id, keep=lambda cell_id: replacements.next_for(cell_id) is not None or extensions.may_grow(cell_id)
    )
    status = "interrupted"
    try:
        _run_jobs(todo, (replacements, extensions), run_id, store, lane, target, options, summary, manifest, scrub)
        status = "complete"
    finally:
        manifest.update(
            status=status,
            finished=_now(),
            counts={
                "executed": summary.executed,
                "reused": summary.reused,
                "failed": summary.failed,
                "skipped": summary.skipped,
            },
        )
        store.write_manifest(scrub(manifest))
        lane.close()
    return summary


def reusable_results(runs, imported: dict) -> dict[str, str]:
    """job_key -> run_id of every stored result a new run may reuse instead of measuring again."""
    done = {}
    for run in runs:
        if run.run_id in imported:  # measured elsewhere: this machine's report measures this machine
            continue
        for stored in run.jobs:
            # A job skipped for want of a device or server is reused too: its key covers the hardware
            # and the programs it looked for, so installing them is what makes it run again.
            if stored["status"] in ("ok", "skipped"):
                done[stored["job_key"]] = run.run_id
    return done


def _close_abandoned(runs, store: Store, scrub) -> None:
    """A run still marked running while we hold the store's lock was killed: mark it interrupted.

    Its finished jobs stay valid and are reused; the job it was in the middle of
    left no result file (results are written atomically), so it simply runs again.
    """
    for run in runs:
        if run.manifest["status"] == "running":
            run.manifest.update(
                status="interrupted",
                finished=None,
                counts={"executed": len(run.jobs)},
                note="runner was killed; closed by the next run",
            )
            store.write_manifest(scrub(run.manifest))


def imported_jobs(runs, imported: dict) -> list[tuple[str, dict]]:
    """(run id, job) of every run that arrived in a bundle: other machines' times of the same jobs (estimates only;
    never reused as this machine's results)."""
    return [(run.run_id, job) for run in runs if run.run_id in imported for job in run.jobs]


def newest_results(runs, imported: dict, machine_id: str) -> dict[str, tuple[str, dict]]:
    """job id -> (run id, stored job) of the newest result of every job measured on this machine into this store."""
    return {
        job["job_id"]: (run.run_id, job)
        for run in sorted(runs, key=lambda r: r.run_id)
        if run.run_id not in imported and run.manifest["machine_id"] == machine_id
        for job in run.jobs
    }


def _run_jobs(todo, added, run_id, store, lane, target, options, summary, manifest, scrub) -> None:
    """The planned jobs, then rounds of added processes until no cell needs one: replacements of unstable processes
    (fwbench.run.replace) and, for sequential blocks, one more process per cell still undecided
    (fwbench.run.sequential)."""
    replacements, extensions = added
    unavailable: dict[str, dict] = {}  # cell_id -> the skipped job's body, for the cell's later processes
    batch = list(todo)
    lane.schedule(batch)
    while True:
        if not batch:
            batch = _replacement_round(replacements, target)
            summary.replacements += len(batch)
            grown = extensions.round()
            summary.extended += len(grown)
            batch += grown
            if extensions.stopped and "sequential_stop" not in manifest:
                manifest["sequential_stop"] = extensions.stopped
                print(
                    f"fwbench: this profile's budget of {extensions.stopped['budget_min']:g} min is spent: "
                    f"{extensions.stopped['open_cells']} cell(s) still undecided get no more processes "
                    "(each chapter's table of processes says which)",
                    file=sys.stderr,
                )
            if not batch:
                break
            manifest["jobs"] = manifest["jobs"] + [j.job_id for j in batch]
            store.write_manifest(scrub(manifest))
            lane.schedule(batch)
        _run_each(batch, added, run_id, store, lane, target, options, summary, unavailable, scrub)
        batch = []


def _replacement_round(replacements, target: Target) -> list:
    batch = replacements.round()
    busy = [job for job in batch if replacements.after_busy(job)]
    cpus = target.fingerprint["hardware"].get("logical_cpus") or 1
    warning = threads.busy_line((target.load or threads.machine_load)(), cpus) if busy else ""
    if warning:
        # These replace series measured on a busy machine; started while other programs still hold the
        # CPUs they would be measured on a busy machine too. The next run starts them instead.
        print(
            f"fwbench: not starting {len(busy)} replacement process(es) for series measured on a busy "
            f"machine now: " + warning.removeprefix("fwbench: warning: "),
            file=sys.stderr,
        )
        batch = [job for job in batch if job not in busy]
        for job in busy:
            replacements.added.pop(job.job_id, None)
    return batch


def _run_each(batch, added, run_id, store, lane, target, options, summary, unavailable, scrub) -> None:
    """The batch's jobs, as many at once as the lane runs (one on this machine), each filed as it finishes."""
    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(batch),
        desc=target.hardware_class or "fwbench",
        unit="job",
        disable=not options.progress,
        file=sys.stderr,
    )
    queue = list(enumerate(batch))
    running: dict = {}
    while queue or running:
        while queue and len(running) < max(lane.capacity(), 1):
            index, job = queue.pop(0)
            if job.cell_id in unavailable:
                now = _now()
                _file(
                    index,
                    job,
                    Outcome(skipped_like(unavailable[job.cell_id], job), now, now),
                    added,
                    run_id,
                    store,
                    lane,
                    summary,
                    scrub,
                )
                bar.update(1)
                continue
            bar.set_postfix_str(f"{job.framework} {job.variant}")
            running[lane.submit(index, job)] = (index, job)
        if not running:
            continue
        handle, outcome = lane.wait()
        index, job = running.pop(handle)
        if outcome.body["status"] == "skipped":
            unavailable[job.cell_id] = {**outcome.body, "process": job.process}
        _file(index, job, outcome, added, run_id, store, lane, summary, scrub)
        bar.update(1)
    bar.close()


def _file(index, job, outcome: Outcome, added, run_id, store, lane, summary, scrub) -> None:
    """One job's outcome into the store: validated, scrubbed, each file written atomically."""
    replacements, extensions = added
    body = outcome.body
    doc = {
        **body,
        "schema_version": SCHEMA_VERSION,
        "kind": "job",
        "run_id": run_id,
        "job_id": job.job_id,
        "job_key": replacements.key_of(job),
        "process": job.process,
        "mode": body.get("mode", job.mode),
        "cell_id": job.cell_id,
        "experiment": job.experiment,
        "framework": job.framework,
        "device": job.device,
        "workload": job.workload,
        "variant": job.variant,
        "params": job.params,
        "started": outcome.started,
        "finished": outcome.finished,
    }
    if outcome.executor:  # which node ran it, and what the executor's own settings were that fwbench undid
        doc["executor"] = outcome.executor
    if job.job_id in replacements.added:  # which processes it was added for, and the series they lacked
        doc["replacement"] = replacements.added[job.job_id]
    if job.job_id in extensions.added:  # which processes it was added to, at which look, and what was open
        doc[SEQUENTIAL] = extensions.added[job.job_id]
    if job.max_processes:  # the cell's sequential design, so the book can say how far each cell went and why
        doc["design"] = {"start": extensions.design(job.cell_id).start, "cap": job.max_processes}
    try:
        validate_job(doc)
    except StoreError as exc:  # the notebook wrote something malformed: keep it as a failure
        doc.update(
            status="failed",
            records=[],
            samples={},
            checks=[],
            error={"type": "StoreError", "message": str(exc), "traceback": ""},
        )
    run_dir = store.run_dir(run_id)
    if outcome.notebook is not None:  # papermill's metadata names the paths it ran with; outputs hold tracebacks
        _store_notebook(outcome.notebook, run_dir / "notebooks" / f"{job.job_id}.ipynb", scrub)
    if outcome.artifacts_dir is not None:  # exported models: kept with the run, never in git nor in bundles
        shutil.copytree(outcome.artifacts_dir, run_dir / "artifacts" / job.job_id, dirs_exist_ok=True)
    for rel, data in outcome.artifacts.items():
        parts = Path(rel).parts
        if parts and not Path(rel).is_absolute() and ".." not in parts:
            _store_bytes(data, run_dir / "artifacts" / job.job_id / rel)
    if outcome.log is not None:
        _store_text(outcome.log, run_dir / "logs" / f"{job.job_id}.log", scrub)
    stored = scrub(doc)
    store.write_job(stored)
    replacements.store(run_id, doc)
    extensions.store(run_id, doc)
    lane.done(index, job)
    summary.executed += 1
    if doc["status"] == "failed":  # said as stored: the nightly's summary.json is published with the bundle
        summary.failed += 1
        summary.failures.append(f"{job.job_id}: {stored['error']['type']}: {stored['error']['message'][:200]}")
    elif doc["status"] == "skipped":
        summary.skipped += 1


def _store_notebook(text: str, dest: Path, scrub) -> None:
    """An executed notebook into the store, scrubbed (metadata, sources and outputs alike)."""
    try:
        write_json_atomic(dest, scrub(json.loads(text)))
    except ValueError:  # not JSON (half-written by a dying kernel), or NaN in it: kept as text, scrubbed all the same
        _store_text(text, dest, scrub)


def _store_text(text: str, dest: Path, scrub) -> None:
    """A text (a kernel log) into the store, scrubbed; bytes that were not UTF-8 pass through unchanged."""
    _store_bytes(scrub(text).encode("utf-8", "surrogateescape"), dest)


def _store_bytes(payload: bytes, dest: Path) -> None:
    """Bytes into the store through the one atomic writer (fwbench.files; a file jobs' keys cover, so unchanged)."""
    with tempfile.NamedTemporaryFile(prefix="fwbench-store-", delete=False) as fh:
        fh.write(payload)
    try:
        copy_atomic(Path(fh.name), dest)
    finally:
        os.unlink(fh.name)
