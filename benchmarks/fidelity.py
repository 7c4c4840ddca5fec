"""Float vs integer fidelity on the digits set: train a QAT spiking model, compile it to ``onnx_int``, compare.

Accuracy is the argmax of the output summed over time (spike counts, or the readout accumulator times its
per-class real unit ``graph.scales[graph.output]``), for the eager float QAT model, the integer reference
simulator and onnxruntime (which must agree bit for bit).

Command (prints one JSON line per model)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fidelity.py --models quant_snn quant_cnn --epochs 4

Example::

    rows = fidelity(["quant_snn"], epochs=2)      # [{"model", "float_acc", "int_acc", "onnx_acc", ...}]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch import nn

import neurokit as nk
from compile import integer_sim


def _build(name: str) -> nn.Module:
    from neurokit.models import binary_mlp, quant_cnn, quant_snn

    if name == "quant_snn":
        return quant_snn(64, (96,), 10, weight_bits=8, membrane_bits=16, input_bits=None)
    if name == "quant_cnn":
        return quant_cnn()
    if name == "binary_mlp":
        return binary_mlp(64, (96,), 10)
    raise ValueError(f"model must be one of quant_snn, quant_cnn, binary_mlp; got {name!r}")


def _batches(ds, batch: int):
    for i in range(0, len(ds), batch):
        xs, ys = zip(*(ds[j] for j in range(i, min(i + batch, len(ds)))))
        yield torch.stack(xs, 1), torch.as_tensor(ys)   # x [T, B, ...]


def fidelity(models, epochs: int = 4, T: int = 8, seed: int = 0) -> list[dict]:
    """Train each model (nk.train, ``epochs``) on digits, compile to ``onnx_int``; returns accuracy rows
    (percent) with ``float_acc`` (eager QAT), ``int_acc`` (integer simulator), ``onnx_acc`` (onnxruntime) and
    ``bit_identical`` (onnxruntime == simulator on the whole test set)."""
    rows = []
    for name in models:
        torch.manual_seed(seed)
        conv = name == "quant_cnn"
        train, test = nk.data.digits(T=T, encoding="rate", seed=seed, flatten=not conv)
        model = _build(name)
        nk.train(model, train, epochs, lr=3e-3, batch_size=32, seed=seed, device="cpu", progress=False)
        model.eval()
        x_ex = next(_batches(train, 32))[0]
        cm = nk.compile(model, target="onnx_int", example_input=x_ex)
        unit = torch.as_tensor(np.asarray(cm.graph.scales[cm.graph.output], np.float64))
        hits = {"float": 0, "int": 0, "onnx": 0}
        same, n, t0 = True, 0, time.time()
        for x, y in _batches(test, 128):
            with torch.no_grad():
                hits["float"] += int((model(x).sum(0).argmax(-1) == y).sum())
            ref = integer_sim.run(cm.graph, x)
            got = cm.run(x).numpy()
            same &= bool(np.array_equal(ref, got))
            hits["int"] += int(((torch.from_numpy(ref.sum(0)) * unit).argmax(-1) == y).sum())
            hits["onnx"] += int(((torch.from_numpy(got.sum(0)) * unit).argmax(-1) == y).sum())
            n += len(y)
        rows.append({"model": name, "epochs": epochs, "test_samples": n, "bit_identical": same,
                     **{f"{k}_acc": round(100.0 * v / n, 2) for k, v in hits.items()},
                     "warnings": cm.graph.warnings, "eval_s": round(time.time() - t0, 1)})
    return rows


def main(argv=None) -> None:
    """CLI: ``python benchmarks/fidelity.py --models quant_snn quant_cnn binary_mlp --epochs 4``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["quant_snn", "quant_cnn", "binary_mlp"])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    for row in fidelity(args.models, args.epochs, seed=args.seed):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
