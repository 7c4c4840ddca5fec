"""Measure the onnx_int time loop: ONNX ``Loop`` vs an unrolled graph (file size, session start, run time).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/onnx_time_loop.py --T 8 32 --repeats 20

Prints one JSON line per (model, T, time_loop). Timings are wall-clock on this machine's CPU (onnxruntime,
one thread); they are reported, never asserted.
"""
from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn

import neurokit as nk
from neurokit.models import quant_cnn


def models(T: int):
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(64, 128), nk.LIF(), nn.Linear(128, 10), nk.LIF())
    yield "mlp_64_128_10", mlp, (torch.rand(T, 16, 64) < 0.3).float()
    yield "quant_cnn_8x8", quant_cnn(), (torch.rand(T, 16, 1, 8, 8) < 0.3).float()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="ONNX Loop vs unrolled time loop")
    p.add_argument("--T", type=int, nargs="+", default=[8, 32])
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    for T in args.T:
        for name, model, x in models(T):
            outs = {}
            for loop in ("loop", "unrolled"):
                t0 = time.perf_counter()
                cm = nk.compile(model, target="onnx_int", example_input=x, time_loop=loop)
                build = time.perf_counter() - t0
                cm.run(x)
                t0 = time.perf_counter()
                for _ in range(args.repeats):
                    outs[loop] = cm.run(x)
                run_ms = (time.perf_counter() - t0) / args.repeats * 1e3
                print(json.dumps({"model": name, "T": T, "B": x.shape[1], "time_loop": loop,
                                  "onnx_bytes": cm.artefact.model.ByteSize(),
                                  "nodes": sum(cm.report()["onnx_ops"].values()),
                                  "compile_s": round(build, 3), "run_ms": round(run_ms, 3)}))
            assert torch.equal(outs["loop"], outs["unrolled"])


if __name__ == "__main__":
    main()
