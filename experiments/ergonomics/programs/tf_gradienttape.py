"""The cnn task in TensorFlow with a custom training loop, as TensorFlow's "advanced" quickstart writes it:
subclassed Keras layers, tf.data, tf.GradientTape inside tf.function, Keras metrics, and a tf.train.Checkpoint
saved and restored.

fwbench wrote this program for its ergonomics experiment. Lines between "# harness-begin" and "# harness-end" are
fwbench's plumbing (the shared initial weights and data, the result file): the counts leave them out.
Run: python -m fwbench.experiments.ergonomics.programs.tf_gradienttape --data DATA.npz --out RESULT.json
"""

# harness-begin
import argparse
import json

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()
data = np.load(args.data)
x_train, y_train, x_test, y_test = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
batch_size, epochs, learning_rate = int(data["batch_size"]), int(data["epochs"]), float(data["learning_rate"])
# harness-end
import tensorflow as tf


def conv(filters, kernel_size, strides=1):
    return tf.keras.layers.Conv2D(filters, kernel_size, strides=strides, use_bias=False)


def batch_norm():
    return tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)


def pad(x):
    return tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])


class ResidualBlock(tf.keras.layers.Layer):
    def __init__(self, in_channels, out_channels, strides):
        super().__init__()
        self.conv1, self.bn1 = conv(out_channels, 3, strides), batch_norm()
        self.conv2, self.bn2 = conv(out_channels, 3), batch_norm()
        self.proj = self.proj_bn = None
        if strides != 1 or in_channels != out_channels:
            self.proj, self.proj_bn = conv(out_channels, 1, strides), batch_norm()

    def call(self, x, training=False):
        y = tf.nn.relu(self.bn1(self.conv1(pad(x)), training=training))
        y = self.bn2(self.conv2(pad(y)), training=training)
        if self.proj is not None:
            x = self.proj_bn(self.proj(x), training=training)
        return tf.nn.relu(x + y)


class ResNet(tf.keras.Model):
    def __init__(self, channels=(16, 32, 64), num_classes=10):
        super().__init__()
        self.stem_conv, self.stem_bn = conv(channels[0], 3), batch_norm()
        # A Sequential, not a list: tf.train.Checkpoint does not see layers kept in a list (Keras 3) and would
        # silently leave them out of the checkpoint.
        self.blocks = tf.keras.Sequential(
            [
                ResidualBlock(channels[max(i - 1, 0)], out_channels, 1 if i == 0 else 2)
                for i, out_channels in enumerate(channels)
            ]
        )
        self.head = tf.keras.layers.Dense(num_classes)

    def call(self, x, training=False):
        x = tf.nn.relu(self.stem_bn(self.stem_conv(pad(x)), training=training))
        x = self.blocks(x, training=training)
        return self.head(tf.reduce_mean(x, axis=[1, 2]))


train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(batch_size)
test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(batch_size)
model = ResNet()


# harness-begin
def harness_load(model, w):
    """The shared weights (already TensorFlow's layout: HWIO convs, (in, out) dense) into the model's layers."""
    model(x_test[:1])  # creates the variables
    layers = {"stem/conv": model.stem_conv, "stem/bn": model.stem_bn, "head": model.head}
    for i, block in enumerate(model.blocks.layers):
        layers.update(
            {
                f"block{i}/{name}": getattr(block, name)
                for name in ("conv1", "bn1", "conv2", "bn2", "proj", "proj_bn")
                if getattr(block, name)
            }
        )
    parts = {"w": "kernel", "b": "bias", "gamma": "gamma", "beta": "beta"}
    for key, value in w.items():
        prefix, part = key.rsplit("/", 1)
        getattr(layers[prefix], parts[part]).assign(value)
    return model(x_test, training=False).numpy()


initial_logits = harness_load(model, {k[2:]: data[k] for k in data.files if k.startswith("w:")})
# harness-end
loss_object = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = tf.keras.optimizers.SGD(learning_rate)
train_loss = tf.keras.metrics.Mean(name="train_loss")
test_loss = tf.keras.metrics.Mean(name="test_loss")


@tf.function
def train_step(images, labels):
    with tf.GradientTape() as tape:
        predictions = model(images, training=True)
        loss = loss_object(labels, predictions)
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    train_loss(loss)


@tf.function
def test_step(model, images, labels):
    predictions = model(images, training=False)
    test_loss(loss_object(labels, predictions))


history = []
for epoch in range(epochs):
    train_loss.reset_state()
    test_loss.reset_state()
    for images, labels in train_ds:
        train_step(images, labels)
    for images, labels in test_ds:
        test_step(model, images, labels)
    history.append((float(train_loss.result()), float(test_loss.result())))
    print(f"epoch {epoch + 1}: train loss {train_loss.result():.4f}, test loss {test_loss.result():.4f}")

checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
path = checkpoint.save("checkpoints/ckpt")
restored = ResNet()
restored(tf.zeros([1, 32, 32, 3]))  # create its variables eagerly: tf.function may create them on its first call only
tf.train.Checkpoint(model=restored).restore(path).expect_partial()
test_loss.reset_state()
for images, labels in test_ds:
    test_step(restored, images, labels)
restored_loss = float(test_loss.result())
print(f"restored model: test loss {restored_loss:.4f}")
# harness-begin
with open(args.out, "w") as f:
    json.dump(
        {
            "framework_version": tf.__version__,
            "initial_logits": initial_logits.tolist(),
            "train_loss": [h[0] for h in history],
            "test_loss": [h[1] for h in history],
            "restored_test_loss": restored_loss,
        },
        f,
    )
# harness-end
