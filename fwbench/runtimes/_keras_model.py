"""One Keras 3 definition of every workload, loaded with the spec's weights: the same code on any Keras backend.

Claim X6 is that Keras 3 runs one model on TensorFlow, PyTorch and JAX; this
module is that one model. It uses only `keras.layers` and `keras.ops`, never a
backend's own API, and the backend is chosen by the KERAS_BACKEND environment
variable before Keras is first imported (fwbench.experiments.export.child does that, one
process per backend). Inference only: batch norm uses its moving statistics,
which a fresh model holds at mean 0 and variance 1, as the float64 reference
does with `training=False`.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from fwbench.workloads.spec import NORM_EPS


def build(spec):
    """A keras.Model computing `spec`'s logits from its initial weights (spec.init_weights())."""
    inputs = keras.Input(shape=spec.input_shape, dtype=spec.dtype, name="x")
    assign: dict[str, list[str]] = {}  # layer name -> spec weight names, in the layer's get_weights() order
    out = getattr(_Builder(spec, assign), spec.family)(inputs)
    model = keras.Model(inputs, out, name=f"fwbench_{spec.name}")
    init = spec.init_weights()
    for name, keys in assign.items():
        layer = model.get_layer(name)
        current = layer.get_weights()
        # Batch norm also owns moving mean/variance; they keep their fresh values (0 and 1).
        layer.set_weights([init[k] for k in keys] + current[len(keys) :])
    return model


class _Builder:
    def __init__(self, spec, assign):
        self.spec, self.assign = spec, assign

    def _layer(self, layer, *keys):
        self.assign[layer.name] = list(keys)
        return layer

    def dense(self, x, prefix, activation=None):
        name = prefix.replace("/", "_")
        return self._layer(
            layers.Dense(self._units(prefix), activation=activation, name=name), f"{prefix}/w", f"{prefix}/b"
        )(x)

    def _units(self, prefix):
        return self.spec.param_shapes()[f"{prefix}/w"][-1]

    def conv(self, x, key, stride, pad):
        # Explicit symmetric padding, as the other frameworks here do ('same' pads (0, 1) at stride 2).
        if pad:
            x = layers.ZeroPadding2D(pad)(x)
        filters = self.spec.param_shapes()[key][-1]
        kernel = self.spec.param_shapes()[key][0]
        return self._layer(
            layers.Conv2D(filters, kernel, strides=stride, use_bias=False, name=key.replace("/", "_")), key
        )(x)

    def bn(self, x, prefix):
        return self._layer(
            layers.BatchNormalization(momentum=0.9, epsilon=NORM_EPS, name=prefix.replace("/", "_")),
            f"{prefix}/gamma",
            f"{prefix}/beta",
        )(x)

    def mlp(self, x):
        n = self.spec.n_layers
        for i in range(n):
            x = self.dense(x, f"dense{i}", activation="relu" if i < n - 1 else None)
        return x

    def cnn(self, x):
        x = layers.ReLU()(self.bn(self.conv(x, "stem/conv/w", 1, 1), "stem/bn"))
        for b in self.spec.blocks():
            p = b.prefix
            r = layers.ReLU()(self.bn(self.conv(x, f"{p}/conv1/w", b.stride, 1), f"{p}/bn1"))
            r = self.bn(self.conv(r, f"{p}/conv2/w", 1, 1), f"{p}/bn2")
            if b.projection:
                x = self.bn(self.conv(x, f"{p}/proj/w", b.stride, 0), f"{p}/proj_bn")
            x = layers.ReLU()(layers.Add()([r, x]))
        return self.dense(layers.GlobalAveragePooling2D()(x), "head")

    def layer_norm(self, x, prefix):
        return self._layer(
            layers.LayerNormalization(epsilon=NORM_EPS, name=prefix.replace("/", "_")),
            f"{prefix}/gamma",
            f"{prefix}/beta",
        )(x)

    def transformer(self, x):
        s = self.spec

        def heads(h):
            return ops.transpose(ops.reshape(h, (-1, s.seq_len, s.n_heads, s.d_head)), (0, 2, 1, 3))

        for p in s.layer_prefixes():
            h = self.layer_norm(x, f"{p}ln1")
            q, k, v = (heads(self.dense(h, f"{p}attn/{part}")) for part in ("q", "k", "v"))
            scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * (1.0 / s.d_head**0.5)
            if s.causal:
                mask = ops.tril(ops.ones((s.seq_len, s.seq_len), dtype="bool"))
                scores = ops.where(mask, scores, float("-inf"))
            probs = ops.softmax(scores, axis=-1)
            attended = ops.reshape(ops.transpose(ops.matmul(probs, v), (0, 2, 1, 3)), (-1, s.seq_len, s.d_model))
            x = layers.Add()([x, self.dense(attended, f"{p}attn/out")])
            h = self.dense(self.layer_norm(x, f"{p}ln2"), f"{p}mlp/fc1")
            x = layers.Add()([x, self.dense(ops.gelu(h, approximate=False), f"{p}mlp/fc2")])
        return self.dense(ops.mean(x, axis=1), "head")

    def rnn(self, x):
        cell = self._layer(
            layers.SimpleRNN(self.spec.hidden, activation="tanh", name="rnn"), "rnn/w_ih", "rnn/w_hh", "rnn/b"
        )
        return self.dense(cell(x), "head")
