"""Benchmark the fused neuron time loop (forward + backward) against the reference loop and the peers.

Contestants, all the same neuron (LIF, tau=2, ``decay_input=False``, hard reset to 0, threshold 1, atan surrogate),
measured in the same run on the same input ``[T, 16, N/16]``:

* ``auto``: neurokit's fused path (Numba on CPU, Triton on CUDA), ``nk.LIF(backend="auto")``;
* ``torch``: neurokit's reference loop, ``nk.LIF(backend="torch")``;
* ``snntorch``: ``snntorch.Leaky(beta=0.5, reset_mechanism="zero")`` stepped in a Python loop (its documented use);
* ``spikingjelly``: SpikingJelly 2.0 ``LIFNode(step_mode="m")``, whose dispatcher picks its fastest implementation for
  the device (CPU: its fused-autograd torch loop; CUDA: its Triton/CUDA kernels).

Reported per (T, N): min and median wall-clock seconds of forward + ``backward()`` over ``--repeats``, the
contestants interleaved within each repeat (CUDA: with synchronisation), every contestant with the same
``torch.set_num_threads(--threads)`` (default 2 or the machine's count; the Numba loop is bounded by it too); ratios
use the minimum; peak memory (CUDA: ``max_memory_allocated`` above
the inputs; CPU: bytes saved for backward, measured with ``saved_tensors_hooks``); effective GB/s counting the
24 B/neuron-step an unfused fp32 forward+backward must move (read x, write s, save h; read grad_s, h, write grad_x);
on CUDA also the percentage of the card's measured copy bandwidth and of its nominal peak.

Usage::

    python benchmarks/time_loop.py --device cpu --T 4 16 64 --neurons 16384 65536 262144 \\
        --json benchmarks/results/time_loop.json
    python benchmarks/time_loop.py --device cuda            # T in {4,16,64,256}, N in {64K, 1M, 4M}
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Recorder, describe, interleaved, table  # noqa: E402

import neurokit as nk  # noqa: E402

BYTES_PER_STEP = 24  # fp32: forward 12 (x, s, h), backward 12 (grad_s, h, grad_x); bf16/fp16 halve it
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
NOMINAL_GBPS = {"H100 SXM": 3350, "H100 PCIe": 2000, "H100": 3350, "H200": 4800, "A100": 2039, "RTX 4090": 1008}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def make_contestants(device):
    """Name -> function(x) returning spikes [T, B, F] with autograd to x."""
    import snntorch
    from spikingjelly.activation_based import neuron as sj_neuron, surrogate as sj_surrogate

    nk_auto = nk.LIF(tau=2.0, decay_input=False, v_reset=0.0, backend="auto")
    nk_ref = nk.LIF(tau=2.0, decay_input=False, v_reset=0.0, backend="torch")
    leaky = snntorch.Leaky(beta=0.5, threshold=1.0, reset_mechanism="zero").to(device)
    sj = sj_neuron.LIFNode(tau=2.0, decay_input=False, v_reset=0.0, v_threshold=1.0,
                           surrogate_function=sj_surrogate.ATan(), step_mode="m").to(device)

    def snn_loop(x):
        mem = leaky.init_leaky()
        out = []
        for t in range(x.shape[0]):
            s, mem = leaky(x[t], mem)
            out.append(s)
        return torch.stack(out)

    def sj_run(x):
        sj.reset()
        return sj(x)

    return {"auto": nk_auto, "torch": nk_ref, "snntorch": snn_loop, "spikingjelly": sj_run}


def _once(fn, x, device):
    def run():
        xi = x.detach().requires_grad_()
        fn(xi).sum().backward()
        _sync(device)
    return run


def memory(fn, x, device):
    """Peak (CUDA) or saved-for-backward (CPU) bytes of one forward + backward."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn(x.detach().requires_grad_()).sum().backward()
        _sync(device)
        mem = torch.cuda.max_memory_allocated() - base
    else:
        saved = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.numel() * t.element_size()) or t,
                                                      lambda t: t):
            fn(x.detach().requires_grad_())
        mem = sum(saved)
    return mem


