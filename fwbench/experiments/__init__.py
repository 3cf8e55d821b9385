"""Registry of experiments: the notebook each runs, the parameters a profile may set, the axes it spans."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from fwbench import frameworks
from fwbench.experiments import debugging, eager_vs_graph, export, serving

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent.parent / "experiments"


@dataclass(frozen=True)
class Experiment:
    name: str = field(metadata={"help": "name used in profiles, records and job ids"})
    title: str = field(metadata={"help": "human title for the book"})
    notebook: str = field(metadata={"help": "parameterized notebook under experiments/"})
    params: type = field(metadata={"help": "dataclass of the parameters a profile may set"})
    variants_of: Callable[[str], dict[str, str]] = field(default=frameworks.variants, metadata={
        "help": "a framework's variants for this experiment, name -> mode(s), read without importing it"})
    workloads: tuple[str, ...] | None = field(default=None, metadata={
        "help": "the workload axis: None = the workloads of fwbench.workloads; else these fixed names"})
    default_processes: int = field(default=2, metadata={"help": "processes per cell when the profile does not say"})
    interleaved: bool = field(default=False, metadata={
        "help": "one job measures all of a framework's variants of a cell in one process, interleaved"})
    tools: tuple[str, ...] = field(default=(), metadata={
        "help": "programs outside Python it uses (fwbench.fingerprint.TOOLS); their versions key its stored results"})

    identity: Callable[[dict], dict] | None = field(default=None, metadata={
        "help": "the parameters that change what is measured (None: all); their digest keys a cell"})

    @property
    def notebook_path(self) -> Path:
        return NOTEBOOK_DIR / self.notebook


EXPERIMENTS = {
    "eager_vs_graph": Experiment(name="eager_vs_graph", title="Eager vs graph timing",
                                 notebook="eager_vs_graph.ipynb", params=eager_vs_graph.Params, interleaved=True,
                                 default_processes=4, identity=eager_vs_graph.identity),
    # One job per (framework, debugging tool); the job runs the whole bug catalogue, each
    # case in its own process, and its records name the bug in `workload`.
    "debugging": Experiment(name="debugging", title="Debugging ergonomics", notebook="debugging.ipynb",
                            params=debugging.Params, variants_of=frameworks.debug_tools, workloads=("bugs",),
                            default_processes=1),
    # One job per (framework, export path); the job exports every workload of its params, each
    # artifact loaded and timed in a fresh process; records name their workload. The job's
    # mode is the runtime that runs the artifact.
    "export": Experiment(name="export", title="Export and portability", notebook="export.ipynb",
                         params=export.Params, variants_of=frameworks.export_paths, workloads=("models",),
                         default_processes=1),
    # One job per (framework, serving variant = the runtime behind the server); the job serves
    # every workload of its params, each batching setting in a fresh server process.
    "serving": Experiment(name="serving", title="Serving under load", notebook="serving.ipynb",
                          params=serving.Params, variants_of=frameworks.serving, workloads=("models",),
                          default_processes=1, tools=("java", "tensorflow_model_server", "taskset")),
}


def params_digest(job: dict) -> str:
    """Digest of the parameters that changed what a stored job measured: cells that differ in it never pool."""
    experiment = EXPERIMENTS.get(job["experiment"])
    params = job.get("params", {})
    chosen = experiment.identity(params) if experiment and experiment.identity else params
    return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:8]
