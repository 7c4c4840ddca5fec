"""The fused neuron time loop as two ``torch.library`` custom ops with autograd, shared by all families/backends.

``neurokit::neuron_forward`` and ``neurokit::neuron_backward`` are opaque to ``torch.compile`` (no graph break: they
have fake implementations) and route to the Numba CPU loop (``backend="cpu"``) or the Triton kernel
(``backend="triton"``: CUDA tensors, or CPU tensors under ``TRITON_INTERPRET=1``). Inputs are ``[T, N]`` contiguous;
any float dtype among fp32/bf16/fp16, state and arithmetic in fp32.

Saved for backward per neuron-step (see :func:`neurokit.kernels.spec.saved_bytes_per_step`): fp32 ``h`` (4 B) for
fp32 inputs; ``h`` in the input precision plus uint8 spikes (3 B) for bf16/fp16; ALIF adds ``th``, PLIF with
``decay_input`` keeps ``x``.

Example::

    >>> spec = build_spec("lif", LIFParams(), nk.surrogate.get("atan"))
    >>> s, v_seq, v, aux = fused_loop(torch.rand(4, 10, requires_grad=True), spec, "cpu", store_v=False)
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from . import cpu
from .spec import ALIF, DECAY_INPUT, KernelSpec

__all__ = ["fused_loop"]

_EMPTY_SHAPE = (0,)


def _storage_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype == torch.float32 else dtype


def _k_value(k_tensor: Optional[Tensor], k: float) -> float:
    return float(k_tensor) if k_tensor is not None else k


def _forward_cpu(x, k_tensor, k, spec, store_v):
    out = cpu.forward_arrays(x.float().contiguous().numpy(), spec, _k_value(k_tensor, k), store_v)
    store = _storage_dtype(x.dtype)
    h = torch.from_numpy(out["h"]).to(store)
    s32 = torch.from_numpy(out["s"])
    s_saved = s32.to(torch.uint8) if x.dtype != torch.float32 else torch.empty(_EMPTY_SHAPE, dtype=torch.uint8)
    th = torch.from_numpy(out["th"]).to(store) if spec.flags[ALIF] else torch.empty(_EMPTY_SHAPE, dtype=store)
    v_seq = torch.from_numpy(out["v_seq"]) if store_v else torch.empty(_EMPTY_SHAPE)
    return (s32.to(x.dtype), v_seq, torch.from_numpy(out["v"]), torch.from_numpy(out["aux"]), h, th, s_saved)


def _np32(t: Optional[Tensor]):
    return None if t is None else t.float().contiguous().numpy()


def _backward_cpu(g_s, g_vseq, g_vlast, g_auxlast, h, th, s, x, k_tensor, k, spec):
    g_x, g_k = cpu.backward_arrays(
        _np32(g_s), _np32(g_vseq), _np32(g_vlast), _np32(g_auxlast), _np32(h),
        _np32(th) if spec.flags[ALIF] else None, s.contiguous().numpy() if s.numel() else None, _np32(x),
        spec, _k_value(k_tensor, k))
    return torch.from_numpy(g_x), torch.from_numpy(g_k)


def _spec(k, scalars, flags) -> KernelSpec:
    return KernelSpec(tuple(flags), tuple(scalars), k)


@torch.library.custom_op("neurokit::neuron_forward", mutates_args=())
def neuron_forward(x: Tensor, k_tensor: Optional[Tensor], k: float, scalars: list[float], flags: list[int],
                   store_v: bool, backend: str) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Forward loop on ``x [T, N]``. Returns ``(spikes [T,N] x.dtype, v_seq [T,N] fp32 or empty, v_last [N] fp32,
    aux_last [N] fp32, h_saved [T,N], th_saved [T,N] or empty, s_saved uint8 [T,N] or empty)``."""
    spec = _spec(k, scalars, flags)
    if backend == "triton":
        from . import triton_kernels
        return triton_kernels.forward(x, k_tensor, k, spec, store_v)
    return _forward_cpu(x, k_tensor, k, spec, store_v)


@neuron_forward.register_fake
def _(x, k_tensor, k, scalars, flags, store_v, backend):
    T, N = x.shape
    store = _storage_dtype(x.dtype)
    f32 = dict(dtype=torch.float32, device=x.device)
    return (x.new_empty((T, N)), x.new_empty((T, N) if store_v else _EMPTY_SHAPE, dtype=torch.float32),
            x.new_empty((N,), **f32), x.new_empty((N,), **f32), x.new_empty((T, N), dtype=store),
            x.new_empty((T, N) if flags[ALIF] else _EMPTY_SHAPE, dtype=store),
            x.new_empty((T, N) if x.dtype != torch.float32 else _EMPTY_SHAPE, dtype=torch.uint8))


