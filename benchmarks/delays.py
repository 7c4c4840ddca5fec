"""Delay learning and integer-delay inference: `DelayedLinear` vs the DCLS package and the dense formulation (CPU).

Shape: ``DelayedLinear(700, 256, max_delay=25)`` on input spikes Bernoulli(``--rate``) of shape ``[T=100, B=32,
700]``, forward + ``backward()`` into weights and positions. Contestants, measured interleaved at each epoch's sigma
of an annealing run (`sigma_schedule`: sigma from 12.5 to 0.5 over the first quarter of ``--epochs``; the figure is
the mean over epochs of the per-step minimum):

* ``neurokit``: `DelayedLinear` (the cheapest of its paths, `DelayedLinear.path`: here every tap for the
  non-zero inputs only, ``"taps"``; the exact result at every sigma);
* ``dense``: the same layer's `tap_kernel()` through the causal ``conv1d`` (every tap of every input: the
  formulation before);
* ``dcls``: ``DCLS.construct.modules.Dcls1d(700, 256, kernel_count=1, dilated_kernel_size=26, version="gauss")``
  on the left-padded ``[B, 700, T + 25]`` input, ``SIG`` set to sigma, as the SNN-delays recipe uses it.

Then integer-delay inference after ``round_delays()`` (``torch.no_grad``): ``neurokit`` (one tap per synapse,
shift-and-accumulate) vs ``dense`` (the rounded one-hot kernel through ``conv1d``, the path before).

Usage: ``python benchmarks/delays.py --threads 2 --epochs 20 --json benchmarks/results/delays.json``;
``--quick`` is a smoke run.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Recorder, describe, format_table, interleaved, table  # noqa: E402

from neurokit.layers import DelayedLinear, sigma_schedule  # noqa: E402
from neurokit.layers.delays import _causal_delay_conv  # noqa: E402


def _dcls(n_in, n_out, max_delay, layer):
    from DCLS.construct.modules import Dcls1d

    m = Dcls1d(n_in, n_out, kernel_count=1, groups=1, dilated_kernel_size=max_delay + 1, bias=False,
               version="gauss")
    with torch.no_grad():
        m.weight.copy_(layer.weight.unsqueeze(-1))
        m.SIG.requires_grad_(False)
    return m


def learning_steps(x, n_out, max_delay, have_dcls):
    torch.manual_seed(0)
    nk_layer = DelayedLinear(x.shape[2], n_out, max_delay)
    dense = DelayedLinear(x.shape[2], n_out, max_delay, support_sigmas=None)
    dense.load_state_dict(nk_layer.state_dict())
    layers = {"neurokit": nk_layer, "dense": dense}
    x_pad = torch.nn.functional.pad(x.permute(1, 2, 0), (max_delay, 0))
    dcls = _dcls(x.shape[2], n_out, max_delay, nk_layer) if have_dcls else None

    def step(layer):
        def run():
            layer.zero_grad()
            layer(x).sum().backward()
        return run

    def dense_step():     # the dense formulation: every tap of every input through the causal conv1d
        dense.zero_grad()
        _causal_delay_conv(x, dense.tap_kernel(), dense.bias).sum().backward()

    def dcls_step():
        dcls.zero_grad()
        dcls(x_pad).sum().backward()

    def set_sigma(sigma):
        for layer in layers.values():
            layer.set_sigma(sigma)
        if dcls is not None:
            with torch.no_grad():
                dcls.SIG.fill_(sigma)

    steps = {"neurokit": step(nk_layer), "dense": dense_step}
    if dcls is not None:
        steps["dcls"] = dcls_step
    return steps, set_sigma, nk_layer


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--T", type=int, default=100)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rate", type=float, default=0.05)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--threads", type=int, default=min(2, torch.get_num_threads()))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", default=None)
    argv = sys.argv[1:] if argv is None else argv
    args = p.parse_args(argv)
    n_in, n_out, max_delay = (700, 256, 25) if not args.quick else (20, 8, 5)
    if args.quick:
        args.T, args.batch, args.epochs, args.repeats = 12, 2, 4, 1
    torch.set_num_threads(args.threads)
    try:
        import DCLS  # noqa: F401
        have_dcls = True
    except ImportError:
        have_dcls = False
        print("DCLS is not installed (pip install dcls): comparing against the dense formulation only")
    rec = Recorder("delays", f"Delay learning and integer-delay inference, DelayedLinear({n_in}, {n_out}, "
                   f"max_delay={max_delay})", describe(__doc__), argv, T=args.T, batch=args.batch,
                   rate=args.rate, shape=[n_in, n_out, max_delay], epochs=args.epochs, dcls=have_dcls)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(args.T, args.batch, n_in, generator=g) < args.rate).float()
    steps, set_sigma, layer = learning_steps(x, n_out, max_delay, have_dcls)
    sigmas = [sigma_schedule(e, args.epochs, max_delay / 2) for e in range(args.epochs)]
    per_sigma = {}
    for sigma in sorted(set(sigmas), reverse=True):
        set_sigma(sigma)
        per_sigma[sigma] = interleaved(steps, args.repeats)
        rec.add(table(f"learning step, sigma={sigma:.3f}", {"phase": "learning step", "sigma": round(sigma, 3),
                                                          "neurokit path": layer.path(x)},
                      per_sigma[sigma], "neurokit"))
        print(format_table(f"delay learning step, sigma={sigma:.3f}", per_sigma[sigma], "neurokit"), flush=True)
    mean = {n: {key: sum(per_sigma[s][n][key] for s in sigmas) / len(sigmas) for key in ("min_s", "median_s")}
            for n in steps}
    rec.add(table(f"mean over the {args.epochs} epochs of an annealing run",
                  {"phase": f"annealing mean ({args.epochs} epochs)", "sigma": "schedule", "neurokit path": "-"},
                  mean, "neurokit"))
    print(format_table(f"mean over the {args.epochs} epochs of an annealing run", mean, "neurokit"))
    layer.round_()
    kernel = layer.tap_kernel().detach()
    with torch.no_grad():
        infer = interleaved({"neurokit": lambda: layer(x), "dense": lambda: _causal_delay_conv(x, kernel, None)},
                            max(args.repeats, 3))
    rec.add(table("integer-delay inference after round_delays()", {"phase": "inference (rounded)", "sigma": "-",
                                                                   "neurokit path": layer.path(x)}, infer, "neurokit"))
    print(format_table("integer-delay inference after round_delays()", infer, "neurokit"))
    return rec.write(args.json)


if __name__ == "__main__":
    main()
