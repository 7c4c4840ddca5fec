"""A linear layer over sparse input (spikes), forward and weight gradient by index gathering (Numba, CPU).

For ``x [R, in]`` whose entries are mostly zero (0/1 spikes at a few percent), ``y = x @ W.T + b`` only needs, for
every row ``r``, the weight columns of the non-zero inputs::

    y[r, :] = b + sum_{j : x[r, j] != 0} x[r, j] * W[:, j]                 (forward)
    gW[:, j] = sum_{r : x[r, j] != 0} x[r, j] * g[r, :]                     (weight gradient)

so a density ``rho`` costs ``rho * R * in * out`` multiply-adds instead of the GEMM's ``R * in * out`` (twice: the
forward and the weight gradient; the input gradient, needed only when ``x`` requires grad, is the dense
``g @ W``). One parallel pass over ``x`` gathers the column indices of each row's non-zero entries (and so the
density, which decides whether the gathering pays); the forward and the weight gradient then visit only those. The
weight is used transposed (``W.T [in, out]``), so each gathered column is a contiguous row.

Determinism: the forward is parallel over rows (each row summed in ``j`` order); the weight gradient is split into
``GRAD_CHUNKS`` fixed row ranges, each accumulated into its own buffer, then the buffers are added in order, so the
result does not depend on the thread count. Against the dense GEMM (another summation order) the result agrees to
fp32 rounding, and exactly when every partial sum is exactly representable (e.g. 0/1 inputs and small-integer
weights; tested).

Example::

    >>> x = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    >>> sparse_input_linear(x, torch.ones(2, 3), torch.zeros(2))
    tensor([[1., 1.],
            [2., 2.]])
"""
from __future__ import annotations

import numba
import numpy as np
import torch

from .cpu import set_threads

__all__ = ["sparse_input_linear", "GRAD_CHUNKS"]

GRAD_CHUNKS = 8  # fixed row ranges of the weight gradient (independent of the thread count)


@numba.njit(nogil=True, parallel=True)
def _gather_indices(x, idx, counts):
    """Per row, the columns of the non-zero entries (in increasing order) into ``idx[r, :counts[r]]``."""
    R, J = x.shape
    for r in numba.prange(R):
        n = 0
        for j in range(J):
            if x[r, j] != 0:
                idx[r, n] = j
                n += 1
        counts[r] = n


@numba.njit(nogil=True, parallel=True)
def _forward(x, idx, counts, wt, b, out):
    R = x.shape[0]
    n_out = out.shape[1]
    for r in numba.prange(R):
        for o in range(n_out):
            out[r, o] = b[o]
        for k in range(counts[r]):
            j = idx[r, k]
            xv = x[r, j]
            for o in range(n_out):
                out[r, o] += xv * wt[j, o]


@numba.njit(nogil=True, parallel=True)
def _grad_weight_chunks(x, idx, counts, g, parts):
    R = x.shape[0]
    C, _, n_out = parts.shape
    for c in numba.prange(C):
        for r in range(c * R // C, (c + 1) * R // C):
            for k in range(counts[r]):
                j = idx[r, k]
                xv = x[r, j]
                for o in range(n_out):
                    parts[c, j, o] += xv * g[r, o]


def _indices(xn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.empty(xn.shape, np.int32)       # only the first counts[r] entries of each row are written and read
    counts = np.empty(xn.shape[0], np.int64)
    _gather_indices(xn, idx, counts)
    return idx, counts


class _SparseInputLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x2, weight, bias, xn, idx, counts):
        wt = weight.detach().t().contiguous().numpy()
        b = np.zeros(weight.shape[0], np.float32) if bias is None else bias.detach().contiguous().numpy()
        out = np.empty((x2.shape[0], weight.shape[0]), np.float32)
        _forward(xn, idx, counts, wt, b, out)
        ctx.has_bias = bias is not None
        ctx.indices = (idx, counts)
        ctx.save_for_backward(x2, weight)     # the version check refuses a backward after x was changed in place
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx, g):
        x2, weight = ctx.saved_tensors
        idx, counts = ctx.indices
        xn = x2.detach().contiguous().numpy()
        g = g.contiguous()
        gx = g @ weight if ctx.needs_input_grad[0] else None
        gw = None
        if ctx.needs_input_grad[1]:
            set_threads()
            chunks = max(1, min(GRAD_CHUNKS, xn.shape[0]))
            parts = np.zeros((chunks, xn.shape[1], weight.shape[0]), np.float32)
            _grad_weight_chunks(xn, idx, counts, g.numpy(), parts)
            gw = torch.from_numpy(parts[0])
            for c in range(1, chunks):
                gw += torch.from_numpy(parts[c])
            gw = gw.t()
        gb = g.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return gx, gw, gb, None, None, None


def sparse_input_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                        max_density: float = 1.0) -> torch.Tensor:
    """Differentiable ``x @ weight.T + bias`` that visits only the non-zero entries of ``x`` (CPU float32).

    Args:
        x: ``[..., in]`` float32 CPU, any density (zeros are skipped; cheapest for sparse spikes).
        weight: ``[out, in]`` float32 CPU; bias: ``[out]`` float32 or ``None``.
        max_density: when more than this fraction of ``x`` is non-zero (found while gathering the indices, one pass
            over ``x``), the dense ``torch.nn.functional.linear`` computes the result instead.

    Returns:
        ``[..., out]`` float32, equal to ``torch.nn.functional.linear(x, weight, bias)`` to fp32 rounding.

    Raises:
        ValueError: shapes, dtypes or devices outside this contract.
    """
    if x.dim() < 1 or weight.dim() != 2 or x.shape[-1] != weight.shape[1] or (
            bias is not None and tuple(bias.shape) != (weight.shape[0],)):
        raise ValueError(f"sparse_input_linear: expected x [..., in], weight [out, in], bias [out]; got x "
                         f"{tuple(x.shape)}, weight {tuple(weight.shape)}, "
                         f"bias {None if bias is None else tuple(bias.shape)}")
    tensors = [x, weight] + ([] if bias is None else [bias])
    if any(t.dtype != torch.float32 or t.device.type != "cpu" for t in tensors):
        raise ValueError(f"sparse_input_linear runs on float32 CPU tensors, got "
                         f"{[(str(t.dtype), str(t.device)) for t in tensors]}")
    lead = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1])
    set_threads()
    xn = x2.detach().contiguous().numpy()
    idx, counts = _indices(xn)
    if int(counts.sum()) > max_density * x2.numel():
        return torch.nn.functional.linear(x, weight, bias)
    out = _SparseInputLinear.apply(x2, weight, bias, xn, idx, counts)
    return out.reshape(*lead, weight.shape[0])
