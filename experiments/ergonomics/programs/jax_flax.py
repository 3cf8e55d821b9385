"""The cnn task in JAX with Flax NNX and Optax, as Flax's NNX tutorials write it: nnx.Module classes, nnx.Optimizer,
nnx.jit training and evaluation steps with nnx.value_and_grad, train/eval modes, and an Orbax checkpoint of the
model's state saved and restored into an abstract model.

fwbench wrote this program for its ergonomics experiment. Lines between "# harness-begin" and "# harness-end" are
fwbench's plumbing (the shared initial weights and data, the result file): the counts leave them out.
Run: python -m fwbench.experiments.ergonomics.programs.jax_flax --data DATA.npz --out RESULT.json
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
from pathlib import Path

import jax
import jax.numpy as jnp
import optax
import orbax.checkpoint as ocp
from flax import nnx


class ResidualBlock(nnx.Module):
    def __init__(self, in_channels, out_channels, strides, *, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(in_channels, out_channels, (3, 3), strides=strides, padding=1, use_bias=False, rngs=rngs)
        self.bn1 = nnx.BatchNorm(out_channels, momentum=0.9, rngs=rngs)
        self.conv2 = nnx.Conv(out_channels, out_channels, (3, 3), padding=1, use_bias=False, rngs=rngs)
        self.bn2 = nnx.BatchNorm(out_channels, momentum=0.9, rngs=rngs)
        self.shortcut = nnx.Sequential()
        if strides != 1 or in_channels != out_channels:
            self.shortcut = nnx.Sequential(
                nnx.Conv(in_channels, out_channels, (1, 1), strides=strides, padding=0, use_bias=False, rngs=rngs),
                nnx.BatchNorm(out_channels, momentum=0.9, rngs=rngs),
            )

    def __call__(self, x):
        y = nnx.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return nnx.relu(self.shortcut(x) + y)


class ResNet(nnx.Module):
    def __init__(self, channels=(16, 32, 64), num_classes=10, *, rngs: nnx.Rngs):
        self.stem_conv = nnx.Conv(3, channels[0], (3, 3), padding=1, use_bias=False, rngs=rngs)
        self.stem_bn = nnx.BatchNorm(channels[0], momentum=0.9, rngs=rngs)
        self.blocks = nnx.Sequential(
            *[ResidualBlock(channels[max(i - 1, 0)], c, 1 if i == 0 else 2, rngs=rngs) for i, c in enumerate(channels)]
        )
        self.head = nnx.Linear(channels[-1], num_classes, rngs=rngs)

    def __call__(self, x):
        x = self.blocks(nnx.relu(self.stem_bn(self.stem_conv(x))))
        return self.head(x.mean(axis=(1, 2)))


def loss_fn(model, images, labels):
    logits = model(images)
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


@nnx.jit
def train_step(model, optimizer, metrics, images, labels):
    loss, grads = nnx.value_and_grad(loss_fn)(model, images, labels)
    optimizer.update(model, grads)
    metrics.update(loss=loss)


@nnx.jit
def eval_step(model, metrics, images, labels):
    metrics.update(loss=loss_fn(model, images, labels))


def batches(images, labels):
    for i in range(0, len(images), batch_size):
        yield jnp.asarray(images[i : i + batch_size]), jnp.asarray(labels[i : i + batch_size])


def evaluate(model):
    model.eval()
    metrics = nnx.metrics.Average("loss")
    for images, labels in batches(x_test, y_test):
        eval_step(model, metrics, images, labels)
    return float(metrics.compute())


model = ResNet(rngs=nnx.Rngs(0))


# harness-begin
def harness_load(model, w):
    """The shared weights (already Flax's layout: HWIO convs, (in, out) dense) into the model's parameters."""
    modules = {"stem/conv": model.stem_conv, "stem/bn": model.stem_bn, "head": model.head}
    for i, block in enumerate(model.blocks.layers):
        modules.update({f"block{i}/{name}": getattr(block, name) for name in ("conv1", "bn1", "conv2", "bn2")})
        modules.update(zip((f"block{i}/proj", f"block{i}/proj_bn"), block.shortcut.layers))
    parts = {"w": "kernel", "b": "bias", "gamma": "scale", "beta": "bias"}
    for key, value in w.items():
        prefix, part = key.rsplit("/", 1)
        getattr(modules[prefix], parts[part]).value = jnp.asarray(value)
    model.eval()
    logits = np.asarray(model(jnp.asarray(x_test)))
    model.train()
    return logits


initial_logits = harness_load(model, {k[2:]: data[k] for k in data.files if k.startswith("w:")})
# harness-end
optimizer = nnx.Optimizer(model, optax.sgd(learning_rate), wrt=nnx.Param)
train_metrics = nnx.metrics.Average("loss")

history = []
for epoch in range(epochs):
    model.train()
    train_metrics.reset()
    for images, labels in batches(x_train, y_train):
        train_step(model, optimizer, train_metrics, images, labels)
    train_loss, test_loss = float(train_metrics.compute()), evaluate(model)
    history.append((train_loss, test_loss))
    print(f"epoch {epoch + 1}: train loss {train_loss:.4f}, test loss {test_loss:.4f}")

checkpointer = ocp.StandardCheckpointer()
checkpoint_dir = Path("checkpoints").absolute()
_, state = nnx.split(model)
checkpointer.save(checkpoint_dir / "state", state)
checkpointer.wait_until_finished()
abstract_model = nnx.eval_shape(lambda: ResNet(rngs=nnx.Rngs(0)))
graphdef, abstract_state = nnx.split(abstract_model)
restored = nnx.merge(graphdef, checkpointer.restore(checkpoint_dir / "state", abstract_state))
restored_loss = evaluate(restored)
print(f"restored model: test loss {restored_loss:.4f}")
# harness-begin
with open(args.out, "w") as f:
    json.dump(
        {
            "framework_version": jax.__version__,
            "initial_logits": initial_logits.tolist(),
            "train_loss": [h[0] for h in history],
            "test_loss": [h[1] for h in history],
            "restored_test_loss": restored_loss,
        },
        f,
    )
# harness-end
