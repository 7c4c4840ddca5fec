"""``neurokit demo``: the main job on the bundled data (scikit-learn digits)."""
from __future__ import annotations

import torch
from torch import nn

from .neurons import LIF


def run_demo(out: str, quick: bool, seed: int) -> dict:
    """Train a small LIF MLP on the digits set (direct-encoded, T steps) and print its test accuracy."""
    from sklearn.datasets import load_digits

    torch.manual_seed(seed)
    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32) / 16.0
    y = torch.tensor(d.target)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    x, y = x[perm], y[perm]
    n_train = int(0.8 * len(x))
    T = 4
    model = nn.Sequential(nn.Linear(64, 128), LIF(tau=2.0), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    epochs = 3 if quick else 15
    for epoch in range(epochs):
        for i in range(0, n_train, 64):
            xb = x[i:i + 64].unsqueeze(0).expand(T, -1, -1)
            loss = nn.functional.cross_entropy(model(xb).mean(0), y[i:i + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        pred = model(x[n_train:].unsqueeze(0).expand(T, -1, -1)).mean(0).argmax(-1)
    acc = (pred == y[n_train:]).float().mean().item()
    print(f"digits test accuracy: {acc:.3f}")
    return {"accuracy": acc}
