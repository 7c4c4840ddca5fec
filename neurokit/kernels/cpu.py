"""Fused CPU time loop (Numba): forward and backward of every neuron family in one pass over ``[T, N]``.

The neurons are split into chunks of ``CHUNK`` consecutive columns that run in parallel (Numba ``prange``, at most
``torch.get_num_threads()`` threads, set per call). Inside a chunk the loop is time-outer, neuron-inner: per step it
hands 1-D row slices (``x[t, lo:hi]``, the chunk's state ``v[lo:hi]``, ...) to :func:`forward_row` /
:func:`backward_row`, whose loop runs from 0 over contiguous rows, so LLVM vectorizes it (AVX2/AVX-512; a signed
``range(lo, hi)`` over 2-D indices does not vectorize: the index wrap-around check blocks it). The kernels compile
with ``error_model="numpy"`` (a float division by zero gives inf instead of a Python exception check per element,
which would also block vectorization). Neurons are independent, so the result does not depend on the thread count
or the chunking (bit-identical; tested). All arithmetic is fp32 in the reference's operation order, with no FMA
contraction and no fast-math (:mod:`neurokit.kernels.spec`), so spikes are bit-identical to
:func:`neurokit.neurons.functional.lif_reference` and friends. bf16/fp16 inputs are converted to fp32 once by the
caller (:mod:`neurokit.kernels.autograd`).

Bytes moved per neuron-step (fp32 arrays): forward reads ``x`` (4) and writes ``s`` and ``h`` (8), plus ``th`` (4)
for ALIF and ``v`` (4) with ``store_v_seq``; backward reads ``grad_s`` and ``h`` (8) and writes ``grad_x`` (4),
plus ``th`` (ALIF), ``x`` (PLIF with decay_input), ``grad_v_seq`` (when given). A ``grad_s`` that is the same at
every step (``spikes.sum()``, a loss on ``spikes.sum(0)``) is read as one ``[1, N]`` row: backward then reads 4 B
(``h``) and writes 4 B per neuron-step.

Example::

    >>> x = np.random.rand(4, 10).astype(np.float32)     # [T, N]
    >>> out = forward_arrays(x, build_spec("lif", LIFParams(), nk.surrogate.get("atan")), 0.5, store_v=False)
    >>> out["s"].shape
    (4, 10)
"""
from __future__ import annotations

import functools

import numba
import numpy as np

from .spec import ALIF, CUBA, DECAY_INPUT, DETACH, HARD_RESET, RAD, SG_ID, KernelSpec

__all__ = ["forward_arrays", "backward_arrays", "set_threads", "CHUNK", "forward_row", "backward_row"]

CHUNK = 1024  # neurons per parallel task: 4 KiB per state slice, several tasks per thread at N >= 16K

_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)
_HALF = np.float32(0.5)


@numba.njit(inline="always")
def _surrogate(z, sid, p0, p1, p2):
    """Surrogate derivative at ``z`` (fp32), same formulas as ``Surrogate.derivative`` (ids: SURROGATE_IDS)."""
    if sid == 0:  # atan: p0 = alpha/2, p1 = pi/2*alpha
        m = p1 * z
        return p0 / (_ONE + m * m)
    if sid == 1:  # sigmoid: p0 = alpha
        e = _ONE / (_ONE + np.exp(-(p0 * z)))
        return p0 * e * (_ONE - e)
    if sid == 2:  # fast_sigmoid: p0 = slope
        d = _ONE + p0 * abs(z)
        return _ONE / (d * d)
    if sid == 3:  # triangle: p0 = width
        return max(_ONE - abs(z) / p0, _ZERO) / p0
    if sid == 4:  # rectangle: p0 = width
        return _ONE / p0 if abs(z) < p0 * _HALF else _ZERO
    if sid == 5:  # ste: p0 = clip (inf = no clip)
        return _ONE if abs(z) <= p0 else _ZERO
    if sid == 6:  # reste: p0 = 1/o, p1 = t, p2 = interval
        a = abs(z)
        if a > p1:
            return _ZERO
        if a <= p2:
            return np.float32(p2 ** (p0 - _ONE))
        return p0 * np.float32(a ** (p0 - _ONE))
    return p0 * np.cos(p0 * z)  # biper: p0 = freq


