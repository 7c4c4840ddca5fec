"""Benchmark: neurokit's loihi2 simulation vs Lava's bit-accurate simulation of the same network, same run.

Builds a 2-layer CUBA network and a delayed-synapse network with ``nk.compile(target="loihi2")``, exports the
netx file, runs the same input spikes (B samples x T steps) through

* Lava (lava-dl 0.6 netx ``Network`` + ``Loihi2SimCfg(select_tag="fixed_pt")``, subprocess in .venv-lava), and
* :func:`hw_targets.loihi2.simulate` (our vectorized NumPy simulator),

checks that every layer's spikes are identical, and records seconds per sample (min and median):

* ``neurokit_batch``: the whole ``simulate`` call on the B samples at once, divided by B;
* ``neurokit_single``: ``simulate`` on one sample at a time, divided by B;
* ``lava``: ``net.run`` alone per sample (process compile + execution; file loading and Python start-up excluded),
  in Lava's own process (one Python thread), so it is not interleaved with ours.

The neurokit contestants are interleaved (:mod:`benchmarks.harness`), with NumPy on one thread.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loihi_sim.py --json benchmarks/results/loihi_sim.json
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loihi_sim.py --quick    # T=8, B=1, 16 hidden (smoke run)
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import neurokit as nk  # noqa: E402
from harness import Recorder, describe, format_table, interleaved, table  # noqa: E402
from hw_targets.loihi2 import run_lava, simulate  # noqa: E402
from neurokit.layers.delays import DelayedLinear  # noqa: E402
from neurokit.models import round_delays  # noqa: E402


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


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--B", type=int, default=4)
    ap.add_argument("--n-in", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--n-out", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default=None)
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    if args.quick:
        args.T, args.B, args.hidden, args.repeats = 8, 1, 16, 1
    torch.set_num_threads(1)
    rec = Recorder("loihi_sim", "Loihi 2 simulation: neurokit vs Lava (bit-accurate fixed_pt)", describe(__doc__),
                   argv, T=args.T, B=args.B)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("cuba", "delay"):
            x = (torch.rand(args.T, args.B, args.n_in, generator=torch.Generator().manual_seed(1)) < 0.2).float()
            cm = nk.compile(build(kind, args.n_in, args.hidden, args.n_out), target="loihi2", example_input=x)
            path = Path(tmp) / f"{kind}.net"
            cm.save(path)
            net, xs = cm.artefact.net, x.numpy()
            lava = run_lava([(path, xs)])[0]
            ours = simulate(net, xs, record=True)
            same = all(np.array_equal(a, b) for a, b in zip(ours.spikes, lava.spikes))
            res = interleaved({"neurokit_batch": lambda net=net, xs=xs: simulate(net, xs),
                               "neurokit_single": lambda net=net, xs=xs: [simulate(net, xs[:, b:b + 1])
                                                                          for b in range(xs.shape[1])]},
                              args.repeats)
            for r in res.values():
                r["min_s"] /= args.B
                r["median_s"] /= args.B
            runs = [float(v) for v in lava.run_seconds]
            res["lava"] = {"min_s": min(runs), "median_s": statistics.median(runs), "repeats": len(runs),
                           "load_and_run_s": float(np.mean(lava.seconds))}
            res["neurokit_batch"]["spikes_identical_to_lava"] = bool(same)
            title = f"{kind} network {net.sizes}, T={args.T}, per sample"
            rec.add(table(title, {"network": kind, "sizes": str(net.sizes), "T": args.T, "B": args.B,
                                  "spikes identical": bool(same)}, res, "neurokit_batch"))
            print(format_table(title, res, "neurokit_batch"), flush=True)
    return rec.write(args.json)


if __name__ == "__main__":
    main()
