"""What runs on a Ray node, in a worker process of its own: the node's description (fingerprint, code, load) and one
job through the local runner's papermill path, handed back as data (result, executed notebook, log, artifacts)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from fwbench import privacy
from fwbench.errors import StoreError
from fwbench.experiments import EXPERIMENTS
from fwbench.matrix.profile import Job, visible_gpu
from fwbench.measure import fingerprint, threads
from fwbench.measure.child import error_of
from fwbench.measure.env import available_cpus
from fwbench.run.jobkey import code_files
from fwbench.run.kernel import jupyter_env
from fwbench.run.runner import TEMP_VARS, _failure_doc, _machine_lock_path, _now, execute_job, machine_lock, read_text

#: Variables Ray sets in its workers: OMP_NUM_THREADS (to the task's CPUs, 1 for ours) and each accelerator's
#: visibility (to the task's GPUs). A job's threads and devices are fwbench's to set (fwbench.measure.env), from the
#: node as its owner left it, so each goes back to the value the node's raylet has, and the job records the change.
RAY_SETS = (
    "OMP_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "ONEAPI_DEVICE_SELECTOR",
    "NEURON_RT_VISIBLE_CORES",
    "TPU_VISIBLE_CHIPS",
    "HABANA_VISIBLE_MODULES",
)
#: A node's folders of one run (cells' temporary folders and compiler caches, jobs' work folders) start so; a short
#: name, since Unix socket paths made in a cell's temporary folder must stay under 108 bytes.
ROOT_PREFIX = "fwbr-"
#: Folders of runs whose driver was killed before it cleaned its nodes go once they are this old (no run lasts a day
#: per node without touching its folder).
STALE_S = 24 * 3600


def _short(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:10]


def node_root(run_id: str) -> Path:
    """This node's folder for run `run_id`."""
    return Path(tempfile.gettempdir()) / f"{ROOT_PREFIX}{_short(run_id)}"


def _environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode("utf-8", "surrogateescape")
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def undo_ray_settings() -> dict:
    """Put RAY_SETS back as the node's raylet (this worker's parent) has them; return what Ray had set (None where it
    had removed a variable) and whether it could be undone."""
    try:
        node = _environ_of(os.getppid())
    except OSError:  # no /proc: Ray's values stay, and the record says so
        return {"undone": False, "ray_set": {n: os.environ[n] for n in RAY_SETS if n in os.environ}}
    changed = {}
    for name in RAY_SETS:
        if os.environ.get(name) != node.get(name):
            changed[name] = os.environ.get(name)
            if node.get(name) is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = node[name]
    return {"undone": True, "ray_set": changed}


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()


def _clear_stale() -> None:
    """Remove this user's run folders that a killed driver left on this node (untouched for STALE_S)."""
    for path in Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*"):
        try:
            if (
                path.is_dir()
                and not path.is_symlink()
                and path.lstat().st_uid == os.getuid()
                and time.time() - path.stat().st_mtime > STALE_S
            ):
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def describe_node(experiments: list[str]) -> dict:
    """The node as its jobs will see it: fingerprint, the source its jobs of `experiments` would run, usable CPUs,
    whether `devices: [auto]` finds a GPU, and what other programs take from its CPUs now."""
    undone = undo_ray_settings()
    _clear_stale()
    return {
        "node_id": _node_id(),
        "fingerprint": fingerprint.collect(),
        "undone": undone,
        "code": {n: code_files(EXPERIMENTS[n].measure_module, EXPERIMENTS[n].notebook_path) for n in experiments},
        "notebooks": {n: hashlib.sha256(EXPERIMENTS[n].notebook_path.read_bytes()).hexdigest() for n in experiments},
        "cpus": len(available_cpus()),
        "gpu": visible_gpu(),
        "load": threads.machine_load(),
    }


def node_load() -> dict:
    """What other programs take from this node's CPUs now (fwbench.measure.threads.machine_load)."""
    undo_ray_settings()
    return threads.machine_load()


def run_job(job: Job, run_id: str, hardware_class: str) -> dict:
    """Execute one job here as the local runner does (execute_job: papermill, a fresh kernel) and return the
    fields of an fwbench.run.executor.Outcome, scrubbed of this node's private paths."""
    raylet = os.getppid()  # this node's raylet: a worker whose raylet dies is handed to another parent
    record = {"name": "ray", "node_id": _node_id(), "hardware_class": hardware_class, **undo_ray_settings()}
    root = node_root(run_id)
    started = _now()
    out: dict = {"notebook": None, "log": None, "artifacts": {}}
    try:
        # Ray's slot keeps its own tasks apart; this lock also keeps out a local runner started on the node.
        with machine_lock(_machine_lock_path()):
            started = _now()
            os.environ.update(jupyter_env(root / "jupyter"))
            # The cell's folders stay on the node for the run: a later process of the cell run here finds its caches.
            cell = root / "cells" / _short(job.cell_id)
            (cell / "tmp").mkdir(parents=True, exist_ok=True)
            os.environ.update({name: str(cell / "tmp") for name in TEMP_VARS})
            work = root / "jobs" / _short(job.job_id)
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            body = execute_job(job, work, work / "executed.ipynb", cell / "cache")
            out.update(
                notebook=read_text(work / "executed.ipynb"),
                log=read_text(work / "kernel.log"),
                artifacts={
                    p.relative_to(work / "artifacts").as_posix(): p.read_bytes()
                    for p in sorted((work / "artifacts").rglob("*"))
                    if p.is_file()
                },
            )
            shutil.rmtree(work, ignore_errors=True)
    except StoreError as exc:  # another fwbench runner measures on this node: a result, with its reason
        body = {**_failure_doc(job, error_of(exc)), "status": "failed", "duration_s": 0.0}
    if os.getppid() != raylet:
        # The node went down during the job (its kernel may have died with it, a failure that is not the job's):
        # no result, and the driver runs it again elsewhere as for a lost node (fwbench.run.ray_executor.RayLane).
        return {"lost": f"its node was lost mid-job (node {record['node_id'][:12]}: its raylet ended during the job)"}
    scrub = privacy.scrubber(scratch=root)
    return {
        "body": scrub(body),
        "started": started,
        "finished": _now(),
        "notebook": scrub(out["notebook"]),
        "log": scrub(out["log"]),
        "artifacts": out["artifacts"],
        "executor": scrub(record),
    }


def clean_run(run_id: str) -> None:
    """Remove this node's folders of run `run_id` (its cells' caches and temporary folders)."""
    shutil.rmtree(node_root(run_id), ignore_errors=True)