@functools.lru_cache(maxsize=None)
def _forward_kernel(di, hard, rad, cuba, alif, store_v, parallel=True):
    """Compile the forward loop with the switches frozen as constants (dead branches vanish, the loop vectorizes).

    Arrays a variant does not read are ``[T, 0]`` placeholders, so their row slices are valid (and empty)."""

    @numba.njit(nogil=True, parallel=parallel, error_model="numpy")
    def kernel(x, s_out, h_out, th_out, v_seq, v, aux, s0, k, sc):
        T, N = x.shape
        for c in numba.prange((N + CHUNK - 1) // CHUNK):
            lo, hi = c * CHUNK, min(N, (c + 1) * CHUNK)
            v_c, aux_c = v[lo:hi], aux[lo:hi]
            for t in range(T):
                s_prev = s0[lo:hi] if t == 0 else s_out[t - 1, lo:hi]
                forward_row(x[t, lo:hi], s_out[t, lo:hi], h_out[t, lo:hi], th_out[t, lo:hi], v_seq[t, lo:hi],
                            v_c, aux_c, s_prev, k, sc, di, hard, rad, cuba, alif, store_v)

    return kernel


@numba.njit(inline="always")
def forward_row(x, s, h, th_row, v_row, v, aux, s_prev, k, sc, di, hard, rad, cuba, alif, store_v):
    """One step of the forward recurrence for a run of neurons, all arguments 1-D rows of the same length: reads
    ``x`` and the previous spikes ``s_prev``, writes ``s``, ``h`` (and ``th_row`` for ALIF, ``v_row`` with
    ``store_v``), updates the state ``v`` and ``aux`` in place. Rows indexed from 0 let LLVM vectorize the loop."""
    vth, vr, syn, rho, omr, beta = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5]
    for n in range(x.shape[0]):
        vv = v[n]
        if cuba:
            u = aux[n] * syn + x[n]
            aux[n] = u
        else:
            u = x[n]
        thn = vth
        if alif:
            b = aux[n] * rho + s_prev[n] * omr
            aux[n] = b
            thn = beta * b + vth
            th_row[n] = thn
        if di:
            hh = vv + (u - (vv - vr)) * k
        else:
            hh = vv - (vv - vr) * k + u
        if rad:
            hh = hh - vth * s_prev[n]
        sp = _ONE if hh - thn > _ZERO else _ZERO
        if hard:
            vn = hh * (_ONE - sp) + vr * sp
        elif rad:
            vn = hh
        else:
            vn = hh - thn * sp
        v[n] = vn
        s[n] = sp
        h[n] = hh
        if store_v:
            v_row[n] = vn


