"""grain (the JAX ecosystem's loader): MapDataset over the .npy shards or ArrayRecord, the shared NumPy work per
element, multiprocessing workers and per-worker buffers fixed by the experiment, grain's read threads off."""

from __future__ import annotations

import bisect

import grain
import numpy as np
from absl import flags

from fwbench.experiments.input_pipeline import work
from fwbench.experiments.input_pipeline.pipeline import Pipeline

LOADER = "grain"

# grain's multiprocessing reads absl flags, which only an absl app parses; outside one, their defaults stand.
if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()


def version() -> str:
    return getattr(grain, "__version__", "")


class NpyShards:
    """grain's random-access source protocol over the .npy shards: memory-mapped, opened where it is read."""

    def __init__(self, paths: list[str]):
        self.paths = paths
        self._maps = None
        self._len = sum(int(np.load(f, mmap_mode="r", allow_pickle=False).shape[0]) for f in paths)

    def __len__(self) -> int:
        return self._len

    def __getstate__(self):
        return {**self.__dict__, "_maps": None}

    def __getitem__(self, index: int) -> np.ndarray:
        if self._maps is None:
            self._maps = [np.load(f, mmap_mode="r", allow_pickle=False) for f in self.paths]
            self._starts = np.cumsum([0] + [len(m) for m in self._maps]).tolist()
        shard = bisect.bisect_right(self._starts, index) - 1
        return np.array(self._maps[shard][index - self._starts[shard]])


def settings(p: Pipeline) -> dict:
    return {
        "mp_prefetch_num_workers": p.workers,
        "per_worker_buffer_size": p.prefetch if p.workers else None,
        "read_options": {"num_threads": 0, "prefetch_buffer_size": 0},
        "shuffle": "MapDataset.shuffle, seeded",
        "drop_remainder": False,
    }


def stream(p: Pipeline):
    paths = [str(f) for f in p.files()]
    if p.fmt == "npy-shards":
        source = NpyShards(paths)
    elif p.fmt == "arrayrecord":
        source = grain.sources.ArrayRecordDataSource(paths)
    else:
        raise ValueError(f"grain reads npy-shards and arrayrecord, not {p.fmt!r}")
    h, w, c, augment = p.spec.height, p.spec.width, p.crop, p.augment

    def transform(record, rng: np.random.Generator):
        image, label = work.decode(record, h, w)
        return work.augment(image, c, rng if augment else None), label

    ds = grain.MapDataset.source(source).shuffle(seed=p.seed).random_map(transform, seed=p.seed)
    ds = ds.batch(p.batch).repeat(p.epochs)
    # grain reads ahead with 16 threads by default: off, so that its parallelism is the workers', as elsewhere.
    it = ds.to_iter_dataset(grain.ReadOptions(num_threads=0, prefetch_buffer_size=0))
    if p.workers:
        it = it.mp_prefetch(grain.MultiprocessingOptions(num_workers=p.workers, per_worker_buffer_size=p.prefetch))
    return iter(it)


def labels(batch) -> np.ndarray:
    return np.asarray(batch[1])


def images(batch) -> np.ndarray:
    return np.asarray(batch[0])
