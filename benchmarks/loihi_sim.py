"""Benchmark: neurokit's loihi2 simulation vs Lava's bit-accurate simulation of the same network, same run.

Builds a 2-layer CUBA network and a delayed-synapse network with ``nk.compile(target="loihi2")``, exports the
netx file, runs the same input spikes (B samples x T steps) through

* Lava (lava-dl 0.6 netx ``Network`` + ``Loihi2SimCfg(select_tag="fixed_pt")``, subprocess in .venv-lava), and
* :func:`hw_targets.loihi2.simulate` (our vectorized NumPy simulator),

checks that every layer's spikes are identical, and prints per-sample wall times and the speed-up. Lava time is
``net.run`` alone (process compile + execution; file loading and Python start-up excluded), ours is the whole
``simulate`` call divided by B (it runs the batch at once); both are also given per sample run one at a time.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loihi_sim.py [--T 100] [--B 4] [--hidden 128]
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import neurokit as nk
from compile.compiled import compile_model
from hw_targets.loihi2 import run_lava, simulate
from neurokit.layers.delays import DelayedLinear
from neurokit.models import round_delays


def build(kind: str, n_in: int, hidden: int, n_out: int) -> nn.Module:
    """The benchmarked model: ``cuba`` (Linear + CubaLIF x 2) or ``delay`` (DelayedLinear + LIF x 2, rounded)."""
    torch.manual_seed(0)
    if kind == "cuba":
        return nn.Sequential(nn.Linear(n_in, hidden, bias=False), nk.CubaLIF(tau_syn=4.0, tau_mem=8.0, v_threshold=0.5),
                             nn.Linear(hidden, n_out, bias=False),
                             nk.CubaLIF(tau_syn=2.0, tau_mem=4.0, v_threshold=0.3))
    g = torch.Generator().manual_seed(0)
    return round_delays(nn.Sequential(DelayedLinear(n_in, hidden, max_delay=20, generator=g),
                                      nk.LIF(tau=4.0, decay_input=False, v_threshold=0.4),
                                      DelayedLinear(hidden, n_out, max_delay=20, generator=g),
                                      nk.LIF(tau=2.0, decay_input=False, v_threshold=0.3)))


def best_of(fn, repeat: int = 5) -> float:
    """Minimum wall time of ``fn()`` over ``repeat`` calls (seconds)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--B", type=int, default=4)
    ap.add_argument("--n-in", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--n-out", type=int, default=10)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("cuba", "delay"):
            x = (torch.rand(args.T, args.B, args.n_in, generator=torch.Generator().manual_seed(1)) < 0.2).float()
            cm = compile_model(build(kind, args.n_in, args.hidden, args.n_out), target="loihi2", example_input=x)
            path = Path(tmp) / f"{kind}.net"
            cm.save(path)
            net, xs = cm.artefact.net, x.numpy()
            lava = run_lava([(path, xs)])[0]
            ours = simulate(net, xs, record=True)
            same = all(np.array_equal(a, b) for a, b in zip(ours.spikes, lava.spikes))
            batch = best_of(lambda net=net, xs=xs: simulate(net, xs)) / args.B
            single = best_of(lambda net=net, xs=xs: [simulate(net, xs[:, b:b + 1]) for b in range(args.B)]) / args.B
            lava_run = float(np.mean(lava.run_seconds))
            rows.append((kind, net.sizes, same, lava_run, float(np.mean(lava.seconds)), single, batch))
    print(f"# loihi2 simulation vs Lava fixed_pt, T={args.T}, B={args.B} ({platform.processor() or platform.machine()},"
          f" torch {torch.__version__}, numpy {np.__version__})")
    print("| network | sizes | spikes identical | Lava net.run s/sample | Lava load+run s/sample | "
          "ours s/sample (one at a time) | ours s/sample (batch) | speed-up (one at a time) | speed-up (batch) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, sizes, same, lr, lt, single, batch in rows:
        print(f"| {kind} | {sizes} | {same} | {lr:.3f} | {lt:.3f} | {single * 1e3:.2f} ms | {batch * 1e3:.2f} ms | "
              f"{lr / single:.0f}x | {lr / batch:.0f}x |")


if __name__ == "__main__":
    main()
