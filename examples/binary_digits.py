"""Binary spiking MLP on sklearn digits: each weight estimator (STE, ReSTE, BiPer) vs the full-precision MLP.

    python examples/binary_digits.py            # full run (README figures)
    python examples/binary_digits.py --quick    # reduced (CI)

Model: 64 -> 128 (LIF) -> 10, direct input code over T steps, logits = time mean of the readout.
Binary nets: every layer binary (sign weights times a learnable per-channel scale); ReSTE's o rises 1 -> 3 (cosine);
BiPer adds tau * mean(sin^2(freq W)) to the loss.
"""
import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

import neurokit as nk
from neurokit.data.digits import digits
from neurokit.layers import binary_regularizer, reste_o_schedule, set_estimator_params


def fit(model, train, test, estimator, epochs, lr=1e-2, biper_tau=0.05, seed=0):
    """Adam + cosine LR on the digits split; returns test accuracy (fraction)."""
    torch.manual_seed(seed)
    x_tr, y_tr = train.x.transpose(0, 1), train.y
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for epoch in range(epochs):
        if estimator == "reste":
            set_estimator_params(model, o=reste_o_schedule(epoch, epochs))
        model.train()
        for idx in torch.randperm(x_tr.shape[1]).split(64):
            loss = F.cross_entropy(model(x_tr[:, idx]).mean(0), y_tr[idx])
            if estimator == "biper":
                loss = loss + binary_regularizer(model, biper_tau)
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        return float((model(test.x.transpose(0, 1)).mean(0).argmax(1) == test.y).float().mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few epochs, one seed (CI)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--T", type=int, default=4)
    args = parser.parse_args()
    epochs, seeds = (5, 1) if args.quick else (args.epochs, args.seeds)
    train, test = digits(T=args.T, encoding="direct", seed=0)
    builders = {
        "float (nn.Linear + LIF)": (lambda: nn.Sequential(nn.Linear(64, 128), nk.LIF(), nn.Linear(128, 10)), None),
        "binary STE": (lambda: nk.models.binary_mlp(64, (128,), estimator="ste"), "ste"),
        "binary ReSTE": (lambda: nk.models.binary_mlp(64, (128,), estimator="reste"), "reste"),
        "binary BiPer": (lambda: nk.models.binary_mlp(64, (128,), estimator="biper"), "biper"),
    }
    print(f"digits, spiking MLP 64-128-10, T={args.T}, {epochs} epochs, {seeds} seed(s)")
    print(f"{'model':<26}{'test acc (%)':>16}{'time (s)':>10}")
    for name, (build, estimator) in builders.items():
        start, accs = time.time(), []
        for seed in range(seeds):
            torch.manual_seed(seed)
            accs.append(100 * fit(build(), train, test, estimator, epochs, seed=seed))
        acc = torch.tensor(accs)
        spread = f" ± {acc.std():.1f}" if seeds > 1 else ""
        print(f"{name:<26}{acc.mean():>10.2f}{spread:<6}{time.time() - start:>10.1f}")


if __name__ == "__main__":
    main()
