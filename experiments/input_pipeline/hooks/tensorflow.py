"""tf.data: the same pipeline in TensorFlow ops (FixedLengthRecordDataset over the .npy shards, TFRecordDataset
over TFRecord), parallelism and prefetch fixed by the experiment, autotuning off."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from fwbench.experiments.input_pipeline.dataset import MEAN, STD
from fwbench.experiments.input_pipeline.pipeline import Pipeline

LOADER = "tf.data"


def version() -> str:
    return tf.__version__


def npy_header_bytes(path) -> int:
    """Bytes before the data of a .npy file (its magic, version and header): the records follow them."""
    with open(path, "rb") as fh:
        major, _ = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        read(fh)
        return fh.tell()


def _records(p: Pipeline) -> tf.data.Dataset:
    files = [str(f) for f in p.files()]
    if p.fmt == "npy-shards":
        parts = [
            tf.data.FixedLengthRecordDataset(f, p.spec.record_bytes, header_bytes=npy_header_bytes(f)) for f in files
        ]
        ds = parts[0]
        for part in parts[1:]:
            ds = ds.concatenate(part)
        return ds
    if p.fmt == "tfrecord":
        return tf.data.TFRecordDataset(files)
    raise ValueError(f"tf.data reads npy-shards and tfrecord, not {p.fmt!r}")


def settings(p: Pipeline) -> dict:
    """What the loader was told, for the record."""
    return {
        "num_parallel_calls": p.workers or None,
        "private_threadpool_size": max(1, p.workers),
        "max_intra_op_parallelism": 1,
        "autotune": False,
        "prefetch_batches": p.prefetch * p.workers,
        "shuffle_buffer": p.spec.samples,
        "deterministic": True,
    }


def stream(p: Pipeline):
    """Batches (images float32 NHWC, labels) of `p.epochs` epochs, each epoch reshuffled."""
    h, w, c = p.spec.height, p.spec.width, p.crop
    mean, std = tf.constant(MEAN, tf.float32), tf.constant(STD, tf.float32)
    tf.random.set_seed(p.seed)
    features = {"image": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64)}

    def decode(record):
        if p.fmt == "tfrecord":
            ex = tf.io.parse_single_example(record, features)
            return tf.reshape(tf.io.decode_raw(ex["image"], tf.uint8), [h, w, 3]), tf.cast(ex["label"], tf.int32)
        raw = tf.io.decode_raw(record, tf.uint8)
        return tf.reshape(raw[1:], [h, w, 3]), tf.cast(raw[0], tf.int32)

    def work(record):
        image, label = decode(record)
        if p.augment:
            image = tf.image.random_flip_left_right(tf.image.random_crop(image, [c, c, 3]))
        else:
            top, left = (h - c) // 2, (w - c) // 2
            image = image[top : top + c, left : left + c]
        return (tf.cast(image, tf.float32) * (1 / 255) - mean) / std, label

    ds = _records(p).shuffle(p.spec.samples, seed=p.seed, reshuffle_each_iteration=True)
    ds = ds.map(work, num_parallel_calls=p.workers or None)
    ds = ds.batch(p.batch).repeat(p.epochs)
    if p.workers and p.prefetch:
        ds = ds.prefetch(p.prefetch * p.workers)
    options = tf.data.Options()
    options.threading.private_threadpool_size = max(1, p.workers)
    options.threading.max_intra_op_parallelism = 1
    options.autotune.enabled = False
    return iter(ds.with_options(options))


def labels(batch) -> np.ndarray:
    return batch[1].numpy()


def images(batch) -> np.ndarray:
    return batch[0].numpy()
