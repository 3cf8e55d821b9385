"""Keras 3's layers on the TensorFlow backend for the porting experiment: built, trained, run in eval mode, their
arrays read and written."""

from __future__ import annotations

import keras
import numpy as np

from fwbench.experiments.porting.layers import SIZES, Sizes, same_pads

#: The arrays of each kind in the order a reader lines them up with another framework's (variable paths).
NAMES = {
    "dense": ["kernel", "bias"],
    "conv2d": ["kernel", "bias"],
    "batchnorm": ["gamma", "beta", "moving_mean", "moving_variance"],
    "layernorm": ["gamma", "beta"],
    "attention": [
        "query/kernel",
        "query/bias",
        "key/kernel",
        "key/bias",
        "value/kernel",
        "value/bias",
        "attention_output/kernel",
        "attention_output/bias",
    ],
    "gru": ["kernel", "recurrent_kernel", "bias"],
    "embedding": ["embeddings"],
}


def _input_shape(kind: str, s: Sizes) -> tuple[tuple, str]:
    return {
        "dense": ((s.features,), "float32"),
        "conv2d": ((s.image, s.image, s.channels), "float32"),
        "batchnorm": ((s.norm_features,), "float32"),
        "layernorm": ((s.features,), "float32"),
        "attention": ((s.seq, s.embed), "float32"),
        "gru": ((s.seq, s.rnn_inputs), "float32"),
        "embedding": ((s.seq,), "int32"),
    }[kind]


def build(kind: str, seed: int, sizes: Sizes = SIZES, **settings) -> keras.Model:
    """The idiomatic layer in a functional model, with Keras's defaults unless `settings` says otherwise (eps,
    momentum, gelu_approximate, pad: ((top, bottom), (left, right)))."""
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"Keras runs on the {keras.backend.backend()} backend here, not tensorflow")
    keras.utils.set_random_seed(seed)
    s = sizes
    shape, dtype = _input_shape(kind, s)
    inputs = keras.Input(shape=shape, dtype=dtype)
    x = inputs
    if kind == "dense":
        gelu = (lambda v: keras.activations.gelu(v, approximate=True)) if settings.get("gelu_approximate") else "gelu"
        x = keras.layers.Dense(s.features, activation=gelu)(x)
    elif kind == "conv2d":
        pad = settings.get("pad")
        if pad is None or tuple(map(tuple, pad)) == (same_pads(s.image, s.kernel, s.stride),) * 2:
            x = keras.layers.Conv2D(s.channels, s.kernel, strides=s.stride, padding="same")(x)
        else:  # Conv2D takes 'same' or 'valid' only: other padding is a layer of its own in front
            x = keras.layers.ZeroPadding2D(tuple(map(tuple, pad)))(x)
            x = keras.layers.Conv2D(s.channels, s.kernel, strides=s.stride, padding="valid")(x)
    elif kind == "batchnorm":
        x = keras.layers.BatchNormalization(epsilon=settings.get("eps", 1e-3), momentum=settings.get("momentum", 0.99))(
            x
        )
    elif kind == "layernorm":
        x = keras.layers.LayerNormalization(epsilon=settings.get("eps", 1e-3))(x)
    elif kind == "attention":
        x = keras.layers.MultiHeadAttention(num_heads=s.heads, key_dim=s.embed // s.heads)(x, x)
    elif kind == "gru":
        x = keras.layers.GRU(s.hidden, return_sequences=True)(x)
    elif kind == "embedding":
        x = keras.layers.Embedding(s.vocab, s.embed_features)(x)
    else:
        raise ValueError(f"unknown layer kind {kind!r}")
    return keras.Model(inputs, x)


def train(kind: str, model: keras.Model, x: np.ndarray, target: np.ndarray, steps: int, lr: float) -> list[float]:
    """`steps` plain SGD steps on the mean squared error with `train_on_batch` (batch norm's statistics move)."""
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="mse", jit_compile=False)
    return [float(model.train_on_batch(x, target)) for _ in range(steps)]


def forward(kind: str, model: keras.Model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model(x, training=False)).copy()


def _layer(model: keras.Model):
    return model.layers[-1]


def _variables(kind: str, model: keras.Model) -> dict:
    found = {}
    for name in NAMES[kind]:
        matches = [v for v in _layer(model).weights if v.path.endswith("/" + name)]
        if len(matches) != 1:
            raise KeyError(f"{kind}: {len(matches)} Keras variables end in {name!r}")
        found[name] = matches[0]
    return found


def arrays(kind: str, model: keras.Model) -> dict[str, np.ndarray]:
    return {k: np.asarray(v.numpy()).copy() for k, v in _variables(kind, model).items()}


def assign(kind: str, model: keras.Model, values: dict[str, np.ndarray]) -> None:
    variables = _variables(kind, model)
    for name, value in values.items():
        if tuple(variables[name].shape) != tuple(value.shape):
            raise ValueError(f"{name}: shape {tuple(value.shape)} does not fit {tuple(variables[name].shape)}")
        variables[name].assign(np.asarray(value, dtype=np.float32))


def settings(kind: str, model: keras.Model, sizes: Sizes = SIZES) -> dict:
    """What else defines the layer's function or training, in Keras's own conventions."""
    layer = _layer(model)
    if kind == "dense":
        return {"gelu_approximate": layer.activation is not keras.activations.gelu}
    if kind == "conv2d":
        if isinstance(model.layers[-2], keras.layers.ZeroPadding2D):
            return {"pad": tuple(map(tuple, model.layers[-2].padding))}
        return {"pad": (same_pads(sizes.image, sizes.kernel, sizes.stride),) * 2}
    if kind == "batchnorm":
        return {"eps": layer.epsilon, "momentum": layer.momentum}
    if kind == "attention":
        return {"heads": layer.num_heads}
    if kind == "layernorm":
        return {"eps": layer.epsilon}
    return {}
