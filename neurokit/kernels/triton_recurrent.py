"""Triton path of the recurrent layer: ``I[t] = ff[t] + V s[t-1] (+ b_rec)`` feeding a neuron step, per step.

The recurrence ``s[t-1] -> I[t]`` crosses neurons, so one lane cannot carry a neuron through time as in
:mod:`neurokit.kernels.triton_kernels`. Each step is instead:

* the recurrent product with torch, ``ff[t] + linear(s[t-1], V, b_rec)`` (cuBLAS on CUDA), the same expression as
  :func:`neurokit.layers.recurrent_reference`, so the neuron sees bit-identical inputs;
* the neuron step as one Triton launch (one lane per neuron of the ``B * N`` population) with its state
  ``(v, aux, s_prev)`` passed in and out (``aux``: synaptic current for CubaLIF, adaptation ``b`` for ALIF), the same
  fp32 arithmetic as the time-loop kernel (``triton_kernels._update``, launched without FMA contraction);
* wrapped in :class:`_NeuronStep`, a ``torch.autograd.Function`` whose backward is a second Triton launch returning
  the gradients w.r.t. the step input, the incoming state and the learnable decay ``k = 1/tau`` (PLIF). Autograd
  chains the steps and the products, so ``dL/dV``, ``dL/db_rec`` and the gradient through ``s[t-1]`` come from
  torch's own ``linear`` backward.

Per step and neuron the forward saves ``h`` (fp32; spikes are recomputed from it), plus ``th`` (ALIF), the incoming
``v`` (PLIF) and the input (PLIF with ``decay_input``). Inputs are fp32 only.

Example::

    >>> spec = build_spec("lif", LIFParams(tau=2.0), nk.surrogate.get("atan"))
    >>> spikes = recurrent_loop(ff, V, None, spec)          # ff [T, B, N] on CUDA, V [N, N]
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch.nn import functional as tf

from .spec import ALIF, CUBA, DECAY_INPUT, DETACH, HARD_RESET, RAD, SG_ID, VR, KernelSpec
from .triton_kernels import _adaptation_grads, _lanes_and_decay, _launch_opts, _surrogate, _update, block_size

__all__ = ["recurrent_loop"]


@triton.jit
def _step_forward_kernel(x_ptr, v_ptr, aux_ptr, sprev_ptr, s_ptr, vout_ptr, auxout_ptr, h_ptr, th_ptr, k_ptr,
                         N, k_scalar, vth, vr, syn, rho, omr, beta,
                         DI: tl.constexpr, HARD: tl.constexpr, RAD_: tl.constexpr, CUBA_: tl.constexpr,
                         ALIF_: tl.constexpr, K_PTR: tl.constexpr, BLOCK: tl.constexpr):
    offs, mask, k = _lanes_and_decay(N, k_ptr, k_scalar, K_PTR, BLOCK)
    x = tl.load(x_ptr + offs, mask=mask, other=0.0)
    v = tl.load(v_ptr + offs, mask=mask, other=0.0)
    if CUBA_ or ALIF_:
        aux = tl.load(aux_ptr + offs, mask=mask, other=0.0)
    else:
        aux = tl.zeros([BLOCK], tl.float32)
    if RAD_ or ALIF_:
        s_prev = tl.load(sprev_ptr + offs, mask=mask, other=0.0)
    else:
        s_prev = tl.zeros([BLOCK], tl.float32)
    sp, h, th, v, aux = _update(x, v, aux, s_prev, k, vth, vr, syn, rho, omr, beta, DI, HARD, RAD_, CUBA_, ALIF_)
    tl.store(s_ptr + offs, sp, mask=mask)
    tl.store(vout_ptr + offs, v, mask=mask)
    tl.store(h_ptr + offs, h, mask=mask)
    if CUBA_ or ALIF_:
        tl.store(auxout_ptr + offs, aux, mask=mask)
    if ALIF_:
        tl.store(th_ptr + offs, th, mask=mask)


@triton.jit
def _step_backward_kernel(gs_ptr, gvout_ptr, gauxout_ptr, h_ptr, th_ptr, vprev_ptr, x_ptr, gx_ptr, gv_ptr,
                          gaux_ptr, gsprev_ptr, gk_ptr, k_ptr,
                          N, k_scalar, vth, vr, syn, rho, omr, beta, p0, p1, p2,
                          DI: tl.constexpr, HARD: tl.constexpr, DETACH_: tl.constexpr, RAD_: tl.constexpr,
                          CUBA_: tl.constexpr, ALIF_: tl.constexpr, LEARN_K: tl.constexpr, K_PTR: tl.constexpr,
                          SG: tl.constexpr, BLOCK: tl.constexpr):
    """Reverse of one step. ``gs`` is the whole gradient of this step's spike (loss, next step's product and next
    step's ``s_prev``: autograd sums them), so only this step's own reset adds to it here."""
    offs, mask, k = _lanes_and_decay(N, k_ptr, k_scalar, K_PTR, BLOCK)
    h = tl.load(h_ptr + offs, mask=mask, other=0.0)
    if ALIF_:
        th = tl.load(th_ptr + offs, mask=mask, other=0.0)
    else:
        th = vth
    z = h - th
    sp = tl.where(z > 0.0, 1.0, 0.0)
    sg = _surrogate(z, SG, p0, p1, p2)
    gv = tl.load(gvout_ptr + offs, mask=mask, other=0.0)
    gs = tl.load(gs_ptr + offs, mask=mask, other=0.0)
    if not DETACH_:
        if HARD:
            gs = gs + gv * (vr - h)
        elif not RAD_:
            gs = gs - gv * th
    if HARD:
        gh = gv * (1.0 - sp) + gs * sg
    else:
        gh = gv + gs * sg
    if ALIF_:
        g_aux, g_sprev = _adaptation_grads(gs, sg, gv, sp, tl.load(gauxout_ptr + offs, mask=mask, other=0.0),
                                           beta, rho, omr, HARD)
        tl.store(gaux_ptr + offs, g_aux, mask=mask)
        tl.store(gsprev_ptr + offs, g_sprev, mask=mask)
    elif RAD_:                 # never both: ALIF has no deferred reset (build_spec: ALIFParams lacks the switch)
        if not DETACH_:
            tl.store(gsprev_ptr + offs, -gh * vth, mask=mask)
    if LEARN_K:
        dv = tl.load(vprev_ptr + offs, mask=mask, other=0.0) - vr
        if DI:
            tl.store(gk_ptr + offs, gh * (tl.load(x_ptr + offs, mask=mask, other=0.0) - dv), mask=mask)
        else:
            tl.store(gk_ptr + offs, gh * (-dv), mask=mask)
    if DI:
        gu = gh * k
    else:
        gu = gh
    if CUBA_:
        gi = gu + tl.load(gauxout_ptr + offs, mask=mask, other=0.0)
        tl.store(gx_ptr + offs, gi, mask=mask)
        tl.store(gaux_ptr + offs, gi * syn, mask=mask)
    else:
        tl.store(gx_ptr + offs, gu, mask=mask)
    tl.store(gv_ptr + offs, gh * (1.0 - k), mask=mask)


def _sprev_has_grad(f) -> bool:
    """The step reads ``s[t-1]`` differentiably: ALIF's adaptation, or the deferred soft reset when not detached."""
    return bool(f[ALIF]) or (bool(f[RAD]) and not f[DETACH])


