"""Event-driven causal tap convolution for sparse input (Numba, CPU), with autograd: every tap, only the events.

With a dense per-tap kernel ``K[j, k, o]`` (the weight applied to ``x[t - k, b, j]``; for delay learning
``K[j, k, o] = W[o, j] * g[o, j, k]`` with the Gaussian taps ``g``, built by `gaussian_taps`)::

    out[t, b, o] = sum_k sum_j K[j, k, o] * x[t - k, b, j]                 (x[t'] = 0 for t' < 0)

Each non-zero input ``x[t, b, j]`` adds the contiguous rows ``K[j, k, :]`` into ``out[t + k, b, :]`` for every tap
``k``: a density ``rho`` costs ``rho * T * B * in * K * out`` multiply-adds, as vector adds over ``out`` (the
scatter of per-synapse delays, :mod:`neurokit.kernels.delay_shift`, cannot vectorize). The result is the dense
causal convolution's, to fp32 rounding, at every sigma (no taps are dropped). The kernel gradient visits the same
events (``gK[j, k, :] += x[t, b, j] * g[t + k, b, :]``); the input gradient, needed only when ``x`` requires grad,
is the dense anti-causal ``conv1d`` of ``g``. The kernel is input-major ``[in, K, out]``, so the taps one event
touches are one contiguous block. `gaussian_taps` builds that kernel from the weights and positions in one fused
pass (softmax over the taps, as `neurokit.layers.delays.gaussian_delay_taps`), with the analytic gradient
``dW = sum_k dK_k g_k`` and ``dp = W sum_k dK_k g_k (a_k - sum_m g_m a_m)``, ``a_k = (k - p) / sigma^2``.
Forward parallel over the batch, kernel gradient over the inputs (events grouped by input); each
element is summed in a fixed order, so the result does not depend on the thread count.

Example::

    >>> x = torch.zeros(4, 1, 1); x[0, 0, 0] = 1.0
    >>> tap_accumulate(x, torch.tensor([[[1.0], [0.5]]]))[:, 0, 0]
    tensor([1.0000, 0.5000, 0.0000, 0.0000])
"""
from __future__ import annotations

import numba
import numpy as np
import torch
import torch.nn.functional as F

from .cpu import set_threads
from .sparse_linear import _gather_indices

__all__ = ["tap_accumulate", "gaussian_taps"]


@numba.njit(nogil=True, parallel=True)
def _forward(x, kj, out):
    B, T, J = x.shape
    _, K, n_out = kj.shape
    for b in numba.prange(B):
        for j in range(J):              # input-major: one input's taps (a contiguous block) serve all its events
            for t in range(T):
                xv = x[b, t, j]
                if xv != 0:
                    for k in range(min(K, T - t)):
                        for o in range(n_out):
                            out[b, t + k, o] += xv * kj[j, k, o]


@numba.njit(nogil=True)
def _by_column(idx, counts, n_in):
    """The events grouped by input column: rows ``rows[start[j]:start[j + 1]]`` (increasing) hold column ``j``."""
    start = np.zeros(n_in + 1, np.int64)
    for r in range(counts.shape[0]):
        for n in range(counts[r]):
            start[idx[r, n] + 1] += 1
    for j in range(n_in):
        start[j + 1] += start[j]
    fill = start[:-1].copy()
    rows = np.empty(start[n_in], np.int64)
    for r in range(counts.shape[0]):
        for n in range(counts[r]):
            j = idx[r, n]
            rows[fill[j]] = r
            fill[j] += 1
    return start, rows


@numba.njit(nogil=True, parallel=True)
def _grad_kernel(x, start, rows, g, gk):
    B, T, J = x.shape
    _, K, n_out = gk.shape
    for j in numba.prange(J):
        for e in range(start[j], start[j + 1]):
            r = rows[e]
            b, t = r // T, r % T
            xv = x[b, t, j]
            for k in range(min(K, T - t)):
                for o in range(n_out):
                    gk[j, k, o] += xv * g[b, t + k, o]


@numba.njit(nogil=True, inline="always")
def _softmax_taps(pv, inv_s2, g):
    K = g.shape[0]
    top = np.float32(-np.inf)
    for k in range(K):
        d = np.float32(k) - pv
        g[k] = np.float32(-0.5) * d * d * inv_s2
        top = max(top, g[k])
    tot = np.float32(0.0)
    for k in range(K):
        g[k] = np.exp(g[k] - top)
        tot += g[k]
    for k in range(K):
        g[k] /= tot


@numba.njit(nogil=True, parallel=True)
def _gauss_forward(w, p, inv_s2, kj):
    n_out, J = w.shape
    K = kj.shape[1]
    for j in numba.prange(J):
        g = np.empty(K, np.float32)
        for o in range(n_out):
            _softmax_taps(p[o, j], inv_s2, g)
            for k in range(K):
                kj[j, k, o] = w[o, j] * g[k]


@numba.njit(nogil=True, parallel=True)
def _gauss_backward(w, p, inv_s2, gk, gw, gp):
    n_out, J = w.shape
    K = gk.shape[1]
    for j in numba.prange(J):
        g = np.empty(K, np.float32)
        for o in range(n_out):
            pv = p[o, j]
            _softmax_taps(pv, inv_s2, g)
            abar = np.float32(0.0)
            for k in range(K):
                abar += g[k] * (np.float32(k) - pv) * inv_s2
            s1 = np.float32(0.0)
            s2 = np.float32(0.0)
            for k in range(K):
                t = gk[j, k, o] * g[k]
                s1 += t
                s2 += t * ((np.float32(k) - pv) * inv_s2 - abar)
            gw[o, j] = s1
            gp[o, j] = w[o, j] * s2


