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
    """``nk.train`` (AdamW without weight decay, cosine LR per step, batch 64) on the digits split; returns the test
    accuracy (fraction). ReSTE's ``o`` follows :func:`reste_o_schedule` per epoch; BiPer adds its regulariser."""
    def loss(out, y):
        ce = F.cross_entropy(out.mean(0), y)
        return ce + binary_regularizer(model, biper_tau) if estimator == "biper" else ce

    def next_o(epoch, _record):
        set_estimator_params(model, o=reste_o_schedule(min(epoch + 1, epochs - 1), epochs))

    if estimator == "reste":
        set_estimator_params(model, o=reste_o_schedule(0, epochs))
    history = nk.train(model, train, epochs, test_data=test, lr=lr, weight_decay=0.0, batch_size=64, loss=loss,
                       seed=seed, device="cpu", progress=False, on_epoch_end=next_o if estimator == "reste" else None)
    return history[-1]["test_acc"]


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
