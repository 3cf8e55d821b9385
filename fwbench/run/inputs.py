"""What a job's result depends on (its inputs) and the key made from them: the runner reuses a stored result with
the same key, and `plan` names the input that changed when the key differs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from fwbench import SCHEMA_VERSION
from fwbench.experiments import EXPERIMENTS
from fwbench.matrix.profile import Job
from fwbench.measure.env import resolve_threads
from fwbench.run.jobkey import code_files, digest


def _is_path(value: str) -> bool:
    return value.startswith(("/", "~", "<")) or value[1:3] == ":\\"


def environment_key(fp: dict, threads: int) -> dict:
    """What about the machine and software a stored result depends on.

    A variable whose value is a folder (a compiler cache, CUDA_HOME) counts by being set, not by where it points:
    the place changes no number (whether a cache was cold or warm is recorded with each job), and where a checkout,
    the temp folder or a home folder lies must not make a stored result look different."""
    env = {k: "<a path>" if isinstance(v, str) and _is_path(v) else v for k, v in fp["environment"].items()}
    return {
        "machine_id": fp["machine_id"],
        "python": fp["python"]["version"],
        "packages": fp["packages"],
        "environment": env,
        "threads": threads,
    }


def _threads(threads: int | str, cpus: int | None) -> int:
    """A profile's threads as a count on a machine with `cpus` usable CPUs (None: this process's, as a job resolves
    them: fwbench.measure.env.resolve_threads)."""
    if cpus is None:
        return resolve_threads(threads)
    return cpus if threads == "auto" else min(int(threads), cpus)


def job_key(job: Job, env_key: dict, code: str, tools: dict | None = None, notebook: str | None = None) -> str:
    """Hash of everything a job's result depends on; the external programs count only for experiments that use them."""
    experiment = EXPERIMENTS[job.experiment]
    notebook = notebook or hashlib.sha256(experiment.notebook_path.read_bytes()).hexdigest()
    used = {t: (tools or {}).get(t) for t in experiment.tools}
    payload = json.dumps(
        {
            "job": job.notebook_parameters(),
            "experiment": job.experiment,
            "notebook": notebook,
            "code": code,
            "env": env_key,
            "schema_version": SCHEMA_VERSION,
            **({"tools": used} if used else {}),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class Inputs:
    """The inputs of every job of a profile on this machine, computed once (nothing is imported or measured)."""

    fingerprint: dict = field(metadata={"help": "this machine's fingerprint (fwbench.measure.fingerprint)"})
    code: dict[str, dict[str, str]] = field(
        metadata={"help": "experiment -> source file -> sha256 of what its jobs run"}
    )
    notebooks: dict[str, str] = field(metadata={"help": "experiment -> sha256 of its notebook"})
    environments: dict[str, dict] = field(metadata={"help": "threads as the profile says them -> environment key"})
    keys: dict[str, str] = field(metadata={"help": "job id -> job key"})

    @classmethod
    def of(cls, jobs, fp: dict, cpus: int | None = None) -> "Inputs":
        """`cpus`: how many CPUs 'threads: auto' means on the machine of `fp` (default: this process's)."""
        names = sorted({job.experiment for job in jobs})
        code = {n: code_files(EXPERIMENTS[n].measure_module, EXPERIMENTS[n].notebook_path) for n in names}
        notebooks = {n: hashlib.sha256(EXPERIMENTS[n].notebook_path.read_bytes()).hexdigest() for n in names}
        envs = {str(t): environment_key(fp, _threads(t, cpus)) for t in {job.threads for job in jobs}}
        inputs = cls(fp, code, notebooks, envs, {})
        inputs.keys = {job.job_id: inputs.key_of(job) for job in jobs}
        return inputs

    def key_of(self, job: Job) -> str:
        """The key of any job of these experiments and threads (a replacement process is not in the profile)."""
        return job_key(
            job,
            self.environments[str(job.threads)],
            digest(self.code[job.experiment]),
            self.fingerprint.get("tools"),
            self.notebooks[job.experiment],
        )

    def manifest_entry(self) -> dict:
        """What a run stores so that a later `plan` can say which input changed."""
        return {"code": self.code, "notebooks": self.notebooks, "environments": self.environments}
