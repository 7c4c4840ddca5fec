"""Triton kernels for the fused neuron time loop, forward and backward, every family and surrogate.

One Triton lane per neuron, looping over ``T`` with the state (``v``, synaptic current or adaptation, previous
spike) in registers; parallelism is over the ``N = B * features`` neurons only. Every switch of
:class:`neurokit.kernels.spec.KernelSpec` and the surrogate id are ``tl.constexpr`` (one compiled variant per
configuration, dead branches removed); the surrogate parameters are runtime fp32 scalars. Inputs may be
fp32/bf16/fp16; state and arithmetic are fp32. Kernels are launched with ``enable_fp_fusion=False`` so that no
multiply-add is contracted into an FMA: fp32 spikes then match the reference loop bit for bit.

Bytes moved per neuron-step (``d`` = input element size, 4 for fp32, 2 for bf16/fp16), without optional outputs:

* forward: read ``x`` (d), write spikes (d) and ``h`` (4 B fp32 input; d + 1 B uint8 spikes otherwise):
  **12 B fp32, 7 B bf16/fp16**; ALIF +``th`` (4 B / d); ``store_v_seq`` +4 B.
* backward: read ``grad_s`` (4 B, fp32 after autograd), ``h`` (4 B / d + 1 B), write ``grad_x`` (4 B fp32, cast
  to the input dtype by autograd): **12 B fp32, 11 B bf16/fp16**; ALIF +``th``; PLIF with ``decay_input`` reads
  ``x`` and ``h[t-1]`` (cache hit) for the gradient of ``tau``.

Example::

    >>> spec = build_spec("lif", LIFParams(), nk.surrogate.get("atan"))
    >>> s, v_seq, v, aux, h, th, s8 = forward(torch.rand(4, 10, device="cuda"), None, 0.5, spec, False)
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .spec import ALIF, CUBA, DECAY_INPUT, DETACH, HARD_RESET, RAD, SG_ID, KernelSpec

__all__ = ["forward", "backward", "block_size"]


@triton.jit
def _lanes_and_decay(N, k_ptr, k_scalar, K_PTR: tl.constexpr, BLOCK: tl.constexpr):
    """This program's neuron lanes ``offs``, their ``mask`` (``offs < N``) and the decay ``k``: a learnable one read
    from ``k_ptr`` (PLIF), else the constant ``k_scalar``. Shared by every forward and backward kernel."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    if K_PTR:
        k = tl.load(k_ptr)
    else:
        k = k_scalar
    return offs, mask, k


@triton.jit
def _surrogate(z, SG: tl.constexpr, p0, p1, p2):
    """Surrogate derivative at ``z`` (fp32); ids and parameter packing as in ``spec._surrogate_scalars``."""
    if SG == 0:  # atan
        m = p1 * z
        r = p0 / (1.0 + m * m)
    elif SG == 1:  # sigmoid
        e = 1.0 / (1.0 + tl.exp(-(p0 * z)))
        r = p0 * e * (1.0 - e)
    elif SG == 2:  # fast_sigmoid
        d = 1.0 + p0 * tl.abs(z)
        r = 1.0 / (d * d)
    elif SG == 3:  # triangle
        r = tl.maximum(1.0 - tl.abs(z) / p0, 0.0) / p0
    elif SG == 4:  # rectangle
        r = tl.where(tl.abs(z) < p0 * 0.5, 1.0 / p0, 0.0)
    elif SG == 5:  # ste (p0 = clip, inf when unclipped)
        r = tl.where(tl.abs(z) <= p0, 1.0, 0.0)
    elif SG == 6:  # reste: p0 = 1/o, p1 = t, p2 = interval
        a = tl.abs(z)
        power = p0 * tl.exp2(tl.log2(tl.maximum(a, p2)) * (p0 - 1.0))
        inner = tl.exp2(tl.log2(p2 + tl.zeros_like(z)) * (p0 - 1.0))
        r = tl.where(a > p1, 0.0, tl.where(a <= p2, inner, power))
    else:  # biper
        r = p0 * tl.cos(p0 * z)
    return r


