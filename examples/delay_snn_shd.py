"""Delay-learning SNN on Spiking Heidelberg Digits (SHD) format data.

With ``--data``/``--test-data`` it trains on the official SHD HDF5 files (download them from zenkelab.org/datasets;
``spikes/times`` in seconds, ``spikes/units`` 0..699, ``labels``). Without them it writes a small SHD-format file of
its own (classes defined by the time gaps between spikes on a few channels, so delays matter) and trains on that,
which is what CI runs. The network is ``nk.models.delay_snn`` (DCLS-style learned per-synapse delays), trained with
``nk.train``; test accuracy is reported before and after ``round_delays()``.

    python examples/delay_snn_shd.py                                   # self-made SHD-format data, ~2 min on CPU
    python examples/delay_snn_shd.py --data shd_train.h5 --test-data shd_test.h5 --epochs 50 --hidden 256 --layers 2
    python examples/delay_snn_shd.py --quick                           # CI size
"""
from __future__ import annotations

import argparse
import os
import tempfile

import h5py
import numpy as np
import torch

import neurokit as nk
from neurokit.training.metrics import evaluate


def write_shd_format(path: str, n: int, n_classes: int = 4, seed: int = 0) -> None:
    """Write ``n`` samples in the SHD layout: each sample has one spike on unit 10 and one on unit 400 (plus sparse
    noise); the class is the gap between them (0.03 s x class + 0.01 s), which only delays can turn into
    coincidences."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    vlen_f, vlen_u = h5py.vlen_dtype(np.float32), h5py.vlen_dtype(np.uint16)
    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (n,), dtype=vlen_f)
        units = f.create_dataset("spikes/units", (n,), dtype=vlen_u)
        for i, c in enumerate(labels):
            t0 = rng.uniform(0.0, 0.15)
            t = [t0, t0 + 0.01 + 0.03 * c]
            u = [10, 400]
            k = rng.poisson(2)
            t += list(rng.uniform(0.0, 0.39, k))
            u += list(rng.integers(0, 700, k))
            order = np.argsort(t)
            times[i] = np.asarray(t, np.float32)[order]
            units[i] = np.asarray(u, np.uint16)[order]
        f.create_dataset("labels", data=labels.astype(np.int64))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="SHD training file (HDF5); default: write a small SHD-format file")
    parser.add_argument("--test-data", help="SHD test file (HDF5)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--T", type=int, default=40, help="time steps of dt seconds")
    parser.add_argument("--dt", type=float, default=0.01)
    parser.add_argument("--pool", type=int, default=5, help="channel pooling: 700 / pool input channels")
    parser.add_argument("--max-delay", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="tiny run for CI")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.quick:
        args.epochs = 2
    tmp = None
    if args.data is None:
        tmp = tempfile.TemporaryDirectory()
        args.data, args.test_data = os.path.join(tmp.name, "train.h5"), os.path.join(tmp.name, "test.h5")
        n_train, n_test = (256, 64) if args.quick else (1024, 256)
        write_shd_format(args.data, n_train, seed=0)
        write_shd_format(args.test_data, n_test, seed=1)
    train_ds = nk.data.shd(args.data, T=args.T, dt=args.dt, pool=args.pool)
    test_ds = nk.data.shd(args.test_data or args.data, T=args.T, dt=args.dt, pool=args.pool)
    n_in = train_ds[0][0].shape[-1]
    n_classes = int(max(int(train_ds[i][1]) for i in range(len(train_ds)))) + 1
    torch.manual_seed(0)
    net = nk.models.delay_snn(in_features=n_in, num_classes=n_classes, hidden=args.hidden, layers=args.layers,
                              max_delay=args.max_delay, dropout=0.0, readout_tau=20.0, sigma_final=0.1,
                              anneal_fraction=0.5, seed=0)
    history = nk.train(net, train_ds, args.epochs, test_data=test_ds, lr=5e-3, weight_decay=1e-5, batch_size=64,
                       lr_scale={"position": 20.0}, seed=0, progress=not args.quick)
    before = history[-1]["test_acc"]
    after = evaluate(nk.models.round_delays(net), test_ds, batch_size=256)["acc"]
    print(f"SHD-format data: {len(train_ds)} train / {len(test_ds)} test, {n_in} channels, {n_classes} classes")
    print(f"test accuracy {100 * before:.1f} % -> after round_delays {100 * after:.1f} %")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
