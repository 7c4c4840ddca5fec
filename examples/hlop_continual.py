"""HLOP vs fine-tuning vs EWC on permuted digits and split digits (5 tasks each), spiking MLPs and a spiking CNN;
mean +- std over seeds.

    python examples/hlop_continual.py --plot docs/figures/hlop_acc.png            # full run, 3 seeds (README tables)
    python examples/hlop_continual.py --quick --plot /tmp/hlop_acc.png            # reduced, 1 seed (CI)
    python examples/hlop_continual.py --quick          # figure at ./neurokit-out/hlop_continual/hlop_acc.png

Permuted digits: task-incremental (a 10-way head per task, readout 50 wide); split digits: domain-incremental
(one shared 2-way head: first or second digit of the pair). Direct input code T = 4, Adam (fresh per task), bias-free
layers. Models and HLOP subspace neurons per synaptic layer (first task, then per later task):

* ``permuted`` -- MLP 64 -> 256 (LIF) -> 50: (48, 0) then (4, 0) (each task owns its head rows);
* ``split`` -- MLP 64 -> 256 (LIF) -> 2: (40, 40) then (6, 10);
* ``split-conv`` -- CNN Conv3x3(1->16)-LIF-AvgPool2 -> Conv3x3(16->32)-LIF-AvgPool2 -> 2 (``nk.models.hlop_cnn``,
  v_threshold 0.3; the conv subspaces span unfolded 3x3 patches, 9 and 144 wide): (5, 72, 64) then (1, 12, 12).

Seed ``s`` sets the model initialisation and the batch order (``train_tasks(seed=s)``); the task split is fixed.
The figure shows the accuracy matrices of the first seed; the summary is mean +- sample std over the seeds.
"""
import argparse
import os
import time

import numpy as np
import torch

import neurokit as nk
from neurokit.continual import permuted_digits, split_digits, train_tasks


def _mlp(outputs, first, nxt):
    return lambda: nk.models.hlop_mlp(64, (256,), outputs, subspace_first=first, subspace_next=nxt, hebbian_lr=0.2)


BENCHMARKS = {
    "permuted": dict(tasks=lambda: permuted_digits(5, multi_head=True), model=_mlp(50, (48, 0), (4, 0))),
    "split": dict(tasks=lambda: split_digits(5, shared_head=True), model=_mlp(2, (40, 40), (6, 10))),
    "split-conv": dict(tasks=lambda: split_digits(5, shared_head=True),
                       model=lambda: nk.models.hlop_cnn(1, 8, (16, 32), 2, subspace_first=(5, 72, 64),
                                                        subspace_next=(1, 12, 12), hebbian_lr=0.2, v_threshold=0.3)),
}
METHODS = ("finetune", "ewc", "hlop")


def _mean_std(values):
    values = 100 * np.asarray(values)
    return values.mean(), (values.std(ddof=1) if len(values) > 1 else 0.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer epochs and Hebbian passes, 1 seed (CI)")
    parser.add_argument("--plot", default=os.path.join("neurokit-out", "hlop_continual", "hlop_acc.png"),
                        help="PNG path of the accuracy-matrix figure (its folder is created)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--hebbian-epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds 0..N-1 (default 3; 1 with --quick)")
    parser.add_argument("--benchmarks", default=",".join(BENCHMARKS), help="comma-separated subset of "
                        f"{', '.join(BENCHMARKS)}")
    args = parser.parse_args()
    epochs, hebbian_epochs = (2, 5) if args.quick else (args.epochs, args.hebbian_epochs)
    seeds = args.seeds if args.seeds is not None else (1 if args.quick else 3)
    benches = args.benchmarks.split(",")
    unknown = sorted(set(benches) - set(BENCHMARKS))
    if seeds < 1 or unknown:
        parser.error(f"--seeds must be >= 1 (got {seeds}) and --benchmarks among {list(BENCHMARKS)} (got {unknown})")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurokit.atomic import atomic_savefig

    fig, axes = plt.subplots(len(benches), 3, figsize=(11, 3.6 * len(benches)), squeeze=False)
    summary = []
    for row, bench in enumerate(benches):
        cfg = BENCHMARKS[bench]
        tasks = cfg["tasks"]()
        for col, method in enumerate(METHODS):
            accs, bwts = [], []
            for seed in range(seeds):
                torch.manual_seed(seed)
                model = cfg["model"]()
                print(f"{bench} digits, {method}, seed {seed}: {len(tasks)} tasks x {epochs} epochs ...", flush=True)
                start = time.time()
                result = train_tasks(model, tasks, method=method, epochs=epochs, hebbian_epochs=hebbian_epochs,
                                     seed=seed, verbose=True)
                print(f"--- {bench} digits, seed {seed} ({time.time() - start:.1f} s)\n{result.table()}\n")
                accs.append(result.acc)
                bwts.append(result.bwt)
                if seed == 0:
                    result.plot(args.plot, ax=axes[row, col], title=f"{bench} digits, {method}")
                    axes[row, col].set_title(f"{bench}: {method} (seed 0)\nACC {100 * result.acc:.1f}, "
                                             f"BWT {100 * result.bwt:+.1f}", fontsize=9)
            summary.append((bench, method, _mean_std(accs), _mean_std(bwts)))
    fig.tight_layout()
    atomic_savefig(fig, args.plot, dpi=110)
    print(f"mean +- std over {seeds} seed(s)")
    print(f"{'benchmark':<12}{'method':<10}{'ACC (%)':>16}{'BWT (points)':>16}")
    for bench, method, (acc, acc_sd), (bwt, bwt_sd) in summary:
        print(f"{bench:<12}{method:<10}{acc:>9.2f} ± {acc_sd:<4.2f}{bwt:>+10.2f} ± {bwt_sd:.2f}")
    print(f"accuracy matrices: {os.path.abspath(args.plot)}")


if __name__ == "__main__":
    main()