@triton.jit
def _update(x, v, aux, s_prev, k, vth, vr, syn, rho, omr, beta, DI: tl.constexpr, HARD: tl.constexpr,
            RAD_: tl.constexpr, CUBA_: tl.constexpr, ALIF_: tl.constexpr):
    """One step of the recurrence in :mod:`neurokit.kernels.spec` on fp32 lanes: ``(spike, h, th, v, aux)`` from
    the input ``x`` and the state ``(v, aux, s_prev)``; shared by the time-loop and the single-step kernels."""
    if CUBA_:
        aux = aux * syn + x
        u = aux
    else:
        u = x
    if ALIF_:
        aux = aux * rho + s_prev * omr
        th = beta * aux + vth
    else:
        th = vth
    if DI:
        h = v + (u - (v - vr)) * k
    else:
        h = v - (v - vr) * k + u
    if RAD_:
        h = h - vth * s_prev
    sp = tl.where(h - th > 0.0, 1.0, 0.0)
    if HARD:
        v = h * (1.0 - sp) + vr * sp
    elif RAD_:
        v = h
    else:
        v = h - th * sp
    return sp, h, th, v, aux


@triton.jit(do_not_specialize=["T"])
def _forward_kernel(x_ptr, s_ptr, h_ptr, th_ptr, vseq_ptr, s8_ptr, vlast_ptr, aux_ptr, k_ptr,
                    T, N, k_scalar, vth, vr, syn, rho, omr, beta,
                    DI: tl.constexpr, HARD: tl.constexpr, RAD_: tl.constexpr, CUBA_: tl.constexpr,
                    ALIF_: tl.constexpr, STORE_V: tl.constexpr, SAVE_S8: tl.constexpr, K_PTR: tl.constexpr,
                    BLOCK: tl.constexpr):
    offs, mask, k = _lanes_and_decay(N, k_ptr, k_scalar, K_PTR, BLOCK)
    v = tl.zeros([BLOCK], tl.float32) + vr
    aux = tl.zeros([BLOCK], tl.float32)
    s_prev = tl.zeros([BLOCK], tl.float32)
    x_p, s_p, h_p, th_p = x_ptr + offs, s_ptr + offs, h_ptr + offs, th_ptr + offs
    vs_p, s8_p = vseq_ptr + offs, s8_ptr + offs
    for _t in range(T):
        x = tl.load(x_p, mask=mask, other=0.0).to(tl.float32)
        sp, h, th, v, aux = _update(x, v, aux, s_prev, k, vth, vr, syn, rho, omr, beta, DI, HARD, RAD_, CUBA_,
                                    ALIF_)
        if ALIF_:
            tl.store(th_p, th.to(th_p.dtype.element_ty), mask=mask)
        s_prev = sp
        tl.store(s_p, sp.to(s_p.dtype.element_ty), mask=mask)
        tl.store(h_p, h.to(h_p.dtype.element_ty), mask=mask)
        if SAVE_S8:
            tl.store(s8_p, sp.to(tl.uint8), mask=mask)
        if STORE_V:
            tl.store(vs_p, v, mask=mask)
        x_p += N
        s_p += N
        h_p += N
        th_p += N
        vs_p += N
        s8_p += N
    tl.store(vlast_ptr + offs, v, mask=mask)
    tl.store(aux_ptr + offs, aux, mask=mask)


@triton.jit
def _grad_through_reset(gs, gv, h, th, c2, vth, vr, HARD: tl.constexpr, RAD_: tl.constexpr, DETACH_: tl.constexpr):
    """dL/ds plus what reaches the spike through the reset (nothing when the reset is detached)."""
    if not DETACH_:
        if HARD:
            gs = gs + gv * (vr - h)
        elif RAD_:
            gs = gs + c2 * vth
        else:
            gs = gs - gv * th
    return gs


