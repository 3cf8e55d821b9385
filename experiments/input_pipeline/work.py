"""The per-sample work the NumPy-side loaders share (DataLoader's Dataset and grain's transform): decode a record,
crop, flip, normalise. tf.data does the same steps in TensorFlow ops (hooks/tensorflow.py)."""

from __future__ import annotations

import numpy as np

from fwbench.experiments.input_pipeline.dataset import MEAN, STD

_MEAN = np.array(MEAN, np.float32)
_STD = np.array(STD, np.float32)


def decode(record: bytes | np.ndarray, height: int, width: int) -> tuple[np.ndarray, int]:
    """A record's pixels (HWC uint8) and label: byte 0 is the label."""
    raw = np.frombuffer(record, np.uint8) if isinstance(record, bytes) else np.asarray(record, np.uint8)
    return raw[1:].reshape(height, width, 3), int(raw[0])


def crop_flip(image: np.ndarray, crop: int, top: int, left: int, flip: bool) -> np.ndarray:
    out = image[top : top + crop, left : left + crop]
    return out[:, ::-1] if flip else out


def center(image: np.ndarray, crop: int) -> tuple[int, int]:
    return (image.shape[0] - crop) // 2, (image.shape[1] - crop) // 2


def normalise(image: np.ndarray) -> np.ndarray:
    """uint8 HWC -> float32, scaled to [0, 1], minus the channel mean, over the channel std (contiguous)."""
    return (image.astype(np.float32) * np.float32(1 / 255) - _MEAN) / _STD


def augment(image: np.ndarray, crop: int, rng: np.random.Generator | None) -> np.ndarray:
    """Random crop and horizontal flip drawn from `rng`; None: the centre crop, unflipped (the check pass)."""
    if rng is None:
        top, left = center(image, crop)
        return normalise(crop_flip(image, crop, top, left, False))
    top = int(rng.integers(0, image.shape[0] - crop + 1))
    left = int(rng.integers(0, image.shape[1] - crop + 1))
    return normalise(crop_flip(image, crop, top, left, bool(rng.integers(0, 2))))
