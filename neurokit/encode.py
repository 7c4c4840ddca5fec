"""Spike encoders: static or sequential real data -> time-major spike trains ``[T, B, ...]``.

Example::

    >>> x = torch.rand(4, 64)                 # [B, F] intensities in [0, 1]
    >>> nk.encode.rate(x, T=8, seed=0).shape   # Bernoulli spikes
    torch.Size([8, 4, 64])
"""
from __future__ import annotations

import math
from typing import Optional

import torch

__all__ = ["rate", "latency", "delta", "direct"]


def _check_tensor(x, name="x", min_dim=1):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dims, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or Inf values")


def _check_T(T):
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be an int >= 1, got {T!r}")


def rate(x: torch.Tensor, T: int, seed: Optional[int] = None, gain: float = 1.0) -> torch.Tensor:
    """Bernoulli rate code: ``spike[t] ~ Bernoulli(clamp(gain * x, 0, 1))`` independently per step.

    Args:
        x: ``[B, ...]`` intensities, expected in [0, 1] (values outside are clipped after ``gain``).
        T: number of time steps. seed: seeds a private generator (reproducible, global RNG untouched).
    Returns:
        ``[T, B, ...]`` float spikes (0/1) in ``x.dtype``.
    """
    _check_tensor(x)
    _check_T(T)
    if isinstance(gain, bool) or not isinstance(gain, (int, float)) or not (math.isfinite(gain) and gain >= 0):
        raise ValueError(f"gain must be a finite number >= 0 (spike probability gain * x), got {gain!r}")
    p = (x * gain).clamp(0.0, 1.0)
    gen = None
    if seed is not None:
        gen = torch.Generator(device=x.device)
        gen.manual_seed(int(seed))
    u = torch.rand((T, *x.shape), generator=gen, device=x.device, dtype=x.dtype)
    return (u < p.unsqueeze(0)).to(x.dtype)


def latency(x: torch.Tensor, T: int, tau: float = 5.0, threshold: float = 0.1, linear: bool = False) -> torch.Tensor:
    """Time-to-first-spike code: brighter inputs spike earlier; each input spikes at most once.

    Spike time: RC model ``t = tau * ln(x / (x - threshold))`` for ``x > threshold`` (as snnTorch's ``latency``),
    shifted so that ``x = 1`` spikes at step 0, or ``t = (1 - x) * (T - 1)`` with ``linear=True``. Times are rounded and
    clipped to ``[0, T - 1]``; inputs ``<= threshold`` never spike.

    Args: x ``[B, ...]`` in [0, 1]. Returns ``[T, B, ...]`` 0/1 spikes.
    """
    _check_tensor(x)
    _check_T(T)
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold must be in [0, 1), got {threshold}")
    xc = x.clamp(0.0, 1.0)
    fires = xc > threshold
    if linear:
        t = (1.0 - xc) * (T - 1)
    else:
        safe = torch.where(fires, xc, torch.ones_like(xc))
        t = tau * torch.log(safe / (safe - threshold)) - tau * math.log(1.0 / (1.0 - threshold))
    idx = t.round().clamp(0, T - 1).long()
    out = torch.zeros((T, *x.shape), dtype=x.dtype, device=x.device)
    out.scatter_(0, idx.unsqueeze(0), fires.to(x.dtype).unsqueeze(0))
    return out


def delta(x_seq: torch.Tensor, threshold: float = 0.1, off_spikes: bool = False) -> torch.Tensor:
    """Delta (threshold-crossing) code of a sequence: spike when the change since the last step exceeds threshold.

    Args:
        x_seq: ``[T, B, ...]`` real sequence. threshold: > 0.
        off_spikes: if True, negative changes give ``-1`` spikes; otherwise they are dropped.
    Returns:
        ``[T, B, ...]`` spikes; step 0 compares against zero.
    """
    _check_tensor(x_seq, "x_seq", min_dim=2)
    if threshold <= 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    prev = torch.cat([torch.zeros_like(x_seq[:1]), x_seq[:-1]])
    d = x_seq - prev
    on = (d > threshold).to(x_seq.dtype)
    if not off_spikes:
        return on
    return on - (d < -threshold).to(x_seq.dtype)


def direct(x: torch.Tensor, T: int) -> torch.Tensor:
    """Direct (analog) code: the same real input repeated at every step. ``[B, ...]`` -> ``[T, B, ...]``."""
    _check_tensor(x)
    _check_T(T)
    return x.unsqueeze(0).expand(T, *x.shape).contiguous()
