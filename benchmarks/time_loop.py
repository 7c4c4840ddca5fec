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

    python benchmarks/time_loop.py --device cpu --T 4 16 64 --neurons 16384 65536 --json benchmarks/time_loop_cpu.json
    python benchmarks/time_loop.py --device cuda            # T in {4,16,64,256}, N in {64K, 1M, 4M}
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import interleaved  # noqa: E402

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


def run(args):
    device = torch.device(args.device)
    torch.manual_seed(0)
    contestants = make_contestants(device)
    if args.only:
        contestants = {k: v for k, v in contestants.items() if k in args.only}
    rows = []
    bytes_per_step = BYTES_PER_STEP if args.dtype == "fp32" else BYTES_PER_STEP // 2
    for T in args.T:
        for N in args.neurons:
            x = (torch.randn(T, 16, N // 16, device=device) * 0.8 + 0.6).to(DTYPES[args.dtype])
            row = {"T": T, "neurons": N}
            times = interleaved({name: _once(fn, x, device) for name, fn in contestants.items()}, args.repeats)
            for name, fn in contestants.items():
                sec = times[name]["min_s"]
                row[name] = {"seconds": sec, "median_seconds": times[name]["median_s"],
                             "memory_bytes": memory(fn, x, device),
                             "effective_gbps": bytes_per_step * T * N / sec / 1e9}
            rows.append(row)
            print(_format_row(row, contestants), flush=True)
    meta = {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "bytes_per_neuron_step": bytes_per_step, "repeats": args.repeats,
            "dtype": args.dtype}
    if device.type == "cuda":
        meta.update(card=torch.cuda.get_device_name(device), copy_gbps=copy_bandwidth_gbps(device),
                    nominal_gbps=nominal_gbps(device))
        for row in rows:
            gbps = row["auto"]["effective_gbps"]
            row["auto"]["pct_copy_bandwidth"] = 100 * gbps / meta["copy_gbps"]
            if meta["nominal_gbps"]:
                row["auto"]["pct_nominal_peak"] = 100 * gbps / meta["nominal_gbps"]
            print(f"T={row['T']:4d} N={row['neurons']:8d}  auto reaches {row['auto']['pct_copy_bandwidth']:.1f}% of "
                  f"measured copy bandwidth ({meta['copy_gbps']:.0f} GB/s)"
                  + (f", {row['auto']['pct_nominal_peak']:.1f}% of nominal peak" if meta["nominal_gbps"] else ""))
    result = {"meta": meta, "rows": rows}
    if args.json:
        _write_json_atomic(args.json, result)
    return result


def _format_row(row, contestants):
    auto = row["auto"]["seconds"]
    parts = [f"T={row['T']:4d} N={row['neurons']:8d}  threads={torch.get_num_threads()} min/median  "
             f"auto {auto * 1e3:8.2f} / {row['auto']['median_seconds'] * 1e3:.2f} ms"]
    for name in contestants:
        if name != "auto":
            r = row[name]["seconds"] / auto
            parts.append(f"{name} {row[name]['seconds'] * 1e3:8.2f} / {row[name]['median_seconds'] * 1e3:.2f} ms "
                         f"(x{r:5.1f})")
    parts.append(f"saved/peak auto {row['auto']['memory_bytes'] / 2**20:.1f} MiB")
    return "  ".join(parts)


def _write_json_atomic(path, obj):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


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
    args = p.parse_args(argv)
    gpu = args.device.startswith("cuda")
    args.T = args.T or ([4, 16, 64, 256] if gpu else [4, 16, 64])
    args.neurons = args.neurons or ([1 << 16, 1 << 20, 1 << 22] if gpu else [1 << 14, 1 << 16])
    if args.only and "auto" not in args.only:
        args.only.append("auto")
    if any(n % 16 for n in args.neurons):
        p.error(f"--neurons must be multiples of 16 (batch 16), got {args.neurons}")
    torch.set_num_threads(args.threads)
    run(args)


if __name__ == "__main__":
    main()
