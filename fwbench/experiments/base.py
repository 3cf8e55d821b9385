"""What an experiment declares about itself: its name, title, parameters, axes and files, read by every layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from fwbench import frameworks

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Experiment:
    """One experiment, declared as `EXPERIMENT` in `experiment.py` in its folder under fwbench/experiments/.

    The folder holds everything the experiment owns: `measure.py` (what a job runs),
    `notebook.ipynb` (what papermill executes), `chapter.md` (its book page) and,
    as it needs them, `hooks/<framework>.py`, `metrics.py`, `tables.py`, `plots.py`
    and `claims.py`. Only `measure.py`, the hooks and what they import key its jobs.
    """

    name: str = field(metadata={"help": "name used in profiles, records and job ids (the folder's name)"})
    title: str = field(metadata={"help": "human title for the book"})
    params: type = field(metadata={"help": "dataclass of the parameters a profile may set"})
    order: int = field(default=100, metadata={"help": "position among the book's experiment chapters (lower first)"})
    summary: str = field(default="", metadata={
        "help": "what the chapter does, one clause for the introduction's list of chapters (MyST)"})
    evidence: str = field(default="", metadata={
        "help": "the chapter's figures and tables a claim's evidence points to, e.g. \"figures {ref}`fig-x`\" (MyST)"})
    variants_of: Callable[[str], dict[str, str]] = field(default=frameworks.variants, metadata={
        "help": "a framework's variants for this experiment, name -> mode(s), read without importing it"})
    workloads: tuple[str, ...] | None = field(default=None, metadata={
        "help": "the workload axis: None = the workloads of fwbench.workloads; else these fixed names"})
    default_processes: int = field(default=2, metadata={"help": "processes per cell when the profile does not say"})
    default_replacements: int = field(default=0, metadata={
        "help": "fresh processes a cell may add when a series of it was stored as unstable, when the profile does not "
                "say (its samples must carry 'stable'; see fwbench.run.replace)"})
    interleaved: bool = field(default=False, metadata={
        "help": "one job measures all of a framework's variants of a cell in one process, interleaved"})
    tools: tuple[str, ...] = field(default=(), metadata={
        "help": "programs outside Python it uses (fwbench.measure.fingerprint.TOOLS); their versions key its stored results"})
    timing_samples: bool = field(default=False, metadata={
        "help": "its jobs store raw timing samples per process, which the what-changed page tests for moves"})
    axes: dict[str, str] = field(default_factory=dict, metadata={
        "help": "what the tidy columns workload, variant and mode hold in this experiment's rows, in words "
                "(the method page's table of columns per experiment)"})
    payloads: dict[str, Callable] = field(default_factory=dict, metadata={
        "help": "keys of a stored job that hold this experiment's own results -> the function that checks them "
                "(items, path, check_name); the store runs it on every job that carries the key"})
    identity: Callable[[dict], dict] | None = field(default=None, metadata={
        "help": "the parameters that change what is measured (None: all); their digest keys a cell"})

    @property
    def folder(self) -> Path:
        return HERE / self.name

    @property
    def package(self) -> str:
        return f"fwbench.experiments.{self.name}"

    @property
    def measure_module(self) -> str:
        """The module a job runs (with what it imports): the root of its job key."""
        return f"{self.package}.measure"

    @property
    def notebook_path(self) -> Path:
        return self.folder / "notebook.ipynb"

    @property
    def chapter_path(self) -> Path:
        return self.folder / "chapter.md"
