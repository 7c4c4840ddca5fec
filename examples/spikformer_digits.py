"""Tiny spiking transformers on the bundled 8x8 digits (scikit-learn), trained on CPU with nk.train.

Models: ``spikformer("tiny")`` (Spikformer SSA), ``spikformer("tiny", attention="sdsa")`` (spike-driven
attention) and ``maxformer("tiny")``; direct encoding (the analog image repeated T=4 times, as Spikformer feeds
static images), 80/20 split of the 1797 images.

    python examples/spikformer_digits.py                  # all three models, figure + JSON under
                                                          # ./neurokit-out/spikformer_digits/
    python examples/spikformer_digits.py --out docs/figures   # the README figure
    python examples/spikformer_digits.py --quick          # Spikformer only, 3 epochs (CI smoke run)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import neurokit as nk
from neurokit.atomic import atomic_savefig, atomic_write_text
from neurokit.models import maxformer, spikformer
from neurokit.models.spikformer import count_parameters

MODELS = {
    "spikformer-tiny (SSA)": lambda: spikformer("tiny"),
    "spikformer-tiny (SDSA)": lambda: spikformer("tiny", attention="sdsa"),
    "maxformer-tiny": lambda: maxformer("tiny"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="Spikformer (SSA) only, 3 epochs")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("neurokit-out") / "spikformer_digits",
                        help="folder for the figure and JSON (created; nothing is written elsewhere)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = list(MODELS)[:1] if args.quick else list(MODELS)
    epochs = 3 if args.quick else args.epochs
    train_ds, test_ds = nk.data.digits(T=4, encoding="direct", flatten=False, seed=0)
    results = []
    for name in names:
        torch.manual_seed(0)
        net = MODELS[name]()
        print(f"training {name} for {epochs} epochs (one line per epoch) ...", flush=True)
        start = time.time()
        history = nk.train(net, train_ds, epochs, test_data=test_ds, lr=3e-3, weight_decay=1e-2, batch_size=32,
                           seed=0, progress=True)
        seconds = time.time() - start
        results.append({"model": name, "params": count_parameters(net), "train_seconds": seconds,
                        "curve": [r["test_acc"] for r in history], "test_acc": history[-1]["test_acc"]})
        print(f"{name}: {results[-1]['params']} params, test acc {100 * history[-1]['test_acc']:.1f}% "
              f"after {epochs} epochs ({seconds:.0f} s)", flush=True)
    suffix = "_quick" if args.quick else ""
    json_path, png_path = args.out / f"spikformer_digits{suffix}.json", args.out / f"spikformer_digits{suffix}.png"
    atomic_write_text(json_path, json.dumps(results, indent=1))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for r in results:
        ax.plot(range(1, len(r["curve"]) + 1), [100 * a for a in r["curve"]], label=r["model"])
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("tiny spiking transformers (direct code, T=4) on the 8x8 digits", fontsize=9)
    ax.legend()
    fig.tight_layout()
    atomic_savefig(fig, png_path, dpi=120)
    plt.close(fig)
    print(f"wrote {json_path.resolve()} and {png_path.resolve()}")


if __name__ == "__main__":
    main()
