"""Benchmark a recurrent spiking layer (forward + backward): neurokit vs snnTorch RLeaky vs SpikingJelly.

The layer is 700 -> 256, T=100, B=32 (SHD-shaped), input spikes Bernoulli(``--rate``), all contestants with the same
weights ``W [256, 700]``, ``V [256, 256]`` and recurrent bias, and the same neuron where the peers allow it:

* ``neurokit``: ``nk.layers.Recurrent(700, 256, nk.LIF(tau=1/(1-beta), decay_input=False, v_reset=None,
  reset_after_decay=True, detach_reset=True), recurrent_bias=True)``, ``backend="auto"`` (the fused CPU loop);
* ``snntorch``: ``nn.Linear(700, 256, bias=False)`` + ``snntorch.RLeaky(beta, linear_features=256,
  all_to_all=True)`` (reset by subtraction), stepped in a Python loop as its docs do (same spikes as neurokit);
* ``spikingjelly``: ``nn.Linear(700, 256)`` + ``LinearRecurrentContainer(LIFNode(tau, decay_input=False,
  v_reset=None, detach_reset=True), 256, 256, step_mode="m")`` (its reset is immediate, so spikes differ slightly;
  the work per step is the same).

Each contestant runs a full forward + ``backward()`` of ``spikes.sum()`` into all weights, measured interleaved
(:mod:`benchmarks.harness`: wall clock, min and median over the repeats) with ``torch.set_num_threads(--threads)``
for everyone (the Numba loop is bounded by it too). Ratio = peer time / neurokit time.

Usage::

    python benchmarks/recurrent.py --threads 2 --json benchmarks/results/recurrent.json
    python benchmarks/recurrent.py --quick            # T=10, B=4, 1 repeat (smoke run)
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Recorder, describe, format_table, interleaved, table  # noqa: E402

import neurokit as nk  # noqa: E402


def make_contestants(n_in: int, n: int, beta: float, seed: int):
    """Name -> (module list whose grads are zeroed, function(x) -> spikes [T, B, n])."""
    import snntorch
    from spikingjelly.activation_based import functional as sj_functional
    from spikingjelly.activation_based import layer as sj_layer
    from spikingjelly.activation_based import neuron as sj_neuron
    from spikingjelly.activation_based import surrogate as sj_surrogate

    torch.manual_seed(seed)
    tau = 1.0 / (1.0 - beta)
    ours = nk.layers.Recurrent(n_in, n, nk.LIF(tau=tau, decay_input=False, v_reset=None, reset_after_decay=True,
                                               detach_reset=True), recurrent_bias=True)
    with torch.no_grad():
        ours.weight.mul_(4.0)
    fc = torch.nn.Linear(n_in, n, bias=False)
    cell = snntorch.RLeaky(beta=beta, linear_features=n, all_to_all=True, reset_mechanism="subtract")
    fc_sj = torch.nn.Linear(n_in, n, bias=False)
    container = sj_layer.LinearRecurrentContainer(
        sj_neuron.LIFNode(tau=tau, decay_input=False, v_reset=None, detach_reset=True,
                          surrogate_function=sj_surrogate.ATan(), step_mode="s"), n, n, bias=True, step_mode="m")
    with torch.no_grad():
        fc.weight.copy_(ours.weight)
        cell.recurrent.weight.copy_(ours.recurrent_weight)
        cell.recurrent.bias.copy_(ours.recurrent_bias)
        fc_sj.weight.copy_(ours.weight)
        container.rc.weight.copy_(torch.cat([torch.eye(n), ours.recurrent_weight], 1))
        container.rc.bias.copy_(ours.recurrent_bias)

    def run_snntorch(x):
        spk, mem = cell.init_rleaky()
        out = []
        for t in range(x.shape[0]):
            spk, mem = cell(fc(x[t]), spk, mem)
            out.append(spk)
        return torch.stack(out)

    def run_sj(x):
        sj_functional.reset_net(container)
        return container(fc_sj(x))

    return {"neurokit": ([ours], ours), "snntorch": ([fc, cell], run_snntorch),
            "spikingjelly": ([fc_sj, container], run_sj)}


def steps(contestants, x) -> tuple[dict, dict]:
    """(name -> zero-argument forward + backward step, name -> hidden spike rate of one run)."""
    out, rates = {}, {}
    for name, (modules, fn) in contestants.items():
        def step(modules=modules, fn=fn):
            for m in modules:
                m.zero_grad(set_to_none=True)
            s = fn(x)
            s.sum().backward()
            return s
        out[name] = step
        rates[name] = float(step().detach().mean())
    return out, rates


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--T", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--inputs", type=int, default=700)
    parser.add_argument("--neurons", type=int, default=256)
    parser.add_argument("--rate", type=float, default=0.05, help="input spike probability per step and channel")
    parser.add_argument("--beta", type=float, default=0.9)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=min(2, torch.get_num_threads()))
    parser.add_argument("--quick", action="store_true", help="T=10, B=4, 1 repeat")
    parser.add_argument("--json", default=None)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.quick:
        args.T, args.batch, args.repeats = 10, 4, 1
    torch.set_num_threads(args.threads)
    rec = Recorder("recurrent", f"Recurrent LIF layer {args.inputs} -> {args.neurons}, forward + backward",
                   describe(__doc__), argv, T=args.T, batch=args.batch, rate=args.rate, beta=args.beta)
    x = (torch.rand(args.T, args.batch, args.inputs, generator=torch.Generator().manual_seed(0)) < args.rate).float()
    fns, rates = steps(make_contestants(args.inputs, args.neurons, args.beta, seed=0), x)
    res = interleaved(fns, args.repeats)
    for name, r in res.items():
        r["hidden_spike_rate"] = rates[name]
    title = f"recurrent {args.inputs}->{args.neurons}, T={args.T}, B={args.batch}, input rate {args.rate}"
    rec.add(table(title, {"T": args.T, "B": args.batch, "rate": args.rate}, res, "neurokit"))
    print(format_table(title, res, "neurokit"))
    return rec.write(args.json)


if __name__ == "__main__":
    main()