def copy_bandwidth_gbps(device, nbytes=1 << 30):
    """Measured device-to-device copy bandwidth (read + write), GB/s."""
    a = torch.empty(nbytes // 4, device=device)
    b = torch.empty_like(a)
    b.copy_(a)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(10):
        b.copy_(a)
    _sync(device)
    return 2 * nbytes * 10 / (time.perf_counter() - t0) / 1e9


def nominal_gbps(device):
    name = torch.cuda.get_device_name(device)
    for key in sorted(NOMINAL_GBPS, key=len, reverse=True):
        if key.replace(" ", "").lower() in name.replace(" ", "").lower():
            return NOMINAL_GBPS[key]
    return None


def run(args, argv=None):
    device = torch.device(args.device)
    torch.manual_seed(0)
    contestants = make_contestants(device)
    if args.only:
        contestants = {k: v for k, v in contestants.items() if k in args.only}
    bytes_per_step = BYTES_PER_STEP if args.dtype == "fp32" else BYTES_PER_STEP // 2
    rec = Recorder("time_loop", f"Fused neuron time loop, forward + backward ({device.type}, {args.dtype})",
                   describe(__doc__), argv, device=str(device), bytes_per_neuron_step=bytes_per_step,
                   repeats=args.repeats, dtype=args.dtype)
    if device.type == "cuda":
        rec.meta.update(card=torch.cuda.get_device_name(device), copy_gbps=copy_bandwidth_gbps(device),
                        nominal_gbps=nominal_gbps(device))
    for T in args.T:
        for N in args.neurons:
            x = (torch.randn(T, 16, N // 16, device=device) * 0.8 + 0.6).to(DTYPES[args.dtype])
            times = interleaved({name: _once(fn, x, device) for name, fn in contestants.items()}, args.repeats)
            for name, fn in contestants.items():
                r = times[name]
                r.update(memory_bytes=memory(fn, x, device), effective_gbps=bytes_per_step * T * N / r["min_s"] / 1e9)
                if device.type == "cuda":
                    r["pct_copy_bandwidth"] = 100 * r["effective_gbps"] / rec.meta["copy_gbps"]
                    if rec.meta["nominal_gbps"]:
                        r["pct_nominal_peak"] = 100 * r["effective_gbps"] / rec.meta["nominal_gbps"]
            tbl = rec.add(table(f"T={T}, N={N}", {"T": T, "neurons": N}, times, "auto"))
            print(_format_row(tbl), flush=True)
    return rec.write(args.json)


def _format_row(tbl):
    c = tbl["contestants"]
    auto = c["auto"]["min_s"]
    parts = [f"T={tbl['params']['T']:4d} N={tbl['params']['neurons']:8d}  threads={torch.get_num_threads()} "
             f"min/median  auto {auto * 1e3:8.2f} / {c['auto']['median_s'] * 1e3:.2f} ms"]
    for name, r in c.items():
        if name != "auto":
            parts.append(f"{name} {r['min_s'] * 1e3:8.2f} / {r['median_s'] * 1e3:.2f} ms (x{r['min_s'] / auto:5.1f})")
    parts.append(f"saved/peak auto {c['auto']['memory_bytes'] / 2**20:.1f} MiB")
    if "pct_copy_bandwidth" in c["auto"]:
        parts.append(f"auto at {c['auto']['pct_copy_bandwidth']:.1f}% of the measured copy bandwidth")
    return "  ".join(parts)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--T", type=int, nargs="+", default=None)
    p.add_argument("--neurons", type=int, nargs="+", default=None)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=min(2, torch.get_num_threads()),
                   help="CPU threads for every contestant (torch and the Numba loop)")
    p.add_argument("--only", nargs="+", default=None, help="subset of contestants (auto is always needed)")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="fp32", help="input dtype (bf16/fp16: 12 B/step)")
    p.add_argument("--json", default=None)
    p.add_argument("--quick", action="store_true", help="T in {2, 4}, 64 and 128 neurons, one repeat (smoke run)")
    argv = sys.argv[1:] if argv is None else argv
    args = p.parse_args(argv)
    if args.quick:
        args.T, args.neurons, args.repeats = args.T or [2, 4], args.neurons or [64, 128], 1
    gpu = args.device.startswith("cuda")
    args.T = args.T or ([4, 16, 64, 256] if gpu else [4, 16, 64])
    args.neurons = args.neurons or ([1 << 16, 1 << 20, 1 << 22] if gpu else [1 << 14, 1 << 16])
    if args.only and "auto" not in args.only:
        args.only.append("auto")
    if any(n % 16 for n in args.neurons):
        p.error(f"--neurons must be multiples of 16 (batch 16), got {args.neurons}")
    torch.set_num_threads(args.threads)
    return run(args, argv)


if __name__ == "__main__":
    main()
