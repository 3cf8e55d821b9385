"""Registry of experiments: the notebook each runs, the parameters a profile may set, the axes it spans."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fwbench.experiments import eager_vs_graph

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent.parent / "experiments"


@dataclass(frozen=True)
class Experiment:
    name: str = field(metadata={"help": "name used in profiles, records and job ids"})
    title: str = field(metadata={"help": "human title for the book"})
    notebook: str = field(metadata={"help": "parameterized notebook under experiments/"})
    params: type = field(metadata={"help": "dataclass of the parameters a profile may set"})

    @property
    def notebook_path(self) -> Path:
        return NOTEBOOK_DIR / self.notebook


EXPERIMENTS = {
    "eager_vs_graph": Experiment(name="eager_vs_graph", title="Eager vs graph timing",
                                 notebook="eager_vs_graph.ipynb", params=eager_vs_graph.Params),
}