class _NeuronStep(torch.autograd.Function):
    """``(x, v, aux, s_prev, k_tensor | None, spec) -> (s, v_new, aux_new)``, all ``[B, N]`` fp32 contiguous."""

    @staticmethod
    def forward(ctx, x, v, aux, s_prev, k_tensor, spec: KernelSpec):
        f, sc = spec.flags, spec.scalars
        s, v_out, aux_out, h = (torch.empty_like(x) for _ in range(4))
        th = torch.empty_like(x) if f[ALIF] else h
        if not (f[CUBA] or f[ALIF]):
            aux_out = aux
        n = x.numel()
        block, warps = block_size(n, x.device)
        k = 0.0 if spec.k is None else spec.k
        _step_forward_kernel[(triton.cdiv(n, block),)](
            x, v, aux, s_prev, s, v_out, aux_out, h, th, k_tensor if k_tensor is not None else h,
            n, k, sc[0], sc[1], sc[2], sc[3], sc[4], sc[5],
            DI=bool(f[DECAY_INPUT]), HARD=bool(f[HARD_RESET]), RAD_=bool(f[RAD]), CUBA_=bool(f[CUBA]),
            ALIF_=bool(f[ALIF]), K_PTR=k_tensor is not None, BLOCK=block, num_warps=warps,
            **_launch_opts(x.device))
        learn_k = k_tensor is not None
        ctx.save_for_backward(h, th, v if learn_k else None, x if learn_k and f[DECAY_INPUT] else None, k_tensor)
        ctx.spec = spec
        return s, v_out, aux_out

    @staticmethod
    def backward(ctx, g_s, g_vout, g_auxout):
        h, th, v_prev, x, k_tensor = ctx.saved_tensors
        spec = ctx.spec
        f, sc = spec.flags, spec.scalars
        g_s, g_vout, g_auxout = g_s.contiguous(), g_vout.contiguous(), g_auxout.contiguous()
        g_x, g_v = torch.empty_like(h), torch.empty_like(h)
        stateful = bool(f[CUBA] or f[ALIF])
        g_aux = torch.empty_like(h) if stateful else None
        g_sprev = torch.empty_like(h) if _sprev_has_grad(f) else None
        g_k = torch.empty_like(h) if k_tensor is not None else None
        n = h.numel()
        block, warps = block_size(n, h.device)
        _step_backward_kernel[(triton.cdiv(n, block),)](
            g_s, g_vout, g_auxout, h, th, h if v_prev is None else v_prev, h if x is None else x, g_x, g_v,
            h if g_aux is None else g_aux, h if g_sprev is None else g_sprev, h if g_k is None else g_k,
            h if k_tensor is None else k_tensor,
            n, 0.0 if spec.k is None else spec.k, sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], sc[7], sc[8],
            DI=bool(f[DECAY_INPUT]), HARD=bool(f[HARD_RESET]), DETACH_=bool(f[DETACH]), RAD_=bool(f[RAD]),
            CUBA_=bool(f[CUBA]), ALIF_=bool(f[ALIF]), LEARN_K=k_tensor is not None, K_PTR=k_tensor is not None,
            SG=int(f[SG_ID]), BLOCK=block, num_warps=warps, **_launch_opts(h.device))
        g_kt = g_k.sum().reshape(k_tensor.shape).to(k_tensor.dtype) if g_k is not None else None
        return g_x, g_v, g_aux, g_sprev, g_kt, None