@torch.library.custom_op("neurokit::neuron_backward", mutates_args=())
def neuron_backward(g_s: Tensor, g_vseq: Optional[Tensor], g_vlast: Tensor, g_auxlast: Tensor, h: Tensor,
                    th: Tensor, s: Tensor, x: Optional[Tensor], k_tensor: Optional[Tensor], k: float,
                    scalars: list[float], flags: list[int], backend: str) -> tuple[Tensor, Tensor]:
    """Reverse loop (``g_s``: ``[T, N]``, or ``[1, N]`` broadcast over time for the CPU loop). Returns
    ``(grad_x [T, N] fp32, grad_k per neuron [N] fp32)``."""
    spec = _spec(k, scalars, flags)
    if backend == "triton":
        from . import triton_kernels
        return triton_kernels.backward(g_s, g_vseq, g_vlast, g_auxlast, h, th, s, x, k_tensor, k, spec)
    return _backward_cpu(g_s, g_vseq, g_vlast, g_auxlast, h, th, s, x, k_tensor, k, spec)


@neuron_backward.register_fake
def _(g_s, g_vseq, g_vlast, g_auxlast, h, th, s, x, k_tensor, k, scalars, flags, backend):
    return h.new_empty(h.shape, dtype=torch.float32), h.new_empty((h.shape[1],), dtype=torch.float32)


def _setup_context(ctx, inputs, output):
    x, k_tensor, k, scalars, flags, store_v, backend = inputs
    _, _, _, _, h, th, s = output
    keep_x = x if (flags[DECAY_INPUT] and k_tensor is not None) else None
    ctx.save_for_backward(h, th, s, keep_x, k_tensor)
    ctx.meta = (k, scalars, flags, store_v, backend, x.dtype)


def _grad_spikes(g_s: Optional[Tensor], h: Tensor, backend: str) -> Tensor:
    """The spike gradient as the kernels take it: ``[T, N]`` contiguous, or for the CPU loop one ``[1, N]`` row when
    it is the same at every step (``None``, or expanded over time as the gradients of ``spikes.sum()`` and of
    ``spikes.sum(0)`` are): one row instead of a ``[T, N]`` copy to write and read."""
    T, N = h.shape
    if backend == "cpu" and (g_s is None or g_s.stride(0) == 0):
        return h.new_zeros((1, N), dtype=torch.float32) if g_s is None else g_s[:1].contiguous()
    return h.new_zeros((T, N), dtype=torch.float32) if g_s is None else g_s.contiguous()


def _backward(ctx, g_s, g_vseq, g_vlast, g_aux, _g_h, _g_th, _g_s8):
    h, th, s, x, k_tensor = ctx.saved_tensors
    k, scalars, flags, store_v, backend, x_dtype = ctx.meta
    N = h.shape[1]
    zeros_n = h.new_zeros((N,), dtype=torch.float32)
    g_s = _grad_spikes(g_s, h, backend)
    g_vseq = g_vseq.contiguous() if (store_v and g_vseq is not None) else None
    g_x, g_k = torch.ops.neurokit.neuron_backward(
        g_s, g_vseq, zeros_n if g_vlast is None else g_vlast.contiguous(),
        zeros_n if g_aux is None else g_aux.contiguous(), h, th, s, x, k_tensor, k, scalars, flags, backend)
    g_kt = g_k.sum().reshape(k_tensor.shape).to(k_tensor.dtype) if k_tensor is not None else None
    return g_x.to(x_dtype), g_kt, None, None, None, None, None


neuron_forward.register_autograd(_backward, setup_context=_setup_context)


def fused_loop(x: Tensor, spec: KernelSpec, backend: str, store_v: bool):
    """Differentiable fused time loop on ``x [T, N]`` (contiguous fp32/bf16/fp16).

    Returns ``(spikes [T, N] x.dtype, v_seq [T, N] fp32 or None, v_last [N] fp32, aux_last [N] fp32)`` where
    ``aux_last`` is the final synaptic current (CubaLIF) or adaptation ``b`` (ALIF). Gradients flow to ``x``, to
    ``spec.k_tensor`` (PLIF), and from ``spikes``, ``v_seq``, ``v_last`` and ``aux_last``.
    """
    k = 0.0 if spec.k is None else spec.k
    spikes, v_seq, v_last, aux, _, _, _ = torch.ops.neurokit.neuron_forward(
        x, spec.k_tensor, k, list(spec.scalars), list(spec.flags), store_v, backend)
    return spikes, (v_seq if store_v else None), v_last, aux