@functools.lru_cache(maxsize=None)
def _backward_kernel(di, hard, detach, rad, cuba, alif, has_gvseq, has_s, learn_k, sid, parallel=True):
    """Compile the reverse loop with the switches and the surrogate id frozen as constants."""

    @numba.njit(nogil=True, parallel=parallel, error_model="numpy")
    def kernel(g_s, g_vseq, h, th, s8, x, g_x, g_k, g_v, c1, c2, k, sc):
        T, N = h.shape
        for c in numba.prange((N + CHUNK - 1) // CHUNK):
            lo, hi = c * CHUNK, min(N, (c + 1) * CHUNK)
            g_v_c, c1_c, c2_c, g_k_c = g_v[lo:hi], c1[lo:hi], c2[lo:hi], g_k[lo:hi]
            last_g = g_s.shape[0] - 1  # g_s is [T, N], or [1, N] for one row broadcast over time
            for t in range(T - 1, -1, -1):
                tp = max(t - 1, 0)
                backward_row(g_s[min(t, last_g), lo:hi], g_vseq[t, lo:hi], h[t, lo:hi], th[t, lo:hi], s8[t, lo:hi],
                             x[t, lo:hi], h[tp, lo:hi], s8[tp, lo:hi], t > 0, g_x[t, lo:hi], g_v_c, c1_c, c2_c,
                             g_k_c, k, sc, di, hard, detach, rad, cuba, alif, has_gvseq, has_s, learn_k, sid)

    return kernel


@numba.njit(inline="always")
def backward_row(g_s, g_vseq, h, th_row, s8, x, h_prev, s8_prev, has_prev, g_x, g_v, c1, c2, g_k, k, sc,
                 di, hard, detach, rad, cuba, alif, has_gvseq, has_s, learn_k, sid):
    """Step ``t`` of the reverse loop for a run of neurons (1-D rows, same length): reads the step's ``g_s``,
    ``h`` (and ``th_row``, ``s8``, ``x``, ``g_vseq`` where the switches need them; ``h_prev``/``s8_prev`` of step
    ``t-1`` when ``has_prev`` and ``learn_k``), writes ``g_x``, updates the carries ``g_v``, ``c1``, ``c2`` and
    the decay gradient ``g_k`` in place."""
    vth, vr, syn, rho, omr, beta = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5]
    p0, p1, p2 = sc[6], sc[7], sc[8]
    for n in range(h.shape[0]):
        hh = h[n]
        thn = th_row[n] if alif else vth
        z = hh - thn
        if has_s:
            sp = np.float32(s8[n])
        else:
            sp = _ONE if z > _ZERO else _ZERO
        sg = _surrogate(z, sid, p0, p1, p2)
        gv = g_v[n]
        if has_gvseq:
            gv = gv + g_vseq[n]
        gs = g_s[n]
        if alif:
            gs = gs + c2[n]
        if not detach:
            if hard:
                gs = gs + gv * (vr - hh)
            elif rad:
                gs = gs + c2[n] * vth
            else:
                gs = gs - gv * thn
        gh = (gv * (_ONE - sp) if hard else gv) + gs * sg
        if alif:
            gth = -(gs * sg)
            if not hard:
                gth = gth - gv * sp
            gb = gth * beta + c1[n]
            c1[n] = gb * rho
            c2[n] = gb * omr
        if learn_k:
            if has_prev:
                hp = h_prev[n]
                if has_s:
                    spp = np.float32(s8_prev[n])
                else:
                    spp = _ONE if hp - vth > _ZERO else _ZERO
                dv = (hp * (_ONE - spp) + vr * spp if hard else hp - vth * spp) - vr
            else:
                dv = _ZERO
            g_k[n] += gh * ((x[n] - dv) if di else -dv)
        gu = gh * k if di else gh
        if cuba:
            gi = gu + c1[n]
            c1[n] = gi * syn
            g_x[n] = gi
        else:
            g_x[n] = gu
        if rad:
            c2[n] = -gh
        g_v[n] = gh * (_ONE - k)


def set_threads(n: int | None = None) -> int:
    """Bound the kernels' threads by ``n`` (default ``torch.get_num_threads()``) and Numba's pool; returns the count.

    Example:
        >>> set_threads(1)
        1
    """
    if n is None:
        import torch

        n = torch.get_num_threads()
    import torch

    torch_threads = torch.get_num_threads()
    n = max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))
    if numba.get_num_threads() != n:
        numba.set_num_threads(n)
    if torch.get_num_threads() != torch_threads:   # Numba's OpenMP layer shares libgomp with torch: keep torch's
        torch.set_num_threads(torch_threads)
    return n


