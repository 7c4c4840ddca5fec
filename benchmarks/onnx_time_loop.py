"""Integer-only ONNX inference (``onnx_int``) vs the eager float model, and the ONNX ``Loop`` vs an unrolled graph.

Two models (a 64-128-10 LIF MLP and the ``quant_cnn`` preset on 8x8 inputs), input spikes Bernoulli(0.3) of shape
``[T, 16, ...]``. Contestants, measured interleaved (:mod:`benchmarks.harness`), all on one thread (onnxruntime's
session in ``hw_targets/onnx_int.py`` runs one intra-op thread, so torch gets ``set_num_threads(1)`` too):

* ``onnx_loop``: ``nk.compile(model, target="onnx_int", time_loop="loop")`` then ``run(x)`` (one ONNX ``Loop``
  over time);
* ``onnx_unrolled``: the same with ``time_loop="unrolled"`` (one copy of the step per time step);
* ``eager``: the float PyTorch model under ``torch.no_grad()`` (the model the integer graph was compiled from).

Per contestant also the ONNX file size, node count and compile seconds. The two ONNX forms must give identical
outputs (checked on every run).

Usage::

    python benchmarks/onnx_time_loop.py --T 8 32 --repeats 20 --json benchmarks/results/onnx_int.json
    python benchmarks/onnx_time_loop.py --quick       # T=4, 1 repeat (smoke run)
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Recorder, describe, format_table, interleaved, table  # noqa: E402

import neurokit as nk  # noqa: E402
from neurokit.models import quant_cnn  # noqa: E402


def models(T: int):
    """(name, model, input [T, 16, ...]) for the two benchmarked models."""
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(64, 128), nk.LIF(), nn.Linear(128, 10), nk.LIF())
    yield "mlp_64_128_10", mlp, (torch.rand(T, 16, 64) < 0.3).float()
    yield "quant_cnn_8x8", quant_cnn(), (torch.rand(T, 16, 1, 8, 8) < 0.3).float()


def contestants(model, x) -> tuple[dict, dict]:
    """(name -> zero-argument inference call, name -> extra figures: onnx_bytes, nodes, compile_s)."""
    model.eval()
    calls, extra, outs = {}, {}, {}
    for loop in ("loop", "unrolled"):
        t0 = time.perf_counter()
        cm = nk.compile(model, target="onnx_int", example_input=x, time_loop=loop)
        build = time.perf_counter() - t0
        outs[loop] = cm.run(x)
        calls[f"onnx_{loop}"] = lambda cm=cm: cm.run(x)
        extra[f"onnx_{loop}"] = {"onnx_bytes": cm.artefact.model.ByteSize(),
                                 "nodes": sum(cm.report()["onnx_ops"].values()), "compile_s": round(build, 3)}
    if not torch.equal(outs["loop"], outs["unrolled"]):
        raise RuntimeError("onnx_int: the Loop and the unrolled graph gave different outputs")

    def eager():
        with torch.no_grad():
            return model(x)
    calls["eager"] = eager
    return calls, extra


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--T", type=int, nargs="+", default=[8, 32])
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", default=None)
    argv = sys.argv[1:] if argv is None else argv
    args = p.parse_args(argv)
    if args.quick:
        args.T, args.repeats = [4], 1
    torch.set_num_threads(1)
    rec = Recorder("onnx_int", "Integer-only ONNX inference vs eager float", describe(__doc__), argv,
                   source="benchmarks/onnx_time_loop.py")
    for T in args.T:
        for name, model, x in models(T):
            calls, extra = contestants(model, x)
            res = interleaved(calls, args.repeats)
            for k, v in extra.items():
                res[k].update(v)
            title = f"{name}, T={T}, B={x.shape[1]}"
            rec.add(table(title, {"model": name, "T": T, "B": x.shape[1]}, res, "onnx_loop"))
            print(format_table(title, res, "onnx_loop"), flush=True)
    return rec.write(args.json)


if __name__ == "__main__":
    main()
