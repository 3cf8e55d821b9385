"""The cnn task in Keras 3 on TensorFlow, as Keras's guides write it: the functional API, compile and fit with
validation data, evaluate, and a .keras file saved and loaded.

fwbench wrote this program for its ergonomics experiment. Lines between "# harness-begin" and "# harness-end" are
fwbench's plumbing (the shared initial weights and data, the result file): the counts leave them out.
Run: python -m fwbench.experiments.ergonomics.programs.keras --data DATA.npz --out RESULT.json
"""

# harness-begin
import argparse
import json
import os
import re

import numpy as np

os.environ["KERAS_BACKEND"] = "tensorflow"
parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()
data = np.load(args.data)
x_train, y_train, x_test, y_test = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
batch_size, epochs, learning_rate = int(data["batch_size"]), int(data["epochs"]), float(data["learning_rate"])
# harness-end
import keras
from keras import layers


def conv_bn(x, filters, kernel_size, strides, name):
    if kernel_size == 3:
        x = layers.ZeroPadding2D(1)(x)
    x = layers.Conv2D(filters, kernel_size, strides=strides, use_bias=False, name=name)(x)
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_bn")(x)


def residual_block(x, filters, strides, name):
    shortcut = x
    y = layers.ReLU()(conv_bn(x, filters, 3, strides, f"{name}_conv1"))
    y = conv_bn(y, filters, 3, 1, f"{name}_conv2")
    if strides != 1 or x.shape[-1] != filters:
        shortcut = conv_bn(x, filters, 1, strides, f"{name}_proj")
    return layers.ReLU()(layers.Add()([y, shortcut]))


def build_model(channels=(16, 32, 64), num_classes=10):
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.ReLU()(conv_bn(inputs, channels[0], 3, 1, "stem_conv"))
    for i, filters in enumerate(channels):
        x = residual_block(x, filters, 1 if i == 0 else 2, f"block{i}")
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, name="head")(x)
    return keras.Model(inputs, outputs)


model = build_model()


# harness-begin
def harness_load(model, w):
    """The shared weights (already Keras's layout: HWIO convs, (in, out) dense) into the named layers."""
    parts = {"w": "kernel", "b": "bias", "gamma": "gamma", "beta": "beta"}
    for key, value in w.items():
        prefix, part = key.rsplit("/", 1)
        name = prefix.replace("/", "_")  # stem/conv -> stem_conv; the norms are named after their conv
        if not name.endswith("proj_bn"):
            name = re.sub(r"_bn(\d?)$", r"_conv\1_bn", name)  # stem/bn -> stem_conv_bn, block0/bn1 -> block0_conv1_bn
        getattr(model.get_layer(name), parts[part]).assign(value)
    return keras.ops.convert_to_numpy(model(x_test, training=False))


initial_logits = harness_load(model, {k[2:]: data[k] for k in data.files if k.startswith("w:")})
# harness-end
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
)
history = model.fit(
    x_train, y_train, batch_size=batch_size, epochs=epochs, validation_data=(x_test, y_test), shuffle=False
)

model.save("model.keras")
restored = keras.models.load_model("model.keras")
restored_loss = restored.evaluate(x_test, y_test, batch_size=batch_size)
print(f"restored model: test loss {restored_loss:.4f}")
# harness-begin
with open(args.out, "w") as f:
    json.dump(
        {
            "framework_version": keras.__version__,
            "initial_logits": initial_logits.tolist(),
            "train_loss": history.history["loss"],
            "test_loss": history.history["val_loss"],
            "restored_test_loss": restored_loss,
        },
        f,
    )
# harness-end