class _GaussianTaps(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weight, position, sigma, K):
        set_threads()
        w, p = weight.detach().contiguous(), position.detach().contiguous()
        inv_s2 = np.float32(1.0 / (sigma * sigma))
        kj = np.empty((w.shape[1], K, w.shape[0]), np.float32)
        _gauss_forward(w.numpy(), p.numpy(), inv_s2, kj)
        ctx.save_for_backward(w, p)
        ctx.inv_s2 = inv_s2
        return torch.from_numpy(kj)

    @staticmethod
    def backward(ctx, gk):
        w, p = ctx.saved_tensors
        set_threads()
        gw, gp = np.empty(w.shape, np.float32), np.empty(w.shape, np.float32)
        _gauss_backward(w.numpy(), p.numpy(), ctx.inv_s2, gk.contiguous().numpy(), gw, gp)
        return torch.from_numpy(gw), torch.from_numpy(gp), None, None


def gaussian_taps(weight: torch.Tensor, position: torch.Tensor, sigma: float, n_taps: int) -> torch.Tensor:
    """Input-major delay-learning kernel ``K[j, k, o] = weight[o, j] * g[o, j, k]`` for `tap_accumulate`.

    ``g`` is the softmax over ``k = 0..n_taps-1`` of ``-0.5 * ((k - position) / sigma) ** 2`` (the normalised
    Gaussian of `neurokit.layers.delays.gaussian_delay_taps`). Differentiable in ``weight`` and ``position``.

    Args:
        weight, position: ``[out, in]`` float32 CPU. sigma: ``> 0``. n_taps: ``max_delay + 1``.

    Returns:
        ``[in, n_taps, out]`` float32.

    Example:
        >>> gaussian_taps(torch.ones(1, 1), torch.tensor([[1.0]]), 0.01, 3)[0, :, 0]
        tensor([0., 1., 0.])
    """
    if weight.shape != position.shape or weight.dim() != 2 or not sigma > 0 or n_taps < 1:
        raise ValueError(f"gaussian_taps: expected weight and position [out, in], sigma > 0, n_taps >= 1; got "
                         f"{tuple(weight.shape)}, {tuple(position.shape)}, {sigma}, {n_taps}")
    if any(t.dtype != torch.float32 or t.device.type != "cpu" for t in (weight, position)):
        raise ValueError(f"gaussian_taps runs on float32 CPU tensors, got {weight.dtype} on {weight.device}")
    return _GaussianTaps.apply(weight, position, float(sigma), int(n_taps))


class _TapAccumulate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kt):
        set_threads()
        xb = x.detach().permute(1, 0, 2).contiguous()                 # [B, T, in]
        xn = xb.numpy()
        idx = np.empty((xn.shape[0] * xn.shape[1], xn.shape[2]), np.int32)
        counts = np.empty(idx.shape[0], np.int64)
        _gather_indices(xn.reshape(idx.shape), idx, counts)
        out = np.zeros((xn.shape[0], xn.shape[1], kt.shape[2]), np.float32)
        _forward(xn, kt.detach().contiguous().numpy(), out)
        ctx.indices = (xb, idx, counts)
        ctx.save_for_backward(x, kt)
        return torch.from_numpy(out).permute(1, 0, 2)

    @staticmethod
    def backward(ctx, g):
        x, kt = ctx.saved_tensors
        xb, idx, counts = ctx.indices
        gb = g.permute(1, 0, 2).contiguous()                              # [B, T, out]
        gx = gk = None
        if ctx.needs_input_grad[0]:     # gx[b, j, t] = sum_{o, k} K[j, k, o] g[b, o, t + k]
            K = kt.shape[1]
            y = F.conv1d(F.pad(gb.permute(0, 2, 1), (0, K - 1)), kt.detach().permute(0, 2, 1))
            gx = y.permute(2, 0, 1)
        if ctx.needs_input_grad[1]:
            set_threads()
            gk_np = np.zeros(kt.shape, np.float32)
            _grad_kernel(xb.numpy(), *_by_column(idx, counts, kt.shape[0]), gb.numpy(), gk_np)
            gk = torch.from_numpy(gk_np)
        return gx, gk


def tap_accumulate(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Differentiable ``out[t, b, o] = sum_{k, j} kernel[j, k, o] * x[t - k, b, j]``, visiting only non-zero ``x``.

    Args:
        x: ``[T, B, in]`` float32 CPU (any density; cheapest for sparse spikes).
        kernel: ``[in, K, out]`` float32 CPU (input-major), tap ``k`` applied to ``x[t - k]`` (gradients flow to it
            and to ``x``); `gaussian_taps` builds it for delay learning.

    Returns:
        ``[T, B, out]`` float32.

    Raises:
        ValueError: shapes, dtypes or devices outside this contract.
    """
    if x.dim() != 3 or kernel.dim() != 3 or kernel.shape[0] != x.shape[2] or kernel.shape[1] < 1:
        raise ValueError(f"tap_accumulate: expected x [T, B, in] and kernel [in, K >= 1, out] with the same in; got "
                         f"x {tuple(x.shape)}, kernel {tuple(kernel.shape)}")
    if any(t.dtype != torch.float32 or t.device.type != "cpu" for t in (x, kernel)):
        raise ValueError(f"tap_accumulate runs on float32 CPU tensors, got x {x.dtype} on {x.device}, kernel "
                         f"{kernel.dtype} on {kernel.device}")
    return _TapAccumulate.apply(x, kernel)
