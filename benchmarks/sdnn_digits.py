"""ANN vs SDNN vs rate-coded SNN on scikit-learn's 8x8 digits: accuracy, messages and Loihi energy per inference.

A small ReLU CNN (``Conv2d(1, 8, 3, stride 2) -> Linear(128, 32) -> Linear(32, 10)``) is trained for ``--steps``
Adam steps (lr 1e-2, batch 128) on the train split, converted with ``nk.models.ann_to_sdnn`` at each ``--thresholds``
(``scale=None``) and run on the test split as static frames for ``--T`` steps. The rate-coded SNN has the same
architecture (``nk.models.rate_snn``: the same conv / linear shapes, time-major, an ``nk.LIF`` after each hidden
layer, an ``nk.IF`` relay for the input spikes) and is trained from scratch with ``nk.train`` (``ce_rate``, AdamW lr
1e-2, batch 128) for ``--snn-epochs`` epochs on the same train split rate-coded over ``--snn-T`` steps
(``nk.data.digits(T, encoding="rate")``): 14 epochs of 11 steps = 154 optimizer steps, the ANN's 150.

Rules (hw_targets/energy/sdnn_compare.py): energy is ``"loihi2"``'s table (hw_targets/energy/cost_tables.py: Davies
et al. 2018's Loihi 1 figures standing in for Loihi 2) applied to events counted from real runs; each graded message
or spike costs one spike delivery, each message x nonzero weight one synaptic op, plus static power over the
modelled time. "messages" are what the input and hidden layers send (read-out excluded). The dense ANN row is the
same network sending every input and hidden activation at every step over every connection (``dense_counts`` of the
threshold-0 SDNN's counts). SDNN accuracy: argmax of the last step; SNN: argmax of the time-mean output.

Usage: ``python benchmarks/sdnn_digits.py [--T 4] [--thresholds 0 0.1 0.25 0.5] [--steps 150] [--snn-T 8]
[--snn-epochs 14]``; prints a markdown table (about 30 s on one core).
"""
from __future__ import annotations

import argparse

import torch
from torch import nn

import neurokit as nk
from hw_targets.energy.sdnn_compare import compare_sdnn_snn


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


def train_snn(ann: nn.Sequential, T: int, epochs: int, seed: int = 0):
    """``nk.models.rate_snn(ann)`` trained with ``nk.train`` (``ce_rate``, AdamW lr 1e-2, batch 128, ``epochs``) on the
    rate-coded train split (``nk.data.digits(T, encoding="rate")``, the same split as :func:`train_ann`), and the
    rate-coded test split ``(spikes [T, N, 1, 8, 8], labels [N])``."""
    train, test = nk.data.digits(T=T, encoding="rate", flatten=False, seed=seed)
    snn = nk.models.rate_snn(ann, seed=seed)
    nk.train(snn, train, epochs=epochs, lr=1e-2, batch_size=128, seed=seed, device="cpu", progress=False)
    x = torch.stack([test[i][0] for i in range(len(test))], dim=1)
    y = torch.tensor([int(test[i][1]) for i in range(len(test))])
    return snn.eval(), x, y


def table(rows: list[dict]) -> str:
    """The markdown table of :func:`hw_targets.energy.sdnn_compare.compare_sdnn_snn`'s rows."""
    dense = rows[0]
    out = ["| model | T | threshold | accuracy | messages / inference | saved vs dense | synops / inference "
           "| Loihi energy / inference (µJ) | dynamic part (nJ) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        th = "-" if r["threshold"] is None else f"{r['threshold']:g}"
        out.append(f"| {r['model']} | {r['T']} | {th} | {r['accuracy']:.3f} | {r['messages']:.1f} "
                   f"| {1 - r['messages'] / dense['messages']:.3f} | {r['synops']:.0f} | {r['energy_j'] * 1e6:.3f} "
                   f"| {r['dynamic_j'] * 1e9:.1f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=4)
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.0, 0.1, 0.25, 0.5])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--snn-T", type=int, default=8)
    ap.add_argument("--snn-epochs", type=int, default=14)
    ap.add_argument("--n-test", type=int, default=None, help="first N test images only (default: all)")
    args = ap.parse_args()
    ann, x, y = train_ann(args.steps)
    snn, xs, ys = train_snn(ann, args.snn_T, args.snn_epochs)
    if not torch.equal(y, ys):
        raise RuntimeError("the direct and rate-coded digits test splits differ")
    n = len(y) if args.n_test is None else args.n_test
    rows = compare_sdnn_snn(ann, x[:n], y[:n], snn, xs[:, :n], args.thresholds, T=args.T)
    print(f"{n} test images; ANN / SDNN: T={args.T} static frames; SNN: T={args.snn_T} rate-coded steps\n")
    print(table(rows))


if __name__ == "__main__":
    main()