@triton.jit
def _decay_grad_term(gh, h_p, s8_p, x_p, has_prev, mask, N, vth, vr, DI: tl.constexpr, HARD: tl.constexpr,
                     HAS_S: tl.constexpr):
    """This step's term of dL/dk (learnable decay): ``gh * (x[t] - dv)`` (``-gh * dv`` without input decay), where
    ``dv = v[t-1] - v_reset`` after the previous step's reset (0 at t = 0)."""
    hp = tl.load(h_p - N, mask=has_prev, other=0.0).to(tl.float32)
    if HAS_S:
        spp = tl.load(s8_p - N, mask=has_prev, other=0).to(tl.float32)
    else:
        spp = tl.where(hp - vth > 0.0, 1.0, 0.0)
    if HARD:
        dv = hp * (1.0 - spp) + vr * spp - vr
    else:
        dv = hp - vth * spp - vr
    dv = tl.where(has_prev, dv, 0.0)
    if DI:
        term = gh * (tl.load(x_p, mask=mask, other=0.0).to(tl.float32) - dv)
    else:
        term = gh * (-dv)
    return term


@triton.jit
def _adaptation_grads(gs, sg, gv, sp, c1, beta, rho, omr, HARD: tl.constexpr):
    """ALIF: the carried gradients of the adaptation variable, ``(c1, c2)``, from this step's threshold gradient."""
    gth = -(gs * sg)
    if not HARD:
        gth = gth - gv * sp
    gb = gth * beta + c1
    return gb * rho, gb * omr


@triton.jit(do_not_specialize=["T"])
def _backward_kernel(gs_ptr, gvseq_ptr, h_ptr, th_ptr, s8_ptr, x_ptr, gx_ptr, gk_ptr, gvlast_ptr, gaux_ptr, k_ptr,
                     T, N, k_scalar, vth, vr, syn, rho, omr, beta, p0, p1, p2,
                     DI: tl.constexpr, HARD: tl.constexpr, DETACH_: tl.constexpr, RAD_: tl.constexpr,
                     CUBA_: tl.constexpr, ALIF_: tl.constexpr, HAS_GVSEQ: tl.constexpr, HAS_S: tl.constexpr,
                     LEARN_K: tl.constexpr, K_PTR: tl.constexpr, SG: tl.constexpr, BLOCK: tl.constexpr):
    offs, mask, k = _lanes_and_decay(N, k_ptr, k_scalar, K_PTR, BLOCK)
    g_v = tl.load(gvlast_ptr + offs, mask=mask, other=0.0)
    if CUBA_ or ALIF_:
        c1 = tl.load(gaux_ptr + offs, mask=mask, other=0.0)
    else:
        c1 = tl.zeros([BLOCK], tl.float32)
    c2 = tl.zeros([BLOCK], tl.float32)
    g_k = tl.zeros([BLOCK], tl.float32)
    start = (T - 1).to(tl.int64) * N + offs
    gs_p, gvs_p, h_p, th_p = gs_ptr + start, gvseq_ptr + start, h_ptr + start, th_ptr + start
    s8_p, x_p, gx_p = s8_ptr + start, x_ptr + start, gx_ptr + start
    for i in range(T):
        h = tl.load(h_p, mask=mask, other=0.0).to(tl.float32)
        if ALIF_:
            th = tl.load(th_p, mask=mask, other=0.0).to(tl.float32)
        else:
            th = vth
        z = h - th
        if HAS_S:
            sp = tl.load(s8_p, mask=mask, other=0).to(tl.float32)
        else:
            sp = tl.where(z > 0.0, 1.0, 0.0)
        sg = _surrogate(z, SG, p0, p1, p2)
        gv = g_v
        if HAS_GVSEQ:
            gv = gv + tl.load(gvs_p, mask=mask, other=0.0).to(tl.float32)
        gs = tl.load(gs_p, mask=mask, other=0.0).to(tl.float32)
        if ALIF_:
            gs = gs + c2
        gs = _grad_through_reset(gs, gv, h, th, c2, vth, vr, HARD, RAD_, DETACH_)
        if HARD:
            gh = gv * (1.0 - sp) + gs * sg
        else:
            gh = gv + gs * sg
        if ALIF_:
            c1, c2 = _adaptation_grads(gs, sg, gv, sp, c1, beta, rho, omr, HARD)
        if LEARN_K:
            g_k += _decay_grad_term(gh, h_p, s8_p, x_p, mask & ((offs * 0 + i) < T - 1), mask, N, vth, vr,
                                    DI, HARD, HAS_S)
        if DI:
            gu = gh * k
        else:
            gu = gh
        if CUBA_:
            gi = gu + c1
            c1 = gi * syn
            tl.store(gx_p, gi, mask=mask)
        else:
            tl.store(gx_p, gu, mask=mask)
        if RAD_:
            c2 = -gh
        g_v = gh * (1.0 - k)
        gs_p -= N
        gvs_p -= N
        h_p -= N
        th_p -= N
        s8_p -= N
        x_p -= N
        gx_p -= N
    if LEARN_K:
        tl.store(gk_ptr + offs, g_k, mask=mask)


