"""The integer neuron, written once: Lava's bit-accurate CUBA-LIF (shared/research/loihi_nir.md §2.2).

Every integer path (the integer reference simulator, the ONNX lowering, the Loihi lowering) uses these
semantics. One step, with all state in int64 (the decay product needs 36 bits)::

    pu  = u * (4096 - decay_u)                 ; u' = trunc(pu / 4096) + (a_in << 6)    (trunc = toward zero)
    u   = u' - 2**24 if u' >  2**23            ; u = u' + 2**24 if u' <= -2**23         (24-bit WRAP-AROUND)
    pv  = v * (4096 - decay_v)                 ; v = trunc(pv / 4096) + u
    v   = clip(v, -(2**23) + 1, 2**23 - 1)                                               (SATURATION)
    s   = v > (vth << 6)                                                                (strict)
    hard reset: v = 0 where s        soft reset: v = v - (vth << 6) where s

The constants 6 (``act_shift``), 6 (``vth_shift``) and 24 (``uv_bits``) are Lava's and the defaults of
:class:`IntNeuronParams`; a target may declare other values (``onnx_int`` uses ``vth_shift=0``: thresholds
with 64x finer resolution; QAT ``QuantLIF`` layers use their own ``input_shift`` and ``membrane_bits``).

Parameters (:class:`IntNeuronParams`) use the *effective* decays, i.e. netx's ``iDecay``/``vDecay``
(0..4096, in 1/4096 units). Lava's process Vars are ``du = decay_u - 1`` (Lava adds ``ds_offset = 1``)
and ``dv = decay_v``. ``decay_u = 4096`` means the current has no memory: ``u = a_in << 6`` every step,
which is how a plain LIF/IF is expressed. Hard reset is Lava's; soft reset (subtract) is an extension
that a target declares it supports (``onnx_int`` does, ``loihi2`` does not).

Mapping from the float neurons (docs/architecture.md), done by :mod:`compile.passes.quantize`:
``decay_v = round(4096 / tau)`` (IF: 0), ``decay_u = round(4096 / tau_syn)`` (CUBA) or 4096 (LIF/IF);
``decay_input=True`` folds ``1/tau`` into the synapse weights; a synapse whose accumulator unit is worth
``acc_scale[o]`` volts gives ``vth[o] = round(v_threshold / acc_scale[o])`` (one threshold per neuron, the
``<< 6`` alignment is applied to both ``a_in`` and ``vth``, so it cancels).

The same functions run on NumPy int64 arrays, torch int64 tensors and the ONNX lowering's symbolic tensors
(:class:`hw_targets.onnx_sym.Sym`, which emit one ONNX node per operator): only Python operators,
``.clip``, :func:`trunc_shift` and :func:`_like` are used, so this one function body *is* the ONNX graph.

Example::

    p = IntNeuronParams(decay_u=4096, decay_v=2048, vth=np.array([10, 20]))
    u = v = np.zeros(2, np.int64)
    u, v, s = integer_cuba_step(u, v, np.array([11, 11]), p)   # s == [1, 0]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DECAY_SHIFT = 12
DECAY_UNITY = 1 << DECAY_SHIFT  # 4096
ACT_SHIFT = 6
VTH_SHIFT = 6
UV_BITS = 24
MAX_UV = 1 << (UV_BITS - 1)  # 2**23 (Lava's u/v range for the default uv_bits)
V_MIN = -MAX_UV + 1
V_MAX = MAX_UV - 1
VTH_BITS = 17  # Lava / Loihi: vth is unsigned 17-bit (0..131071)
RESETS = ("hard", "soft")


def decay_from_tau(tau: float | None) -> int:
    """Effective 12-bit decay for a float time constant: ``round(4096 / tau)`` clipped to [0, 4096].

    ``tau=None`` (no leak, IF) gives 0. Example: ``decay_from_tau(2.0) == 2048``.
    """
    if tau is None:
        return 0
    if not np.isfinite(tau) or tau < 1.0:
        raise ValueError(f"decay_from_tau: tau must be a finite number >= 1, got {tau!r}")
    return int(min(DECAY_UNITY, max(0, round(DECAY_UNITY / float(tau)))))


@dataclass(frozen=True)
class IntNeuronParams:
    """Integer parameters of one neuron population.

    decay_u: effective current decay (0..4096, netx ``iDecay``); 4096 = LIF without synaptic current.
    decay_v: effective voltage decay (0..4096, netx ``vDecay``); 0 = no leak (IF).
    vth:     int64 array, threshold mantissa per neuron, broadcastable to the population's per-step shape
             (``[O]`` for dense, ``[C, 1, 1]`` for conv); the compared threshold is ``vth << 6``.
    reset:   ``"hard"`` (v = 0 after a spike, Lava) or ``"soft"`` (v -= vth << vth_shift).
    act_shift, vth_shift: left shifts of the synaptic input and of the threshold (Lava: 6, 6).
    uv_bits: width of u and v (Lava: 24): u wraps around, v saturates at +-(2**(uv_bits-1) - 1).
    """

    decay_u: int
    decay_v: int
    vth: np.ndarray
    reset: str = "hard"
    act_shift: int = ACT_SHIFT
    vth_shift: int = VTH_SHIFT
    uv_bits: int = UV_BITS

    def __post_init__(self) -> None:
        for k in ("decay_u", "decay_v"):
            d = getattr(self, k)
            if not (isinstance(d, (int, np.integer)) and 0 <= d <= DECAY_UNITY):
                raise ValueError(f"IntNeuronParams.{k} must be an int in [0, 4096], got {d!r}")
        vth = np.asarray(self.vth)
        if vth.dtype.kind not in "iu" or (vth.size and vth.min() < 0):
            raise ValueError(f"IntNeuronParams.vth must be non-negative integers, got dtype {vth.dtype}, "
                             f"min {vth.min() if vth.size else None}")
        object.__setattr__(self, "vth", vth.astype(np.int64))
        if self.reset not in RESETS:
            raise ValueError(f"IntNeuronParams.reset must be one of {RESETS}, got {self.reset!r}")
        if not (4 <= self.uv_bits <= 32 and 0 <= self.act_shift < self.uv_bits and 0 <= self.vth_shift < self.uv_bits):
            raise ValueError(f"IntNeuronParams: need 4 <= uv_bits <= 32 and 0 <= act_shift, vth_shift < uv_bits; got "
                             f"uv_bits={self.uv_bits}, act_shift={self.act_shift}, vth_shift={self.vth_shift}")


def trunc_shift(x, n: int):
    """Arithmetic right shift by ``n`` rounding toward zero (= integer ``Div`` by ``2**n`` in ONNX).

    Works on int64 NumPy arrays and torch tensors; symbolic ONNX tensors emit an integer ``Div`` (which
    truncates toward zero). Example: ``trunc_shift(np.array([-5000, 5000]), 12)`` is ``[-1, 1]``.
    """
    if hasattr(x, "trunc_div"):
        return x.trunc_div(1 << n)
    return (x + (x < 0) * ((1 << n) - 1)) >> n


def _like(a: np.ndarray, ref):
    """``a`` as the same array type (NumPy, torch, symbolic ONNX) and device as ``ref``."""
    if isinstance(ref, np.ndarray):
        return a
    if hasattr(ref, "const"):
        return ref.const(a)
    import torch

    return torch.as_tensor(a, device=ref.device)


def integer_cuba_step(u, v, a_in, params: IntNeuronParams):
    """One bit-accurate CUBA-LIF step (module docstring). Returns ``(u, v, s)``.

    u, v: int64 state ``[B, *shape]`` (NumPy or torch); a_in: integer synaptic input, same shape
    (the int32 accumulator of this step); s: int64 spikes in {0, 1}. Example in the module docstring.
    """
    top = 1 << (params.uv_bits - 1)
    u = trunc_shift(u * (DECAY_UNITY - params.decay_u), DECAY_SHIFT) + a_in * (1 << params.act_shift)
    u = u - (u > top) * (2 * top) + (u <= -top) * (2 * top)
    v = trunc_shift(v * (DECAY_UNITY - params.decay_v), DECAY_SHIFT) + u
    v = v.clip(1 - top, top - 1)
    th = _like(params.vth << params.vth_shift, v)
    s = (v > th) * 1
    v = v * (1 - s) if params.reset == "hard" else v - s * th
    return u, v, s


def _int64_and_stack(a_in):
    if isinstance(a_in, np.ndarray):
        return a_in.astype(np.int64), np.stack
    import torch

    return a_in.long(), torch.stack


def integer_cuba_run(a_in, params: IntNeuronParams):
    """Run :func:`integer_cuba_step` over time from rest. a_in: int ``[T, B, *shape]`` -> spikes int64 same shape.

    Example: ``integer_cuba_run(np.full((4, 1, 2), 11), p)`` with ``p`` from the module docstring.
    """
    a_in, stack = _int64_and_stack(a_in)
    u = v = a_in[0] * 0
    out = []
    for t in range(a_in.shape[0]):
        u, v, s = integer_cuba_step(u, v, a_in[t], params)
        out.append(s)
    return stack(out)


@dataclass(frozen=True)
class IntIntegratorParams:
    """Integer leaky integrator (a membrane with no threshold and no reset; the readout of delay SNNs).

    decay:     effective decay (0..4096, the neuron's ``decay_v`` convention): ``round(4096 / tau)``.
    act_shift: left shift of the input (fractional bits that keep the decay's rounding small).
    bits:      width of ``v``; it saturates at ``+-(2**(bits-1) - 1)`` (32: an int32 output).
    ``(act_shift, bits) = (6, 24)`` is exactly Lava's LIF voltage with ``iDecay = 4096`` (no current memory),
    ``vDecay = decay`` and no spike: the ``loihi2`` integrator readout.
    Example: ``IntIntegratorParams(decay=205, act_shift=6)`` (tau = 20).
    """

    decay: int
    act_shift: int = ACT_SHIFT
    bits: int = 32

    def __post_init__(self) -> None:
        if not (isinstance(self.decay, (int, np.integer)) and 0 <= self.decay <= DECAY_UNITY):
            raise ValueError(f"IntIntegratorParams.decay must be an int in [0, 4096], got {self.decay!r}")
        if not (4 <= self.bits <= 32 and 0 <= self.act_shift < self.bits):
            raise ValueError(f"IntIntegratorParams: need 4 <= bits <= 32 and 0 <= act_shift < bits; got "
                             f"bits={self.bits}, act_shift={self.act_shift}")


def integer_leaky_step(v, a_in, params: IntIntegratorParams):
    """One integrator step, the neuron's decay convention without spikes::

        v = clip(trunc(v * (4096 - decay) / 4096) + (a_in << act_shift), -(2**(bits-1) - 1), 2**(bits-1) - 1)

    v, a_in: int64 ``[B, *shape]`` (NumPy, torch or symbolic ONNX). Example:
    ``integer_leaky_step(np.array([4096]), np.array([1]), IntIntegratorParams(2048, 0))`` is ``[2049]``.
    """
    top = 1 << (params.bits - 1)
    v = trunc_shift(v * (DECAY_UNITY - params.decay), DECAY_SHIFT) + a_in * (1 << params.act_shift)
    return v.clip(1 - top, top - 1)


def integer_leaky_run(a_in, params: IntIntegratorParams):
    """:func:`integer_leaky_step` over time from ``v = 0``: a_in int ``[T, B, *shape]`` -> trace ``v`` int64, same
    shape. Example: ``integer_leaky_run(np.full((3, 1, 1), 4), IntIntegratorParams(2048, 0))`` gives ``4, 6, 7``."""
    a_in, stack = _int64_and_stack(a_in)
    v = a_in[0] * 0
    out = []
    for t in range(a_in.shape[0]):
        v = integer_leaky_step(v, a_in[t], params)
        out.append(v)
    return stack(out)
