"""STEP's spiking-transformer families beside Spikformer: Meta-SpikeFormer (Spike-driven Transformer v2, Yao et
al., ICLR 2024) and QKFormer (Zhou et al., NeurIPS 2024), trained tiny on the bundled 8x8 digits (scikit-learn)
with nk.train, then compiled to every target and checked against the target's contract.

Direct encoding (the analog image repeated T times), 80/20 split of the 1797 images. Every target either runs the
model within its contract (gpu: equal to eager; onnx_int: bit-exact to the integer reference) or refuses it with
the reason (loihi2: residual adds / products of activations; nir: reshapes and activation products).

    python examples/step_transformers_digits.py            # both models, 8 epochs, T=4
    python examples/step_transformers_digits.py --quick    # 1 epoch on 256 training images, T=2 (CI smoke run)
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import torch

import neurokit as nk
from neurokit.data.base import SequenceDataset
from neurokit.models import metaspikeformer, qkformer
from neurokit.models.spikformer import count_parameters

MODELS = {"metaspikeformer-tiny": metaspikeformer, "qkformer-tiny": qkformer}
TARGETS = ("gpu", "onnx_int", "loihi2", "nir")


def _verify():
    path = Path(__file__).resolve().parents[1] / "scripts" / "support_matrix.py"
    spec = importlib.util.spec_from_file_location("support_matrix", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.verify


def _subset(ds: SequenceDataset, n: int) -> SequenceDataset:
    return SequenceDataset(ds.x[:n], ds.y[:n], ds.num_classes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 epoch, 256 training images, T=2")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    T, epochs = (2, 1) if args.quick else (4, args.epochs)
    train_ds, test_ds = nk.data.digits(T=T, encoding="direct", flatten=False, seed=0)
    if args.quick:
        train_ds, test_ds = _subset(train_ds, 256), _subset(test_ds, 64)
    verify = _verify()
    for name, build in MODELS.items():
        torch.manual_seed(0)
        net = build("tiny", T=T)
        history = nk.train(net, train_ds, epochs, test_data=test_ds, lr=3e-3, weight_decay=1e-2, batch_size=32,
                           seed=0, progress=False)
        print(f"{name}: {count_parameters(net)} params, test acc {100 * history[-1]['test_acc']:.1f}% after "
              f"{epochs} epoch(s)", flush=True)
        net.eval()
        x = test_ds.x[:2].transpose(0, 1)                                    # [T, 2, 1, 8, 8]
        for target in TARGETS:
            try:
                cm = nk.compile(net, target=target, example_input=x)
            except nk.CompileError as err:
                print(f"  {target}: refused: {str(err).splitlines()[0][:160]}")
                continue
            print(f"  {target}: {'meets its contract' if verify(net, cm, target, x) else 'MISMATCH'}")


if __name__ == "__main__":
    main()
