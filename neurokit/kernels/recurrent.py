"""Fused CPU loop of a recurrent spiking layer: ``I[t] = ff[t] + V s[t-1] (+ b_rec)`` feeding a neuron family.

The feed-forward product ``ff = W x (+ b)`` is one GEMM over all steps, done by the caller. This module runs the part
that must be sequential:

* forward, one Numba call: per step and batch row, the recurrent product as a sparse sum over the neurons that spiked
  at ``t-1`` (spikes are 0/1, so ``V s`` is the sum of the columns of ``V`` of the spiking neurons, accumulated in
  fp32), then the neuron step of :mod:`neurokit.kernels.cpu` (same operation order as the reference loop);
* backward, a reverse loop: the neuron's reverse step for ``t`` (Numba) gives ``dL/dI[t]``, then one small GEMM adds
  ``dL/dI[t] @ V`` to ``dL/ds[t-1]``; ``dL/dV = sum_t dL/dI[t]^T s[t-1]`` is one GEMM after the loop.

Only the float sum order of ``V s`` differs from the reference loop (``torch`` matmul), so spikes agree except where
a membrane lies within rounding of the threshold; the tests check identity on seeded inputs.

CUDA tensors (and ``backend="triton"``) take the per-step Triton path of :mod:`neurokit.kernels.triton_recurrent`
instead: :func:`run_recurrent` dispatches to both.

Example::

    >>> spikes = run_recurrent("lif", ff, V, None, LIFParams(tau=2.0), nk.surrogate.get("atan"), "auto")
    >>> spikes.shape      # ff: [T, B, N], V: [N, N]
    torch.Size([T, B, N])
"""
from __future__ import annotations

import functools

import numba
import numpy as np
import torch

from ..surrogate import Surrogate
from .cpu import backward_row, forward_row
from .dispatch import fused_covers, resolve_backend
from .spec import (
    ALIF,
    CUBA,
    DECAY_INPUT,
    DETACH,
    FAMILIES,
    HARD_RESET,
    RAD,
    SG_ID,
    KernelSpec,
    build_spec,
)

__all__ = ["run_recurrent"]


