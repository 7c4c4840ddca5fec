"""Synaptic-operation counting on tensors (NeuroBench's rule, loihi_nir.md §5.2), used by the counting hooks.

Every function takes inputs as ``[S, B, ...]`` (S steps) and returns per-step float64 tensors ``[S]`` summed over
the batch: effective ops (non-zero input x non-zero weight), dense ops (every in-bounds connection) and the paper
FLOPs (``out_numel x fan_in``), plus the output size.

Example::

    >>> eff, dense, flops, out = synapse_ops(nn.Linear(3, 2), torch.ones(1, 1, 3), None)
    >>> eff.tolist(), dense.tolist()
    ([6.0], [6.0])
"""
from __future__ import annotations


import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CONVS", "is_spiking", "spiking_steps", "rate_operand", "synapse_ops", "delayed_ops", "product_ops"]


def is_spiking(x: torch.Tensor) -> bool:
    """True iff every element is in {-1, 0, 1} (NeuroBench's spike test). Example: ``is_spiking(torch.ones(3))``."""
    return bool(((x == 0) | (x == 1) | (x == -1)).all())


CONVS = {nn.Conv1d: F.conv1d, nn.Conv2d: F.conv2d, nn.Conv3d: F.conv3d}


def spiking_steps(xs: torch.Tensor) -> torch.Tensor:
    """Bool ``[S]``: :func:`is_spiking` of each step of ``xs [S, ...]``.

    Example: ``spiking_steps(torch.tensor([[0., 1.], [0.5, 0.]])).tolist() == [True, False]``.
    """
    return torch.tensor([is_spiking(xs[s]) for s in range(xs.shape[0])])


def rate_operand(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-step flag: either operand is spikes, the operand whose rate the paper convention uses): the sparser
    spiking operand, ``a`` when neither is spikes. Example: ``rate_operand(q, kv)[1] is q`` for spike ``q``.
    """
    sa, sb = spiking_steps(a), spiking_steps(b)
    ra, rb = float((a != 0).float().mean()), float((b != 0).float().mean())
    b_wins = bool(sb.all()) and not (bool(sa.all()) and ra <= rb)
    return sa | sb, (b if b_wins else a)


def synapse_ops(layer: nn.Module, xs: torch.Tensor, rank: int | None):
    """Per-step ``(effective, dense, flops, out_numel)`` of a Linear (``rank=None``) or ConvNd (``rank`` = N + 1)
    layer on ``xs [S, B, ...]``. Example in the module docstring.
    """
    S = xs.shape[0]
    flat = xs.reshape(S * xs.shape[1], *xs.shape[2:]).to(torch.float64)
    w = layer.weight.detach().to(torch.float64)
    xb, wb = (flat != 0).to(torch.float64), (w != 0).to(torch.float64)
    ones_x, ones_w = torch.ones_like(flat), torch.ones_like(w)
    if rank is None:
        fn = F.linear
        fan_in = layer.in_features
    else:
        conv = CONVS[next(c for c in CONVS if isinstance(layer, c))]
        pad = layer.padding
        if layer.padding_mode != "zeros":
            # non-zero padding modes pad the (binarised) input itself, as the layer does
            # torch's own padding amounts for these modes (also for padding='same'); it has no public accessor
            xb = F.pad(xb, layer._reversed_padding_repeated_twice, mode=layer.padding_mode)  # noqa: SLF001
            ones_x = torch.ones_like(xb)
            pad = 0
        fn = lambda a, k: conv(a, k, None, layer.stride, pad, layer.dilation, layer.groups)
        fan_in = (layer.in_channels // layer.groups) * int(np.prod(layer.kernel_size))
    eff = fn(xb, wb)
    dense = fn(ones_x, ones_w)
    per = lambda y: y.reshape(S, -1).sum(1)
    out_numel = torch.full((S,), eff[0].numel() * xs.shape[1], dtype=torch.float64)
    return per(eff), per(dense), out_numel * fan_in, out_numel


def delayed_ops(layer: nn.Module, xs: torch.Tensor):
    """Per-step ``(effective, dense, flops, out_numel)`` of a ``DelayedLinear`` on ``xs [T, B, in]``: synapse
    ``(o, j)`` with delay ``d`` reads ``x[t - d, j]`` (nothing before t = d). Example: see
    tests/hw_targets/energy/test_energy_counts.py.
    """
    taps = layer.tap_kernel().detach().to(torch.float64)                   # [out, in, D+1]
    if layer.is_rounded:
        dense_taps = F.one_hot(layer.delay, layer.max_delay + 1).to(torch.float64)
    else:
        dense_taps = torch.ones_like(taps)

    def run(x, k):                                                          # causal delayed sum, [T, B, out]
        xb = F.pad(x.permute(1, 2, 0), (k.shape[-1] - 1, 0))
        return F.conv1d(xb, k.flip(-1)).permute(2, 0, 1)

    x64 = xs.to(torch.float64)
    eff = run((x64 != 0).to(torch.float64), (taps != 0).to(torch.float64)).sum((1, 2))
    dense = run(torch.ones_like(x64), dense_taps).sum((1, 2))
    out_numel = torch.full((xs.shape[0],), float(xs.shape[1] * layer.out_features), dtype=torch.float64)
    return eff, dense, out_numel * layer.in_features, out_numel


def product_ops(module: nn.Module, a: torch.Tensor, b: torch.Tensor):
    """Per-step ``(effective, dense, flops, out_numel)`` of SpikeMatMul (``a @ b``: effective = sum over k of
    nnz(a[:, k]) x nnz(b[k, :])) or SpikeMask (``a * b``: effective = non-zero products); ``a``, ``b [S, B, ...]``.

    Example: ``product_ops(SpikeMatMul(), torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2))[0].tolist() == [8.0]``.
    """
    S = a.shape[0]
    ab, bb = (a != 0).to(torch.float64), (b != 0).to(torch.float64)
    if module.__class__.__name__ == "SpikeMatMul":
        eff = (ab @ bb).reshape(S, -1).sum(1)
        dense_t = torch.ones_like(ab) @ torch.ones_like(bb)
    else:
        eff = (ab * bb).reshape(S, -1).sum(1)
        dense_t = torch.ones_like(ab) * torch.ones_like(bb)
    dense = dense_t.reshape(S, -1).sum(1)
    return eff, dense, dense.clone(), torch.full((S,), float(dense_t[0].numel()), dtype=torch.float64)
