"""torch.utils.data.DataLoader: map-style Datasets over the .npy shards (memory-mapped) and over one file per
sample, the shared NumPy work per item, worker processes and prefetch fixed by the experiment."""

from __future__ import annotations

import bisect

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from fwbench.experiments.input_pipeline import work
from fwbench.experiments.input_pipeline.pipeline import Pipeline

LOADER = "DataLoader"


def version() -> str:
    return torch.__version__


class _Items(Dataset):
    """One sample per index: read, decode, crop and flip (torch's per-worker RNG), normalise."""

    def __init__(self, p: Pipeline):
        self.p = p
        self.paths = [str(f) for f in p.files()]
        self._maps = None  # opened in the process that reads (a worker), not pickled into it

    def __len__(self) -> int:
        return self.p.spec.samples

    def _read(self, index: int) -> tuple[np.ndarray, int]:
        s = self.p.spec
        if self.p.fmt == "files":
            path = self.paths[index]
            return np.load(path, allow_pickle=False), int(path.rsplit("/", 2)[-2])
        if self._maps is None:
            self._maps = [np.load(f, mmap_mode="r", allow_pickle=False) for f in self.paths]
            self._starts = np.cumsum([0] + [len(m) for m in self._maps]).tolist()
        shard = bisect.bisect_right(self._starts, index) - 1
        return work.decode(np.array(self._maps[shard][index - self._starts[shard]]), s.height, s.width)

    def __getitem__(self, index: int):
        image, label = self._read(index)
        c = self.p.crop
        if self.p.augment:
            top, left = torch.randint(0, image.shape[0] - c + 1, (2,)).tolist()
            flip = bool(torch.randint(0, 2, ()).item())
        else:
            (top, left), flip = work.center(image, c), False
        return torch.from_numpy(work.normalise(work.crop_flip(image, c, top, left, flip))), label


def settings(p: Pipeline) -> dict:
    return {
        "num_workers": p.workers,
        "prefetch_factor": p.prefetch if p.workers else None,
        "persistent_workers": p.workers > 0,
        "multiprocessing_context": "fork (Linux default)",
        "shuffle": "RandomSampler, seeded",
        "drop_last": False,
        "pin_memory": False,
    }


def stream(p: Pipeline):
    """Batches of `p.epochs` epochs; workers persist across them (else each epoch would start them again)."""
    if p.fmt not in ("npy-shards", "files"):
        raise ValueError(f"the DataLoader reads npy-shards and files, not {p.fmt!r}")
    torch.manual_seed(p.seed)
    loader = DataLoader(
        _Items(p),
        batch_size=p.batch,
        shuffle=True,
        num_workers=p.workers,
        prefetch_factor=p.prefetch if p.workers else None,
        persistent_workers=p.workers > 0,
        generator=torch.Generator().manual_seed(p.seed),
        drop_last=False,
    )
    for _ in range(p.epochs):
        yield from loader


def labels(batch) -> np.ndarray:
    return batch[1].numpy()


def images(batch) -> np.ndarray:
    return batch[0].numpy()