def block_size(n: int, device: torch.device) -> tuple[int, int]:
    """``(BLOCK, num_warps)``: 1024 lanes/8 per thread for >= 1M neurons, 256/2 warps below; 64 in the interpreter
    (CPU tensors), so that small test sizes still span several programs and a masked tail."""
    if device.type != "cuda":
        return 64, 1
    return (1024, 4) if n >= (1 << 20) else (256, 2)


def _launch_opts(device):
    return {} if device.type != "cuda" else {"enable_fp_fusion": False}


def forward(x, k_tensor, k, spec: KernelSpec, store_v: bool):
    """Launch the forward kernel on ``x [T, N]`` (contiguous). Same outputs as ``neurokit::neuron_forward``."""
    T, N = x.shape
    f, sc = spec.flags, spec.scalars
    store = torch.float32 if x.dtype == torch.float32 else x.dtype
    lowp = x.dtype != torch.float32
    s = torch.empty_like(x)
    h = torch.empty((T, N), dtype=store, device=x.device)
    th = torch.empty((T, N) if f[ALIF] else (0,), dtype=store, device=x.device)
    v_seq = torch.empty((T, N) if store_v else (0,), dtype=torch.float32, device=x.device)
    s8 = torch.empty((T, N) if lowp else (0,), dtype=torch.uint8, device=x.device)
    v_last = torch.empty((N,), dtype=torch.float32, device=x.device)
    aux = torch.empty((N,), dtype=torch.float32, device=x.device)
    block, warps = block_size(N, x.device)
    _forward_kernel[(triton.cdiv(N, block),)](
        x, s, h, th if f[ALIF] else h, v_seq if store_v else h, s8 if lowp else h, v_last, aux,
        k_tensor if k_tensor is not None else v_last, T, N, k, sc[0], sc[1], sc[2], sc[3], sc[4], sc[5],
        DI=bool(f[DECAY_INPUT]), HARD=bool(f[HARD_RESET]), RAD_=bool(f[RAD]), CUBA_=bool(f[CUBA]),
        ALIF_=bool(f[ALIF]), STORE_V=bool(store_v), SAVE_S8=lowp, K_PTR=k_tensor is not None, BLOCK=block,
        num_warps=warps, **_launch_opts(x.device))
    return s, v_seq, v_last, aux, h, th, s8


def backward(g_s, g_vseq, g_vlast, g_auxlast, h, th, s, x, k_tensor, k, spec: KernelSpec):
    """Launch the backward kernel. Returns ``(grad_x [T, N] fp32, grad_k per neuron [N] fp32)``."""
    T, N = h.shape
    f, sc = spec.flags, spec.scalars
    g_x = torch.empty((T, N), dtype=torch.float32, device=h.device)
    g_k = torch.zeros((N,), dtype=torch.float32, device=h.device)
    block, warps = block_size(N, h.device)
    _backward_kernel[(triton.cdiv(N, block),)](
        g_s, g_vseq if g_vseq is not None else g_s, h, th if f[ALIF] else h, s if s.numel() else h,
        x if x is not None else h, g_x, g_k, g_vlast, g_auxlast, k_tensor if k_tensor is not None else g_k,
        T, N, k, sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], sc[7], sc[8],
        DI=bool(f[DECAY_INPUT]), HARD=bool(f[HARD_RESET]), DETACH_=bool(f[DETACH]), RAD_=bool(f[RAD]),
        CUBA_=bool(f[CUBA]), ALIF_=bool(f[ALIF]), HAS_GVSEQ=g_vseq is not None, HAS_S=bool(s.numel()),
        LEARN_K=k_tensor is not None, K_PTR=k_tensor is not None, SG=int(f[SG_ID]), BLOCK=block,
        num_warps=warps, **_launch_opts(h.device))
    return g_x, g_k
