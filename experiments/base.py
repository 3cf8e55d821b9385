"""What an experiment declares about itself: its name, title, parameters, axes and files, read by every layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from fwbench import frameworks

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Bound:
    """The range a profile may give one kind of number, and why its upper end is where it is."""

    low: float = field(metadata={"help": "smallest value allowed"})
    high: float = field(metadata={"help": "largest value allowed"})
    why: str = field(metadata={"help": "why not more, said in the one-line refusal"})


#: The kinds of number a profile may set. A `Params` field names its kind in `metadata["bounds"]` (a number or list
#: of numbers without one is a "count"); fwbench.matrix.profile refuses a value outside it, each item of a list
#: included, before anything is built from it. Each upper end sits where a value stops being a plan and becomes a
#: typo or a machine-wrecker, well past what a committed profile uses (tests/matrix/test_bounds.py keeps them at
#: half or less); a field that needs a tighter range checks it in its `__post_init__`.
BOUNDS = {
    "count": Bound(0, 10**6, "a number of things a job makes or does: nothing it sizes may exhaust memory"),
    "batch": Bound(
        1,
        4096,
        "a batch is allocated whole: 4096 of resnet18's 64x64 images are 200 MB of input alone, "
        "before activations; the profiles use at most 256",
    ),
    "steps": Bound(
        0,
        10**6,
        "each is at least one call of the model, and each timed one is kept as a sample; the profiles ask at most 500",
    ),
    "processes": Bound(
        0,
        100,
        "each is a fresh interpreter that imports its framework; intervals over processes "
        "need a handful (the profiles use at most 4)",
    ),
    "seconds": Bound(
        0, 3600, "a budget or load level past an hour is a typo (ms for s); the profiles use at most 30 s"
    ),
    "timeout": Bound(
        0, 86400, "past a day, waiting longer for a hang finds nothing more; the profiles use at most 1800 s"
    ),
    "milliseconds": Bound(0, 10_000, "a wait inside one request: past 10 s the request would time out first"),
    "matrix_n": Bound(1, 32768, "an n x n float32 matmul's three matrices take 12 GB at n = 32768"),
    "cpus": Bound(
        0,
        4096,
        "more CPUs than any machine this runs on has (the largest VMs have under 2000); the smoke "
        "profile's busy_cpus 1000 already means never busy",
    ),
    "clients": Bound(
        1,
        1000,
        "each client holds a connection (a file descriptor) open to the server, and a process "
        "may usually open 1024; the profiles use at most 64",
    ),
    "requests": Bound(1, 10**6, "each recorded request's latency is kept in memory and sorted; the default is 20000"),
    "tolerance": Bound(0, 1, "an error allowed past 1 lets a float32 check pass nearly anything"),
    "fraction": Bound(0, 2, "a rate offered past twice the best measured one only fills the server's queue"),
    "seed": Bound(0, 2**32 - 1, "a seed names an order: 32 bits give four billion, and JSON readers keep them exact"),
}

#: Items a list parameter may hold: each is a level, batch size, case or workload measured in turn; the longest
#: default is 11 (every planted bug).
MAX_ITEMS = 64


@dataclass(frozen=True)
class Experiment:
    """One experiment, declared as `EXPERIMENT` in `experiment.py` in its folder under experiments/.

    The folder holds everything the experiment owns: `measure.py` (what a job runs),
    `notebook.ipynb` (what papermill executes), `chapter.md` (its book page) and,
    as it needs them, `hooks/<framework>.py`, `metrics.py`, `tables.py`, `plots.py`
    and `claims.py`. Only `measure.py`, the hooks and what they import key its jobs.
    """

    name: str = field(metadata={"help": "name used in profiles, records and job ids (the folder's name)"})
    title: str = field(metadata={"help": "human title for the book"})
    params: type = field(
        metadata={
            "help": "dataclass of the parameters a profile may set; a numeric field names its kind of bound (BOUNDS) in "
            "metadata['bounds']"
        }
    )
    order: int = field(default=100, metadata={"help": "position among the book's experiment chapters (lower first)"})
    summary: str = field(
        default="",
        metadata={"help": "what the chapter does, one clause for the introduction's list of chapters (MyST)"},
    )
    evidence: str = field(
        default="",
        metadata={
            "help": "the chapter's figures and tables a claim's evidence points to, e.g. \"figures {ref}`fig-x`\" (MyST)"
        },
    )
    variants_of: Callable[[str], dict[str, str]] = field(
        default=frameworks.variants,
        metadata={"help": "a framework's variants for this experiment, name -> mode(s), read without importing it"},
    )
    workloads: tuple[str, ...] | None = field(
        default=None,
        metadata={"help": "the workload axis: None = the workloads of fwbench.workloads; else these fixed names"},
    )
    default_processes: int = field(default=2, metadata={"help": "processes per cell when the profile does not say"})
    default_job_s: float = field(
        default=30.0,
        metadata={
            "help": "seconds one job takes on a 2-core CPU machine, as measured there: what `plan` and `run` expect of a "
            "job on a machine whose store holds no time of this experiment yet"
        },
    )
    default_replacements: int = field(
        default=0,
        metadata={
            "help": "fresh processes a cell may add when a series of it was stored as unstable, when the profile does not "
            "say (its samples must carry 'stable'; see fwbench.run.replace)"
        },
    )
    interleaved: bool = field(
        default=False,
        metadata={"help": "one job measures all of a framework's variants of a cell in one process, interleaved"},
    )
    sequential: bool = field(
        default=False,
        metadata={
            "help": "a profile may give its cells `max_processes`: its sequential.py says which cells are still open "
            "after each round (fwbench.run.sequential)"
        },
    )
    tools: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "programs outside Python it uses (fwbench.measure.fingerprint.TOOLS); their versions key its stored results"
        },
    )
    timing_samples: bool = field(
        default=False,
        metadata={"help": "its jobs store raw timing samples per process, which the what-changed page tests for moves"},
    )
    axes: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "help": "what the tidy columns workload, variant and mode hold in this experiment's rows, in words "
            "(the method page's table of columns per experiment)"
        },
    )
    payloads: dict[str, Callable] = field(
        default_factory=dict,
        metadata={
            "help": "keys of a stored job that hold this experiment's own results -> the function that checks them "
            "(items, path, check_name); the store runs it on every job that carries the key"
        },
    )
    identity: Callable[[dict], dict] | None = field(
        default=None,
        metadata={"help": "the parameters that change what is measured (None: all); their digest keys a cell"},
    )

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
