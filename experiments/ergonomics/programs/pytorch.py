"""The cnn task in PyTorch, as PyTorch's tutorials write it: an nn.Module, a DataLoader, a training loop with
evaluation, and a state-dict checkpoint saved and loaded.

fwbench wrote this program for its ergonomics experiment. Lines between "# harness-begin" and "# harness-end" are
fwbench's plumbing (the shared initial weights and data, the result file): the counts leave them out.
Run: python -m fwbench.experiments.ergonomics.programs.pytorch --data DATA.npz --out RESULT.json
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
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, channels=(16, 32, 64), num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels[0], 3, padding=1, bias=False), nn.BatchNorm2d(channels[0]), nn.ReLU()
        )
        blocks, in_channels = [], channels[0]
        for i, out_channels in enumerate(channels):
            blocks.append(ResidualBlock(in_channels, out_channels, stride=1 if i == 0 else 2))
            in_channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(channels[-1], num_classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(x.mean(dim=(2, 3)))


def to_dataset(images, labels):
    return TensorDataset(torch.from_numpy(images).permute(0, 3, 1, 2), torch.from_numpy(labels))


train_loader = DataLoader(to_dataset(x_train, y_train), batch_size=batch_size, shuffle=False)
test_loader = DataLoader(to_dataset(x_test, y_test), batch_size=batch_size)
model = ResNet()


# harness-begin
def harness_load(model, w):
    """The shared weights (HWIO convs, (in, out) dense) into the model's layout (OIHW, (out, in))."""
    conv = lambda a: torch.from_numpy(a).permute(3, 2, 0, 1)  # noqa: E731
    state = {
        "stem.0.weight": conv(w["stem/conv/w"]),
        "stem.1.weight": torch.from_numpy(w["stem/bn/gamma"]),
        "stem.1.bias": torch.from_numpy(w["stem/bn/beta"]),
        "head.weight": torch.from_numpy(w["head/w"].T),
        "head.bias": torch.from_numpy(w["head/b"]),
    }
    for i in range(len(model.blocks)):
        names = {"conv1": "conv1.weight", "conv2": "conv2.weight", "proj": "shortcut.0.weight"}
        norms = {"bn1": "bn1", "bn2": "bn2", "proj_bn": "shortcut.1"}
        for ours, theirs in names.items():
            if f"block{i}/{ours}/w" in w:
                state[f"blocks.{i}.{theirs}"] = conv(w[f"block{i}/{ours}/w"])
        for ours, theirs in norms.items():
            if f"block{i}/{ours}/gamma" in w:
                state[f"blocks.{i}.{theirs}.weight"] = torch.from_numpy(w[f"block{i}/{ours}/gamma"])
                state[f"blocks.{i}.{theirs}.bias"] = torch.from_numpy(w[f"block{i}/{ours}/beta"])
    missing = model.load_state_dict(state, strict=False).missing_keys
    assert all(k.endswith(("running_mean", "running_var", "num_batches_tracked")) for k in missing), missing
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x_test).permute(0, 3, 1, 2)).numpy()
    return logits


initial_logits = harness_load(model, {k[2:]: data[k] for k in data.files if k.startswith("w:")})
# harness-end
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)


def train(model, loader):
    model.train()
    total = 0.0
    for images, labels in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)


def evaluate(model, loader):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for images, labels in loader:
            total += loss_fn(model(images), labels).item()
    return total / len(loader)


history = []
for epoch in range(epochs):
    train_loss = train(model, train_loader)
    test_loss = evaluate(model, test_loader)
    history.append((train_loss, test_loss))
    print(f"epoch {epoch + 1}: train loss {train_loss:.4f}, test loss {test_loss:.4f}")

torch.save(model.state_dict(), "model.pt")
restored = ResNet()
restored.load_state_dict(torch.load("model.pt", weights_only=True))
restored_loss = evaluate(restored, test_loader)
print(f"restored model: test loss {restored_loss:.4f}")
# harness-begin
with open(args.out, "w") as f:
    json.dump(
        {
            "framework_version": torch.__version__,
            "initial_logits": initial_logits.tolist(),
            "train_loss": [h[0] for h in history],
            "test_loss": [h[1] for h in history],
            "restored_test_loss": restored_loss,
        },
        f,
    )
# harness-end
