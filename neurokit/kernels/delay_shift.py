"""Sparse shift-and-accumulate for synapses with per-synapse delays (Numba, CPU), with autograd.

A synapse ``(o, j)`` with ``M`` taps ``m`` at integer delays ``d[m, j, o]`` and weights ``w[m, j, o]``::

    out[t, b, o] = sum_j sum_m w[m, j, o] * x[t - d[m, j, o], b, j]          (x[t'] = 0 for t' < 0)

The loop is event-driven: it visits only the non-zero inputs ``x[t, b, j]`` and scatters ``w[:, j, :] * x`` into
``out[t + d[:, j, :], b, :]``, so a 0/1 spike input of density ``rho`` costs ``rho * T * B * in * M * out``
multiply-adds instead of the dense causal convolution's ``T * B * in * (D + 1) * out``. After ``round_delays()``
``M = 1`` (one tap per synapse); during delay learning ``M`` is the Gaussian's support window
(:class:`neurokit.layers.DelayedLinear`). The weight gradient is event-driven too; the input gradient (needed only
when ``x`` requires grad) is a gather over the taps. Parallel over the batch (forward, input gradient) or over the
inputs (weight gradient), so no two threads write the same element; each output element is summed in a fixed order
(``j``, then ``t``, then ``m``), independent of the thread count.

Example::

    >>> x = torch.zeros(4, 1, 1); x[0, 0, 0] = 1.0
    >>> shift_accumulate(x, torch.ones(1, 1, 1), torch.tensor([[[2]]], dtype=torch.int32))[:, 0, 0]
    tensor([0., 0., 1., 0.])
"""
from __future__ import annotations

import numba
import numpy as np
import torch

from .cpu import set_threads

__all__ = ["shift_accumulate"]


# The kernels work batch-major (``[B, T, ...]``): one batch element's output rows (``T * out`` floats) stay in L2
# while its events scatter into them.

@numba.njit(nogil=True, parallel=True)
def _forward(x, w, d, out):
    B, T, J = x.shape
    M, _, n_out = w.shape
    for b in numba.prange(B):
        for j in range(J):          # input-major: one input's taps (w, d) stay in cache for all its events
            for t in range(T):
                xv = x[b, t, j]
                if xv == 0:
                    continue
                for m in range(M):
                    for o in range(n_out):
                        tt = t + d[m, j, o]
                        if tt < T:
                            out[b, tt, o] += w[m, j, o] * xv


@numba.njit(nogil=True, parallel=True)
def _grad_weight(x, g, d, gw):
    B, T, J = x.shape
    M, _, n_out = gw.shape
    for j in numba.prange(J):
        for b in range(B):
            for t in range(T):
                xv = x[b, t, j]
                if xv == 0:
                    continue
                for m in range(M):
                    for o in range(n_out):
                        tt = t + d[m, j, o]
                        if tt < T:
                            gw[m, j, o] += g[b, tt, o] * xv


@numba.njit(nogil=True, parallel=True)
def _grad_input(g, w, d, gx):
    B, T, J = gx.shape
    M, _, n_out = w.shape
    for b in numba.prange(B):
        for t in range(T):
            for j in range(J):
                acc = np.float32(0.0)
                for m in range(M):
                    for o in range(n_out):
                        tt = t + d[m, j, o]
                        if tt < T:
                            acc += w[m, j, o] * g[b, tt, o]
                gx[b, t, j] = acc


def _batch_major(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().permute(1, 0, 2).contiguous().numpy()


class _ShiftAccumulate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, d):
        set_threads()
        out = np.zeros((x.shape[1], x.shape[0], w.shape[2]), np.float32)
        _forward(_batch_major(x), w.detach().contiguous().numpy(), d.numpy(), out)
        ctx.save_for_backward(x, w, d)
        return torch.from_numpy(out).permute(1, 0, 2)

    @staticmethod
    def backward(ctx, g):
        x, w, d = ctx.saved_tensors
        set_threads()
        gn = _batch_major(g)
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx_np = np.empty((x.shape[1], x.shape[0], x.shape[2]), np.float32)
            _grad_input(gn, w.detach().contiguous().numpy(), d.numpy(), gx_np)
            gx = torch.from_numpy(gx_np).permute(1, 0, 2)
        if ctx.needs_input_grad[1]:
            gw_np = np.zeros(w.shape, np.float32)
            _grad_weight(_batch_major(x), gn, d.numpy(), gw_np)
            gw = torch.from_numpy(gw_np)
        return gx, gw, None


def shift_accumulate(x: torch.Tensor, weight: torch.Tensor, delay: torch.Tensor) -> torch.Tensor:
    """Differentiable ``out[t, b, o] = sum_{j, m} weight[m, j, o] * x[t - delay[m, j, o], b, j]``.

    Args:
        x: ``[T, B, in]`` float32, CPU (any density; zeros are skipped).
        weight: ``[M, in, out]`` float32 tap weights (gradients flow to it and to ``x``).
        delay: ``[M, in, out]`` int32, each in ``[0, T)`` or larger (taps past the end contribute nothing).

    Returns:
        ``[T, B, out]`` float32.

    Raises:
        ValueError: shapes, dtypes or devices that do not match the contract above.
    """
    if x.dim() != 3 or weight.dim() != 3 or weight.shape[1] != x.shape[2] or delay.shape != weight.shape:
        raise ValueError(f"shift_accumulate: expected x [T, B, in], weight and delay [M, in, out] with the same in; "
                         f"got x {tuple(x.shape)}, weight {tuple(weight.shape)}, delay {tuple(delay.shape)}")
    if x.dtype != torch.float32 or weight.dtype != torch.float32 or delay.dtype != torch.int32:
        raise ValueError(f"shift_accumulate: expected float32 x/weight and int32 delay, got {x.dtype}, "
                         f"{weight.dtype}, {delay.dtype}")
    if x.device.type != "cpu" or weight.device.type != "cpu":
        raise ValueError(f"shift_accumulate runs on CPU tensors, got {x.device} / {weight.device}")
    if delay.numel() and int(delay.min()) < 0:
        raise ValueError(f"shift_accumulate: delays must be >= 0, got min {int(delay.min())}")
    return _ShiftAccumulate.apply(x, weight, delay.contiguous())
