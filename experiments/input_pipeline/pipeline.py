"""What one measured pipeline is (a loader's settings, sent to its child as JSON), and what every loader is asked
to do with it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fwbench.experiments.input_pipeline.dataset import DataSpec, files_of


@dataclass(frozen=True)
class Pipeline:
    """One pipeline: read `fmt`, decode, random crop and flip, normalise, shuffle, batch, for `epochs` epochs."""

    spec: DataSpec = field(metadata={"help": "the dataset"})
    fmt: str = field(metadata={"help": "the format read (dataset.FORMATS)"})
    data_root: str = field(metadata={"help": "the folder holding the dataset's folders"})
    batch: int = field(metadata={"help": "samples per batch; the last batch of an epoch is partial (none dropped)"})
    crop: int = field(metadata={"help": "side of the square random crop"})
    epochs: int = field(metadata={"help": "epochs through the data in one stream"})
    workers: int = field(
        metadata={
            "help": "worker processes (DataLoader, grain) or map threads (tf.data); 0: the "
            "consuming thread does the work"
        }
    )
    prefetch: int = field(
        metadata={"help": "batches buffered per worker (tf.data: prefetch * workers in all); none at 0 workers"}
    )
    seed: int = field(metadata={"help": "seed of the shuffle and the augmentation"})
    augment: bool = field(
        default=True, metadata={"help": "random crop and flip; False: the centre crop, unflipped (the check pass)"}
    )

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.spec.samples / self.batch)

    def files(self) -> list[Path]:
        return files_of(self.spec, self.fmt, Path(self.data_root))

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Pipeline":
        return cls(**{**data, "spec": DataSpec(**data["spec"])})
