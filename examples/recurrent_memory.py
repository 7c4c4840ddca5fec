"""Recurrence gives memory: rsnn with and without recurrent weights on the synthetic gap task with long gaps.

The task (``nk.data.delay_task``, T=50): two input channels, one spike each; the class is the gap between the spike on
channel 0 and the spike on channel 1 (4 classes: gaps 2, 8, 14, 20 steps), at a random start time, spike counts
identical for every class. The hidden neurons forget within a few steps (``tau_mem = tau_syn = 2`` steps), so a
network must carry the first spike across the gap in its recurrent activity. The same network (one hidden layer of
64 neurons, leaky-integrator readout, ``nk.models.rsnn``) is trained with ``nk.train`` with ``recurrent=True`` and
``recurrent=False`` for each neuron family; the table is the final test accuracy, mean over seeds.

    python examples/recurrent_memory.py              # 3 seeds x (lif, cuba, alif) x (recurrent, feed-forward)
    python examples/recurrent_memory.py --quick      # 1 seed, LIF only, few samples (CI smoke run)
"""
from __future__ import annotations

import argparse
import json
import statistics

import torch

import neurokit as nk
from neurokit.atomic import atomic_write_text


def run_one(neuron: str, recurrent: bool, seed: int, args) -> float:
    """Train one configuration with one seed; returns the final test accuracy."""
    train_ds, test_ds = nk.data.delay_task(n_train=args.n_train, n_test=args.n_test, T=50, n_classes=4, min_gap=2,
                                           gap_step=6, seed=seed)
    net = nk.models.rsnn(in_features=2, hidden=(64,), num_classes=4, neuron=neuron, recurrent=recurrent,
                         tau_mem=2.0, tau_syn=2.0, tau_adapt=20.0, beta=0.5, v_threshold=0.25, readout_tau=20.0,
                         seed=seed)
    history = nk.train(net, train_ds, args.epochs, test_data=test_ds, lr=5e-3, weight_decay=1e-5, batch_size=64,
                       seed=seed, progress=False)
    return history[-1]["test_acc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 seed, LIF only, 128 samples, 2 epochs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args()
    args.n_train, args.n_test, neurons = 512, 256, ("lif", "cuba", "alif")
    if args.quick:
        args.seeds, args.n_train, args.n_test, args.epochs, neurons = 1, 128, 64, 2, ("lif",)
    torch.set_num_threads(1)
    results = {}
    for neuron in neurons:
        for recurrent in (True, False):
            accs = [run_one(neuron, recurrent, seed, args) for seed in range(args.seeds)]
            results[f"{neuron}/{'recurrent' if recurrent else 'feed-forward'}"] = accs
            print(f"{neuron:5s} recurrent={recurrent!s:5s} test acc per seed {[round(100 * a, 1) for a in accs]}",
                  flush=True)
    print(f"\n| neuron | recurrent (mean of {args.seeds} seeds) | feed-forward (mean of {args.seeds} seeds) |")
    print("|---|---|---|")
    for neuron in neurons:
        rec = statistics.mean(results[f"{neuron}/recurrent"])
        ff = statistics.mean(results[f"{neuron}/feed-forward"])
        print(f"| {neuron} | {100 * rec:.1f}% | {100 * ff:.1f}% |")
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
