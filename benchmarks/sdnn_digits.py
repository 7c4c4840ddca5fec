"""ANN -> SDNN on scikit-learn's 8x8 digits: accuracy and graded messages per inference at several thresholds.

A small ReLU CNN (``Conv2d(1, 8, 3, stride 2) -> Linear(128, 32) -> Linear(32, 10)``) is trained for ``--steps``
Adam steps on the train split, converted with ``nk.models.ann_to_sdnn`` at each ``--thresholds`` and run on the test
split as static frames for ``--T`` steps (``nk.models.conversion_report``). "dense" counts what the ANN sends when it
is run on every frame: every input and hidden activation at every step.

Usage: ``python benchmarks/sdnn_digits.py [--T 4] [--thresholds 0 0.1 0.25 0.5] [--steps 150]``; prints a
markdown table.
"""
from __future__ import annotations

import argparse

import torch
from torch import nn

import neurokit as nk


def train_ann(steps: int, seed: int = 0):
    """The trained ANN and the test split ``(images [N, 1, 8, 8], labels [N])``."""
    train, test = nk.data.digits(T=1, encoding="direct", flatten=False)
    x_tr, x_te = (torch.stack([d[i][0][0] for i in range(len(d))]) for d in (train, test))
    y_tr, y_te = (torch.tensor([int(d[i][1]) for i in range(len(d))]) for d in (train, test))
    torch.manual_seed(seed)
    ann = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16, 32),
                        nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.Adam(ann.parameters(), lr=1e-2)
    for step in range(steps):
        idx = torch.randint(0, len(x_tr), (128,), generator=torch.Generator().manual_seed(seed * 100003 + step))
        loss = nn.functional.cross_entropy(ann(x_tr[idx]), y_tr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return ann, x_te, y_te


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=4)
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.0, 0.1, 0.25, 0.5])
    ap.add_argument("--steps", type=int, default=150)
    args = ap.parse_args()
    ann, x, y = train_ann(args.steps)
    rep = nk.models.conversion_report(ann, x, y, thresholds=args.thresholds, T=args.T)
    print(f"ANN test accuracy {rep['ann_accuracy']:.3f}; dense messages per inference {rep['dense_messages']:.0f} "
          f"(T={args.T}, {len(y)} test images)\n")
    print("| model | threshold | accuracy | messages / inference | saved vs dense "
          "| saved per layer (input, conv, fc) |")
    print("|---|---|---|---|---|---|")
    print(f"| ANN (every frame) | - | {rep['ann_accuracy']:.3f} | {rep['dense_messages']:.0f} | 0 | - |")
    for r in rep["sdnn"]:
        per = ", ".join(f"{s['saved']:.2f}" for s in r["layers"])
        print(f"| SDNN | {r['threshold']:g} | {r['accuracy']:.3f} | {r['messages']:.1f} | {r['saved']:.3f} | {per} |")


if __name__ == "__main__":
    main()
