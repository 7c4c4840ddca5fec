"""HLOP vs fine-tuning vs EWC on permuted digits (5 tasks) and split digits (5 tasks), spiking MLPs.

    python examples/hlop_continual.py --plot docs/figures/hlop_acc.png            # full run (README figures)
    python examples/hlop_continual.py --quick --plot /tmp/hlop_acc.png            # reduced (CI)
    python examples/hlop_continual.py --quick          # figure at ./neurokit-out/hlop_continual/hlop_acc.png

Permuted digits: task-incremental (a 10-way head per task, readout 50 wide); split digits: domain-incremental
(one shared 2-way head: first or second digit of the pair). Spiking MLP 64 -> 256 (LIF) -> head, direct input code
T = 4, Adam (fresh per task), bias-free layers. HLOP subspace neurons per layer (input, hidden): permuted
(48, 0) then (4, 0) per task (each task owns its head, so the readout needs no protection); split (40, 40) then
(6, 10).
"""
import argparse
import os
import time

import torch

import neurokit as nk
from neurokit.continual import permuted_digits, split_digits, train_tasks

BENCHMARKS = {
    "permuted": dict(tasks=lambda: permuted_digits(5, multi_head=True), outputs=50, first=(48, 0), next=(4, 0)),
    "split": dict(tasks=lambda: split_digits(5, shared_head=True), outputs=2, first=(40, 40), next=(6, 10)),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer epochs and Hebbian passes (CI)")
    parser.add_argument("--plot", default=os.path.join("neurokit-out", "hlop_continual", "hlop_acc.png"),
                        help="PNG path of the accuracy-matrix figure (its folder is created)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--hebbian-epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=256)
    args = parser.parse_args()
    epochs, hebbian_epochs = (2, 5) if args.quick else (args.epochs, args.hebbian_epochs)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurokit.atomic import atomic_savefig

    fig, axes = plt.subplots(len(BENCHMARKS), 3, figsize=(11, 7.2))
    summary = []
    for row, (bench, cfg) in enumerate(BENCHMARKS.items()):
        tasks = cfg["tasks"]()
        for col, method in enumerate(("finetune", "ewc", "hlop")):
            torch.manual_seed(0)
            model = nk.models.hlop_mlp(64, (args.hidden,), cfg["outputs"], subspace_first=cfg["first"],
                                       subspace_next=cfg["next"], hebbian_lr=0.2)
            print(f"[{3 * row + col + 1}/{3 * len(BENCHMARKS)}] {bench} digits, {method}: {len(tasks)} tasks x "
                  f"{epochs} epochs ...", flush=True)
            start = time.time()
            result = train_tasks(model, tasks, method=method, epochs=epochs, hebbian_epochs=hebbian_epochs, seed=0,
                                 verbose=True)
            print(f"--- {bench} digits ({time.time() - start:.1f} s)\n{result.table()}\n")
            result.plot(args.plot, ax=axes[row, col], title=f"hlop_mlp 64-{args.hidden}, {bench} digits")
            summary.append((bench, method, result.acc, result.bwt))
    fig.tight_layout()
    atomic_savefig(fig, args.plot, dpi=110)
    print(f"{'benchmark':<10}{'method':<10}{'ACC (%)':>9}{'BWT (%)':>9}")
    for bench, method, acc, bwt in summary:
        print(f"{bench:<10}{method:<10}{100 * acc:>9.2f}{100 * bwt:>+9.2f}")
    print(f"accuracy matrices: {os.path.abspath(args.plot)}")


if __name__ == "__main__":
    main()
