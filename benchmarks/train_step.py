"""End-to-end training step of an SHD-shaped spiking MLP: neurokit vs snnTorch vs SpikingJelly (CPU).

700-256-256-20, LIF (tau=2, ``decay_input=False``, hard reset to 0, threshold 1, atan surrogate), T=100, B=32,
input spikes Bernoulli(``--rate``, default 0.05), cross-entropy on the summed output spikes, Adam step. All of them
use the same weights and the same number of threads; measured interleaved (:mod:`benchmarks.harness`).

* ``neurokit``: ``nk.layers.SparseInputLinear`` as the first layer (forward and weight gradient by gathering the
  weights of the non-zero input spikes), ``nn.Linear`` after it, ``nk.LIF(backend="auto")`` (fused Numba time loop,
  parallel over neurons);
* ``neurokit_dense_in``: the same with a plain ``nn.Linear`` first layer (what the gathering saves);
* ``snntorch``: ``nn.Linear`` + ``snntorch.Leaky(beta=0.5, reset_mechanism="zero")`` stepped in a Python loop;
* ``spikingjelly``: ``layer.Linear`` + ``LIFNode(step_mode="m")`` (multi-step).

Usage::

    python benchmarks/train_step.py --threads 2 --repeats 7 --json benchmarks/results/train_step.json
    python benchmarks/train_step.py --quick          # T=4, B=2 (smoke run)
"""
from __future__ import annotations

import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Recorder, describe, format_table, interleaved, table  # noqa: E402

import neurokit as nk  # noqa: E402

SIZES = (700, 256, 256, 20)


def _linears(seed, sparse_first=False):
    torch.manual_seed(seed)
    layers = [nn.Linear(a, b) for a, b in zip(SIZES[:-1], SIZES[1:])]
    if sparse_first:
        first = nk.layers.SparseInputLinear(SIZES[0], SIZES[1])
        first.load_state_dict(layers[0].state_dict())
        layers[0] = first
    return layers


def _time_major(layers, neurons):
    """Apply Linear to [T, B, F] and a multi-step neuron after each layer."""
    def run(x):
        for lin, neuron in zip(layers, neurons):
            x = neuron(lin(x))
        return x
    return run


def make_contestants(seed=0):
    import snntorch
    from spikingjelly.activation_based import functional as sjf
    from spikingjelly.activation_based import neuron as sjn
    from spikingjelly.activation_based import surrogate as sjs

    out = {}
    for name, sparse_first in (("neurokit", True), ("neurokit_dense_in", False)):
        nk_layers = _linears(seed, sparse_first)
        nk_neurons = [nk.LIF(tau=2.0, decay_input=False, v_reset=0.0, backend="auto") for _ in nk_layers]
        out[name] = (nn.ModuleList(nk_layers), _time_major(nk_layers, nk_neurons))

    sn_layers = _linears(seed)
    leaky = [snntorch.Leaky(beta=0.5, threshold=1.0, reset_mechanism="zero") for _ in sn_layers]

    def snn_run(x):
        mems = [lk.init_leaky() for lk in leaky]
        outs = []
        for t in range(x.shape[0]):
            h = x[t]
            for i, (lin, lk) in enumerate(zip(sn_layers, leaky)):
                h, mems[i] = lk(lin(h), mems[i])
            outs.append(h)
        return torch.stack(outs)
    out["snntorch"] = (nn.ModuleList(sn_layers), snn_run)

    sj_layers = _linears(seed)
    sj_neurons = [sjn.LIFNode(tau=2.0, decay_input=False, v_reset=0.0, v_threshold=1.0,
                              surrogate_function=sjs.ATan(), step_mode="m") for _ in sj_layers]
    sj_inner = _time_major(sj_layers, sj_neurons)

    def sj_run(x):
        for n in sj_neurons:
            sjf.reset_net(n)
        return sj_inner(x)
    out["spikingjelly"] = (nn.ModuleList(sj_layers), sj_run)
    return out


def train_steps(T, B, rate, seed=0):
    """Name -> zero-argument callable doing one forward + backward + Adam step on a fixed batch."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(T, B, SIZES[0], generator=g) < rate).float()
    y = torch.randint(0, SIZES[-1], (B,), generator=g)
    steps = {}
    for name, (params, fn) in make_contestants(seed).items():
        opt = torch.optim.Adam(params.parameters(), 1e-3)

        def step(fn=fn, opt=opt):
            loss = nn.functional.cross_entropy(fn(x).sum(0), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        steps[name] = step
    return steps


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--T", type=int, default=100)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rate", type=float, default=0.05)
    p.add_argument("--threads", type=int, default=min(2, torch.get_num_threads()))
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", default=None)
    argv = sys.argv[1:] if argv is None else argv
    args = p.parse_args(argv)
    if args.quick:
        args.T, args.batch, args.repeats = 4, 2, 1
    torch.set_num_threads(args.threads)
    title = f"SHD MLP training step {'-'.join(map(str, SIZES))}, T={args.T}, B={args.batch}, rate={args.rate}"
    rec = Recorder("train_step", "End-to-end training step of an SHD-shaped spiking MLP", describe(__doc__),
                   argv, T=args.T, batch=args.batch, rate=args.rate)
    res = interleaved(train_steps(args.T, args.batch, args.rate), args.repeats)
    rec.add(table(title, {"T": args.T, "B": args.batch, "rate": args.rate}, res, "neurokit"))
    print(format_table(title, res, "neurokit"))
    return rec.write(args.json)


if __name__ == "__main__":
    main()
