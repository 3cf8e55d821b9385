"""The synthetic image dataset: generated from a seed, written once as common .npy shards, then in each format.

Every format holds the same samples. A sample's *record* is 1 + H*W*3 bytes: byte 0 its label, then its
pixels (uint8, HWC). The common format (`npy-shards`) is raw NumPy: each shard a uint8 `.npy` array of shape
(n, 1 + H*W*3), one record per row, which every loader reads. Each loader also reads its own idiomatic format:
`tfrecord` (tf.train.Example with the pixels as raw bytes and an int64 label), `arrayrecord` (the record
bytes, one ArrayRecord entry per sample) and `files` (one `.npy` file of the HWC pixels per sample, in a folder
per label, as torchvision's ImageFolder lays them out). Nothing is compressed: decoding is parsing bytes.

The folder is keyed by the spec's digest, written under a temporary name and renamed when complete, so a
killed write leaves nothing a later job would trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fwbench.paths import SCRATCH

#: Where datasets live unless a job names another folder: the checkout's scratch, shared by every run and store.
DATA_ROOT = SCRATCH / "data" / "input_pipeline"
#: The format every loader reads.
COMMON = "npy-shards"
#: Each format's folder and how its files end.
FORMATS = {COMMON: ".npy", "tfrecord": ".tfrecord", "arrayrecord": ".array_record", "files": ".npy"}
#: Normalisation constants (per channel, after scaling pixels to [0, 1]): ImageNet's, as most pipelines use.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class DataSpec:
    """What the dataset is: its size, image shape, classes, shards and seed (its digest names its folder)."""

    samples: int
    height: int
    width: int
    classes: int
    shards: int
    seed: int

    @property
    def record_bytes(self) -> int:
        return 1 + self.height * self.width * 3

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]

    def shard_sizes(self) -> list[int]:
        base, extra = divmod(self.samples, self.shards)
        return [base + (i < extra) for i in range(self.shards)]


def generate(spec: DataSpec) -> np.ndarray:
    """All records, (samples, record_bytes) uint8, from the seed: labels drawn uniformly, pixels a label-tinted
    noise (so images of a class share a colour, as real ones share content)."""
    rng = np.random.default_rng(spec.seed)
    labels = rng.integers(0, spec.classes, spec.samples, dtype=np.int64)
    tint = rng.integers(0, 128, (spec.classes, 1, 1, 3))
    pixels = rng.integers(0, 128, (spec.samples, spec.height, spec.width, 3)) + tint[labels]
    records = np.empty((spec.samples, spec.record_bytes), np.uint8)
    records[:, 0] = labels
    records[:, 1:] = pixels.reshape(spec.samples, -1).astype(np.uint8)
    return records


def folder(spec: DataSpec, root: Path | None = None) -> Path:
    return Path(root or DATA_ROOT) / spec.digest


def files_of(spec: DataSpec, fmt: str, root: Path | None = None) -> list[Path]:
    """The files of one written format, in order (shards in shard order; `files` by sample index)."""
    where = folder(spec, root) / fmt
    if fmt == "files":
        return sorted(where.glob("*/*.npy"), key=lambda p: int(p.stem))
    return sorted(where.glob(f"*{FORMATS[fmt]}"))


def shards(spec: DataSpec, records: np.ndarray):
    """(index, records) of each shard, in order."""
    start = 0
    for i, n in enumerate(spec.shard_sizes()):
        yield i, records[start : start + n]
        start += n


def shard_name(spec: DataSpec, i: int, fmt: str) -> str:
    return f"shard-{i:05d}-of-{spec.shards:05d}{FORMATS[fmt]}"


def write_common(spec: DataSpec, records: np.ndarray, out: Path) -> None:
    for i, rows in shards(spec, records):
        np.save(out / shard_name(spec, i, COMMON), rows, allow_pickle=False)


def write_files(spec: DataSpec, records: np.ndarray, out: Path) -> None:
    for label in range(spec.classes):
        (out / f"{label:03d}").mkdir()
    for index, row in enumerate(records):
        np.save(
            out / f"{int(row[0]):03d}" / f"{index}.npy", row[1:].reshape(spec.height, spec.width, 3), allow_pickle=False
        )


def write_tfrecord(spec: DataSpec, records: np.ndarray, out: Path) -> None:
    import tensorflow as tf

    for i, rows in shards(spec, records):
        with tf.io.TFRecordWriter(str(out / shard_name(spec, i, "tfrecord"))) as writer:
            for row in rows:
                example = tf.train.Example(
                    features=tf.train.Features(
                        feature={
                            "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[row[1:].tobytes()])),
                            "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(row[0])])),
                        }
                    )
                )
                writer.write(example.SerializeToString())


def write_arrayrecord(spec: DataSpec, records: np.ndarray, out: Path) -> None:
    from array_record.python.array_record_module import ArrayRecordWriter

    for i, rows in shards(spec, records):
        # group_size:1 makes each record its own chunk: random access reads one record, as grain's docs advise.
        writer = ArrayRecordWriter(str(out / shard_name(spec, i, "arrayrecord")), "group_size:1")
        for row in rows:
            writer.write(row.tobytes())
        writer.close()


WRITERS = {COMMON: write_common, "files": write_files, "tfrecord": write_tfrecord, "arrayrecord": write_arrayrecord}


def ensure(spec: DataSpec, fmt: str, root: Path | None = None) -> bool:
    """Write `fmt` of the dataset unless a complete copy exists; True if it was written now."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(WRITERS)}")
    base = folder(spec, root)
    if (base / fmt).is_dir():
        return False
    base.mkdir(parents=True, exist_ok=True)
    (base / "spec.json").write_text(json.dumps(asdict(spec), sort_keys=True))
    tmp = Path(tempfile.mkdtemp(prefix=f".{fmt}-", dir=base))
    try:
        WRITERS[fmt](spec, generate(spec), tmp)
        os.replace(tmp, base / fmt)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return True


def expected(spec: DataSpec, crop: int) -> dict:
    """What an epoch must show: the label counts, and the mean and standard deviation of the normalised pixels of
    the centre crops (the check pass's augmentation-free view), from the generator itself in float64."""
    records = generate(spec)
    top, left = (spec.height - crop) // 2, (spec.width - crop) // 2
    pixels = records[:, 1:].reshape(-1, spec.height, spec.width, 3)[:, top : top + crop, left : left + crop]
    x = (pixels / 255.0 - np.array(MEAN)) / np.array(STD)
    return {
        "label_counts": np.bincount(records[:, 0], minlength=spec.classes).tolist(),
        "pixel_mean": float(x.mean()),
        "pixel_std": float(x.std()),
    }


def page_cache(paths: list[Path], state: str) -> int:
    """Put the files' pages in the state a measurement starts from; return the bytes touched.

    warm: every byte read once (the pages are then in the page cache, as after a first epoch). cold: the kernel
    asked to drop the files' clean pages (posix_fadvise DONTNEED; no root needed; advisory, so mostly cold)."""
    total = 0
    for path in paths:
        with open(path, "rb") as fh:
            if state == "warm":
                while chunk := fh.read(1 << 20):
                    total += len(chunk)
            elif state == "cold":
                os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
                total += os.fstat(fh.fileno()).st_size
            else:
                raise ValueError(f"page cache state must be 'warm' or 'cold', not {state!r}")
    return total