@functools.cache
def _forward_kernel(di, hard, rad, cuba, alif):
    @numba.njit(nogil=True)
    def kernel(ff, vt, brec, cur, s_out, h_out, th_out, v, aux, s0, k, sc):
        T, BN = ff.shape
        N = vt.shape[0]
        rec = np.empty(N, np.float32)
        no_v_seq = np.empty((T, 0), np.float32)
        for t in range(T):
            s_prev = s0 if t == 0 else s_out[t - 1]
            for b in range(BN // N):
                o = b * N
                rec[:] = 0.0
                for j in range(N):
                    if s_prev[o + j] != 0.0:
                        for n in range(N):
                            rec[n] += vt[j, n]
                for n in range(N):
                    cur[t, o + n] = ff[t, o + n] + (rec[n] + brec[n])
            forward_row(cur[t], s_out[t], h_out[t], th_out[t], no_v_seq[t], v, aux, s_prev, k, sc, di, hard, rad, cuba,
                        alif, False)

    return kernel


@functools.cache
def _backward_kernel(di, hard, detach, rad, cuba, alif, learn_k, sid):
    @numba.njit(nogil=True)
    def kernel(t, g_s, h_s, th_s, x_s, g_x, g_k, g_v, c1, c2, k, sc):
        none, none_u8 = np.empty(0, np.float32), np.empty(0, np.uint8)
        backward_row(g_s[t], none, h_s[t], th_s[t], none_u8, x_s[t], h_s[max(t - 1, 0)], none_u8, t > 0, g_x[t], g_v,
                     c1, c2, g_k, k, sc, di, hard, detach, rad, cuba, alif, False, False, learn_k, sid)

    return kernel


def _flags(spec: KernelSpec):
    f = spec.flags
    return bool(f[DECAY_INPUT]), bool(f[HARD_RESET]), bool(f[DETACH]), bool(f[RAD]), bool(f[CUBA]), bool(f[ALIF])


class _RecurrentLoop(torch.autograd.Function):
    """``(ff [T, B, N], V [N, N], b_rec [N] | None, k_tensor | None) -> spikes [T, B, N]`` (fp32, CPU)."""

    @staticmethod
    def forward(ctx, ff, weight_rec, bias_rec, k_tensor, spec: KernelSpec):
        T, B, N = ff.shape
        di, hard, _, rad, cuba, alif = _flags(spec)
        k = float(k_tensor) if k_tensor is not None else spec.k
        sc = np.asarray(spec.scalars, dtype=np.float32)
        ff2 = ff.detach().reshape(T, B * N).contiguous().numpy()
        vt = weight_rec.detach().t().contiguous().numpy()
        brec = (bias_rec.detach().contiguous().numpy() if bias_rec is not None else np.zeros(N, np.float32))
        cur, s, h = (np.empty((T, B * N), np.float32) for _ in range(3))
        th = np.empty((T, B * N) if alif else (T, 0), np.float32)
        v, aux, s_prev = np.full(B * N, sc[1], np.float32), np.zeros(B * N, np.float32), np.zeros(B * N, np.float32)
        _forward_kernel(di, hard, rad, cuba, alif)(ff2, vt, brec, cur, s, h, th, v, aux, s_prev, np.float32(k), sc)
        spikes = torch.from_numpy(s).reshape(T, B, N)
        ctx.save_for_backward(weight_rec, spikes, torch.from_numpy(h), torch.from_numpy(th), torch.from_numpy(cur),
                              k_tensor)
        ctx.spec, ctx.k, ctx.has_bias = spec, k, bias_rec is not None
        return spikes

    @staticmethod
    def backward(ctx, g_spikes):
        weight_rec, spikes, h, th, cur, k_tensor = ctx.saved_tensors
        spec, k = ctx.spec, ctx.k
        T, B, N = spikes.shape
        di, hard, detach, rad, cuba, alif = _flags(spec)
        kernel = _backward_kernel(di, hard, detach, rad, cuba, alif, spec.learn_k, int(spec.flags[SG_ID]))
        g_s = g_spikes.float().contiguous().clone()
        g_cur = torch.empty(T, B, N)
        g_s2, g_cur2 = g_s.view(T, B * N).numpy(), g_cur.view(T, B * N).numpy()
        h2, th2, cur2 = h.numpy(), th.numpy(), cur.numpy()
        g_k = np.zeros(B * N, np.float32)
        g_v, c1, c2 = (np.zeros(B * N, np.float32) for _ in range(3))
        sc = np.asarray(spec.scalars, dtype=np.float32)
        w = weight_rec.detach().float()
        for t in range(T - 1, -1, -1):
            kernel(t, g_s2, h2, th2, cur2, g_cur2, g_k, g_v, c1, c2, np.float32(k), sc)
            if t > 0:
                g_s[t - 1].addmm_(g_cur[t], w)
        g_w = g_cur[1:].reshape(-1, N).t() @ spikes[:-1].reshape(-1, N) if T > 1 else torch.zeros_like(w)
        g_b = g_cur.sum((0, 1)) if ctx.has_bias else None
        g_kt = torch.from_numpy(g_k).sum().reshape(k_tensor.shape) if k_tensor is not None else None
        return g_cur, g_w, g_b, g_kt, None


def run_recurrent(family: str, ff: torch.Tensor, weight_rec: torch.Tensor, bias_rec: torch.Tensor | None,
                  params, surrogate: Surrogate, backend: str = "auto") -> torch.Tensor | None:
    """Spikes of the recurrent loop with a fused path, or ``None`` when none applies.

    Args:
        family: ``"lif" | "if" | "plif" | "cuba_lif" | "alif"``.
        ff: feed-forward currents ``[T, B, N]`` (fp32; CPU or CUDA).
        weight_rec: recurrent weight ``V [N, N]`` (``V[n, j]``: from neuron ``j`` to neuron ``n``).
        bias_rec: recurrent bias ``[N]`` or ``None``.
        params, surrogate: the neuron's ``*Params`` and surrogate.
        backend: ``"auto"`` (fp32 configurations ``fused_covers`` accepts: the fused Numba loop on CPU tensors, the
            per-step Triton path of :mod:`neurokit.kernels.triton_recurrent` on CUDA tensors; else ``None``),
            ``"torch"`` (always ``None``), ``"triton"`` (the Triton path; CPU tensors need ``TRITON_INTERPRET=1``;
            raises for non-fp32 inputs).

    Returns:
        spikes ``[T, B, N]`` fp32 (differentiable w.r.t. ``ff``, ``weight_rec``, ``bias_rec`` and PLIF's ``tau``),
        or ``None`` (the caller runs the reference loop).
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    kernel_backend = resolve_backend(backend, ff.device)
    if kernel_backend == "triton":
        return _run_triton(family, ff, weight_rec, bias_rec, params, surrogate, backend)
    if (kernel_backend != "cpu" or ff.dtype != torch.float32 or weight_rec.dtype != torch.float32
            or not fused_covers(params)):
        return None
    spec = build_spec(family, params, surrogate)
    return _RecurrentLoop.apply(ff, weight_rec, bias_rec, spec.k_tensor, spec)


def _run_triton(family, ff, weight_rec, bias_rec, params, surrogate, backend):
    """The per-step Triton path (:mod:`neurokit.kernels.triton_recurrent`) for fp32 inputs, else ``None`` (or an
    error when ``backend="triton"`` was asked for explicitly)."""
    if ff.dtype != torch.float32 or weight_rec.dtype != torch.float32:
        if backend == "triton":
            raise ValueError(f"backend='triton': the recurrent layer's Triton path takes float32 only, got input "
                             f"currents {ff.dtype} and recurrent_weight {weight_rec.dtype}")
        return None
    if not fused_covers(params):
        return None
    spec = build_spec(family, params, surrogate)
    if spec.k_tensor is not None and spec.k_tensor.device != ff.device:
        raise ValueError(f"params.tau is on {spec.k_tensor.device} but the input is on {ff.device}")
    from .triton_recurrent import recurrent_loop
    return recurrent_loop(ff, weight_rec, bias_rec, spec)