def recurrent_loop(ff: torch.Tensor, weight_rec: torch.Tensor, bias_rec: torch.Tensor | None,
                   spec: KernelSpec) -> torch.Tensor:
    """Spikes ``[T, B, N]`` of the recurrent layer, differentiable w.r.t. ``ff``, ``weight_rec``, ``bias_rec`` and
    ``spec.k_tensor``.

    Args:
        ff: feed-forward currents ``[T, B, N]`` fp32, CUDA (or CPU under ``TRITON_INTERPRET=1``).
        weight_rec: ``V [N, N]`` fp32 on the same device; bias_rec: ``[N]`` or ``None``.
        spec: the neuron's :class:`~neurokit.kernels.spec.KernelSpec` (``build_spec``).

    Example::

        >>> recurrent_loop(torch.rand(5, 2, 4, device="cuda"), torch.zeros(4, 4, device="cuda"), None, spec).shape
        torch.Size([5, 2, 4])
    """
    T, B, N = ff.shape
    v = ff.new_full((B, N), spec.scalars[VR])
    aux = ff.new_zeros((B, N))
    s = ff.new_zeros((B, N))
    out = []
    for t in range(T):
        s, v, aux = _NeuronStep.apply(ff[t] + tf.linear(s, weight_rec, bias_rec), v, aux, s, spec.k_tensor, spec)
        out.append(s)
    return torch.stack(out)