def _parallel(n_neurons: int) -> bool:
    """Run the parallel variant only when there are several chunks and more than one thread: a single chunk gains
    nothing from the thread pool and would pay its wake-up (milliseconds on a loaded machine)."""
    return n_neurons > CHUNK and set_threads() > 1


def _none(T: int, dtype=np.float32) -> np.ndarray:
    """Placeholder for an array a kernel variant does not read: ``[T, 0]``, so that its row slices are valid and
    empty."""
    return np.empty((T, 0), dtype)


def forward_arrays(x: np.ndarray, spec: KernelSpec, k: float, store_v: bool) -> dict:
    """Run the forward loop on a contiguous fp32 ``x`` of shape ``[T, N]``.

    Returns a dict of numpy arrays: ``s`` (spikes, fp32 ``[T, N]``), ``h`` (pre-spike membrane ``[T, N]``),
    ``th`` (ALIF thresholds ``[T, N]`` or empty), ``v_seq`` (``[T, N]`` or empty), ``v`` (final membrane ``[N]``),
    ``aux`` (final synaptic current for CubaLIF / adaptation ``b`` for ALIF, ``[N]``; zeros otherwise).
    """
    T, N = x.shape
    f = spec.flags
    sc = np.asarray(spec.scalars, dtype=np.float32)
    out = {"s": np.empty((T, N), np.float32), "h": np.empty((T, N), np.float32),
           "th": np.empty((T, N), np.float32) if f[ALIF] else _none(T),
           "v_seq": np.empty((T, N), np.float32) if store_v else _none(T),
           "v": np.full(N, sc[1], np.float32), "aux": np.zeros(N, np.float32)}
    kernel = _forward_kernel(bool(f[DECAY_INPUT]), bool(f[HARD_RESET]), bool(f[RAD]), bool(f[CUBA]), bool(f[ALIF]),
                             bool(store_v), _parallel(N))
    kernel(x, out["s"], out["h"], out["th"], out["v_seq"], out["v"], out["aux"], np.zeros(N, np.float32),
           np.float32(k), sc)
    return out


def backward_arrays(g_s, g_vseq, g_vlast, g_auxlast, h, th, s, x, spec: KernelSpec, k: float) -> tuple:
    """Reverse loop. All arrays are contiguous numpy; ``[T, N]`` fp32 except ``s`` (uint8 or ``None``) and ``g_s``,
    which may also be one row ``[1, N]`` that holds for every step (the gradient of ``spikes.sum()`` or of a loss on
    ``spikes.sum(0)`` is constant over time: passing it as one row saves writing and reading a ``[T, N]`` copy).

    ``g_vseq``/``th``/``x`` may be ``None`` when not needed. Returns ``(g_x [T, N], g_k [N])`` (``g_k`` is the
    per-neuron partial gradient of the decay ``k``; all zeros unless ``spec.learn_k``).
    """
    T, N = h.shape
    f = spec.flags
    sc = np.asarray(spec.scalars, dtype=np.float32)
    g_x = np.empty((T, N), np.float32)
    g_k = np.zeros(N, np.float32)
    g_v = np.array(g_vlast, dtype=np.float32, copy=True)
    c1 = np.array(g_auxlast, dtype=np.float32, copy=True) if (f[CUBA] or f[ALIF]) else np.zeros(N, np.float32)
    c2 = np.zeros(N, np.float32)
    kernel = _backward_kernel(bool(f[DECAY_INPUT]), bool(f[HARD_RESET]), bool(f[DETACH]), bool(f[RAD]),
                              bool(f[CUBA]), bool(f[ALIF]), g_vseq is not None, s is not None, spec.learn_k,
                              int(f[SG_ID]), _parallel(N))
    kernel(g_s, _none(T) if g_vseq is None else g_vseq, h, _none(T) if th is None else th,
           _none(T, np.uint8) if s is None else s, _none(T) if x is None else x, g_x, g_k, g_v, c1, c2,
           np.float32(k), sc)
    return g_x, g_k
