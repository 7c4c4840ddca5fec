"""Integer arithmetic of neurokit, written once (imports only NumPy, the standard library and :mod:`neurokit.errors`).

Everything integer in the project calls this module: the training-time ``QuantLIF`` (:mod:`neurokit.layers.quant`),
the integer reference simulator (:mod:`compile.integer_sim`), the quantize pass, the ONNX lowering (these same
functions evaluated on symbolic ONNX tensors, so their body *is* the ONNX graph) and the Loihi simulator/lowering.

**The integer CUBA-LIF step** is Lava's bit-accurate model (lava-nc/lava ``src/lava/proc/lif/models.py``,
``AbstractPyLifModelFixed`` / ``PyLifModelBitAcc``), all state in int64 (the decay product needs 36 bits)::

    u   = trunc(u * (4096 - decay_u) / 2**12) + (a_in << act_shift)                   (trunc = toward zero)
    u   = u - 2**uv_bits if u > 2**(uv_bits-1);  u + 2**uv_bits if u <= -2**(uv_bits-1)  (WRAP-AROUND)
    v   = trunc(v * (4096 - decay_v) / 2**12) + u
    v   = clip(v, -(2**(uv_bits-1)) + 1, 2**(uv_bits-1) - 1)                          (SATURATION)
    s   = v > (vth << vth_shift)                                                       (strict)
    hard reset: v = 0 where s;   soft reset (an extension, not Lava's): v = v - (vth << vth_shift) where s

``reset_next_step=True`` (an extension, snnTorch's order for ``Leaky`` subtraction and ``Synaptic``, its default
``reset_delay=True``) defers the reset of a spike at ``t`` to step ``t + 1``, after that step's decay and input:
``v`` keeps the un-reset membrane, and the next charge applies the reset of the spike it recorded
(``p = v > (vth << vth_shift)``, the same comparison that fired it) before saturating::

    v   = clip(trunc(v * (4096 - decay_v) / 2**12) + u - p * (vth << vth_shift), ...)     (soft)
    v   = clip((trunc(v * (4096 - decay_v) / 2**12) + u) * (1 - p), ...)                 (hard)
    s   = v > (vth << vth_shift)                                                            (no reset now)

With ``u_register=False`` (only with ``decay_u = 4096``, i.e. no current memory) there is no ``u`` register: the
shifted input goes straight into ``v`` (no wrap-around), which is ``QuantLIF``'s membrane. With Lava's format
(16-bit ``a_in`` shifted by 6 into 24 bits) the wrap can never trigger for ``decay_u = 4096``, so both agree there.

Constants and their public sources:

* ``DECAY_SHIFT = 12``, ``DECAY_UNITY = 4096``: Lava ``decay_shift`` / ``decay_unity``; decays are multiplied as
  ``(4096 - d)`` then shifted right by 12 rounding toward zero (``sign(p) * (|p| >> 12)``);
* ``ACT_SHIFT = 6``, ``VTH_SHIFT = 6``: Lava ``act_shift`` / ``vth_shift`` (MSB alignment of ``a_in`` and ``vth``);
* ``UV_BITS = 24``: Lava ``uv_bitwidth`` (``u``, ``v``: int32 with precision 24, ``max_uv_val = 2**23``);
* ``VTH_BITS = 17``: Lava ``vth`` precision 17 (0..131071); ``A_IN_BITS = 16``: Lava ``a_in`` int16, precision 16
  (the accumulator width the integer targets requantize to);
* effective decays 0..4096 are lava-dl netx's ``iDecay`` / ``vDecay`` (lava-nc/lava-dl
  ``src/lava/lib/dl/netx/README.md``; ``current_decay = iDecay / 4096``); Lava's process Var is ``du = iDecay - 1``
  (it adds ``ds_offset = 1``), ``dv = vDecay``;
* ``INPUT_QMAX = 127``: symmetric narrow-range int8, ``S = max|r| / (2**(b-1) - 1)`` (Gholami et al. 2021, "A Survey
  of Quantization Methods for Efficient Neural Network Inference", arXiv 2103.13630, §III-C "restricted range");
* ``REQUANT_SHIFT = 16``: requantization is integer-only, a fixed-point multiplier then a right shift (the same
  survey §IV-A, dyadic scales ``b / 2**c``; Jacob et al. 2018, arXiv 1712.05877: "a fixed-point constant multiplier
  ... and right-shifting the result"); neurokit uses 16 fractional bits.

The functions take int64 NumPy arrays, torch int64 tensors (anything with the Python operators, ``.clip`` and
``>>``) or symbolic ONNX tensors (objects with ``trunc_div`` and ``const``): only Python operators (``%`` in
:func:`wrap`), ``.clip``,
:func:`trunc_shift` and :func:`floor_shift` are used.

Example::

    p = IntNeuronParams(decay_u=4096, decay_v=2048, vth=np.array([10, 20]))
    u = v = np.zeros(2, np.int64)
    u, v, s = integer_cuba_step(u, v, np.array([11, 11]), p)   # s == [1, 0]
"""
from __future__ import annotations

import math
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
VTH_BITS = 17
A_IN_BITS = 16
INPUT_QMAX = 127
REQUANT_SHIFT = 16
RESETS = ("hard", "soft")


def decay_from_tau(tau: float | None) -> int:
    """Effective 12-bit decay for a time constant in steps: ``round(4096 / tau)`` clipped to [0, 4096].

    ``tau=None`` or ``inf`` (no leak, IF) gives 0; ``ValueError`` for ``tau < 1`` or NaN. Example:
    ``decay_from_tau(2.0) == 2048``.
    """
    if tau is None or tau == math.inf:
        return 0
    if not np.isfinite(tau) or tau < 1.0:
        raise ValueError(f"decay_from_tau: tau must be a finite number >= 1, got {tau!r}")
    return int(min(DECAY_UNITY, max(0, round(DECAY_UNITY / float(tau)))))


def trunc_shift(x, n: int):
    """Arithmetic right shift by ``n`` rounding toward zero (= integer ``Div`` by ``2**n`` in ONNX).

    Works on int64 NumPy arrays and torch tensors; symbolic ONNX tensors emit an integer ``Div`` (which
    truncates toward zero). Example: ``trunc_shift(np.array([-5000, 5000]), 12)`` is ``[-1, 1]``.
    """
    if hasattr(x, "trunc_div"):
        return x.trunc_div(1 << n)
    return (x + (x < 0) * ((1 << n) - 1)) >> n


def floor_shift(x, n: int):
    """Arithmetic right shift by ``n`` rounding down (``x >> n``); symbolic ONNX tensors: ``trunc((x - (2**n - 1)
    [x < 0]) / 2**n)``. Example: ``floor_shift(np.array([-7, 7]), 1)`` is ``[-4, 3]``."""
    if hasattr(x, "trunc_div"):
        return (x - (x < 0) * ((1 << n) - 1)).trunc_div(1 << n)
    return x >> n


def requantize(acc, multiplier, shift: int, floor: bool = False):
    """Integer-only rescaling ``acc * multiplier / 2**shift``, rounding toward zero (``floor=True``: down).

    acc: integer tensor; multiplier: int64, broadcastable to ``acc`` (per channel or 0-d; symbolic tensors take it
    as a constant). Example: ``requantize(np.array([-7]), np.array([3]), 2)`` is ``[-5]`` (floor: ``[-6]``).
    """
    m = np.asarray(multiplier, dtype=np.int64)
    prod = acc * (acc.const(m) if hasattr(acc, "const") else _like(m, acc))
    return floor_shift(prod, shift) if floor else trunc_shift(prod, shift)


def wrap(x, bits: int):
    """Two's-complement wrap-around into the signed ``bits`` range ``[-2**(bits-1), 2**(bits-1) - 1]``:
    ``(x + 2**(bits-1)) mod 2**bits - 2**(bits-1)`` (floor modulo; symbolic ONNX tensors emit ``Mod``). Lava's
    ``Conv`` wraps its accumulation this way at 24 bits (lava-nc ``lava/proc/conv/utils.py`` ``signed_clamp``).
    Example: ``wrap(np.array([2**23, -2**23 - 1]), 24)`` is ``[-2**23, 2**23 - 1]``."""
    half = 1 << (bits - 1)
    return (x + half) % (2 * half) - half


def saturate(x, bits: int):
    """Clip to the symmetric signed range ``[-(2**(bits-1) - 1), 2**(bits-1) - 1]``. Example:
    ``saturate(np.array([300, -300]), 8)`` is ``[127, -127]``."""
    top = 1 << (bits - 1)
    return x.clip(1 - top, top - 1)


def accumulator_shift(largest_threshold: float, membrane_bits: int, input_shift: int) -> int:
    """Right shift ``r >= 0`` of an accumulator whose largest threshold (in accumulator units) is
    ``largest_threshold``, so that the threshold is at most ``2**(membrane_bits - 2 - input_shift)`` (half the
    membrane's positive range after the ``<< input_shift``): ``max(0, ceil(log2(t)) - (k - 2 - input_shift))``.
    Example: ``accumulator_shift(1000.0, 8, 0) == 4``."""
    return max(0, math.ceil(math.log2(largest_threshold)) - (membrane_bits - 2 - input_shift))


def _like(a: np.ndarray, ref):
    """``a`` as the same array type (NumPy, torch, symbolic ONNX) and device as ``ref``."""
    if isinstance(ref, (np.ndarray, np.generic, int)):
        return a
    if hasattr(ref, "const"):
        return ref.const(a)
    import torch  # a torch tensor reached here, so torch is installed

    return torch.as_tensor(a, device=ref.device)


@dataclass(frozen=True)
class IntNeuronParams:
    """Integer parameters of one neuron population.

    decay_u: effective current decay (0..4096, netx ``iDecay``); 4096 = LIF without synaptic current.
    decay_v: effective voltage decay (0..4096, netx ``vDecay``); 0 = no leak (IF).
    vth:     int64 array, threshold mantissa per neuron, broadcastable to the population's per-step shape
             (``[O]`` for dense, ``[C, 1, 1]`` for conv); the compared threshold is ``vth << vth_shift``.
    reset:   ``"hard"`` (v = 0 after a spike, Lava) or ``"soft"`` (v -= vth << vth_shift).
    act_shift, vth_shift: left shifts of the synaptic input and of the threshold (Lava: 6, 6).
    uv_bits: width of u and v (Lava: 24): u wraps around, v saturates at +-(2**(uv_bits-1) - 1).
    u_register: True (Lava) keeps the 24-bit current register ``u`` with its wrap-around; False (needs
             ``decay_u == 4096``) sends the shifted input straight into ``v`` (``QuantLIF``'s membrane).
    reset_next_step: apply the reset one step late, after the next decay and input (module docstring; snnTorch).
    """

    decay_u: int
    decay_v: int
    vth: np.ndarray
    reset: str = "hard"
    act_shift: int = ACT_SHIFT
    vth_shift: int = VTH_SHIFT
    uv_bits: int = UV_BITS
    u_register: bool = True
    reset_next_step: bool = False

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
        if not self.u_register and self.decay_u != DECAY_UNITY:
            raise ValueError(f"IntNeuronParams: u_register=False needs decay_u = 4096 (no current memory), got "
                             f"decay_u={self.decay_u}")


def integer_cuba_charge(u, v, a_in, params: IntNeuronParams):
    """The first half of :func:`integer_cuba_step`: decays, input, wrap-around and saturation. Returns ``(u, v)``,
    ``v`` before the threshold and reset (what ``QuantLIF.v_seq`` records)."""
    top = 1 << (params.uv_bits - 1)
    u = trunc_shift(u * (DECAY_UNITY - params.decay_u), DECAY_SHIFT) + a_in * (1 << params.act_shift)
    if params.u_register:
        u = u - (u > top) * (2 * top) + (u <= -top) * (2 * top)
    h = trunc_shift(v * (DECAY_UNITY - params.decay_v), DECAY_SHIFT) + u
    if params.reset_next_step:  # the reset of the spike fired on the previous step (v holds its un-reset membrane)
        th = _like(params.vth << params.vth_shift, v)
        pending = (v > th) * 1
        h = h * (1 - pending) if params.reset == "hard" else h - pending * th
    return u, saturate(h, params.uv_bits)


def integer_cuba_fire(v, params: IntNeuronParams):
    """The second half of :func:`integer_cuba_step`: strict threshold, then the reset (with ``reset_next_step``:
    none now, the next charge applies it). Returns ``(v, s)``."""
    th = _like(params.vth << params.vth_shift, v)
    s = (v > th) * 1
    if params.reset_next_step:
        return v, s
    return (v * (1 - s) if params.reset == "hard" else v - s * th), s


def integer_cuba_step(u, v, a_in, params: IntNeuronParams):
    """One bit-accurate CUBA-LIF step (module docstring): :func:`integer_cuba_charge` then
    :func:`integer_cuba_fire`. Returns ``(u, v, s)``.

    u, v: int64 state ``[B, *shape]`` (NumPy, torch or symbolic ONNX); a_in: integer synaptic input, same shape
    (the accumulator of this step); s: int64 spikes in {0, 1}. Example in the module docstring.
    """
    u, v = integer_cuba_charge(u, v, a_in, params)
    v, s = integer_cuba_fire(v, params)
    return u, v, s


def _int64_and_stack(a_in):
    if isinstance(a_in, np.ndarray):
        return a_in.astype(np.int64), np.stack
    import torch  # torch tensors only reach here when torch is installed

    return a_in.long(), torch.stack


def integer_cuba_run(a_in, params: IntNeuronParams, record_v: bool = False):
    """Run :func:`integer_cuba_step` over time from rest. a_in: int ``[T, B, *shape]`` -> spikes int64 same shape;
    with ``record_v`` also ``(spikes, v)``, ``v`` the membrane before each reset (int64, same shape).

    Example: ``integer_cuba_run(np.full((4, 1, 2), 11), p)`` with ``p`` from the module docstring.
    """
    a_in, stack = _int64_and_stack(a_in)
    u = v = a_in[0] * 0
    spikes, vs = [], []
    for t in range(a_in.shape[0]):
        u, v = integer_cuba_charge(u, v, a_in[t], params)
        vs.append(v)
        v, s = integer_cuba_fire(v, params)
        spikes.append(s)
    return (stack(spikes), stack(vs)) if record_v else stack(spikes)


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
    v = trunc_shift(v * (DECAY_UNITY - params.decay), DECAY_SHIFT) + a_in * (1 << params.act_shift)
    return saturate(v, params.bits)


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


# --- sigma-delta (graded messages): Lava's fixed-point ``Delta`` / ``SigmaDelta`` / ``Sigma`` -------------------------

#: netx builds every SDNN neuron with ``spike_exp = 6`` and ``state_exp = 6`` (lava-dl ``netx/hdf5.py``,
#: ``get_neuron_params``); Lava multiplies ``vth`` and ``bias`` by ``2**(spike_exp + state_exp)`` when it builds the
#: process (lava ``proc/sdn/process.py``).
SD_SPIKE_EXP = 6
SD_STATE_EXP = 6
#: Lava's fixed-point models send ``s_out`` as int32 with precision 24 (``proc/sdn/models.py``): the default payload.
SD_PAYLOAD_BITS = 24
#: Lava holds ``sigma``, ``act``, ``residue``, ``error`` in ``np.int32`` (its CPU fixed-point models).
SD_STATE_BITS = 32
SD_KINDS = ("delta", "sigma_delta", "sigma")
#: Lava's ``ActivationMode``: ``RELU`` and ``UNIT`` (identity); ``SigmaDelta`` only (``Delta`` and ``Sigma`` have none).
SD_ACTIVATIONS = ("relu", "identity")


@dataclass(frozen=True)
class IntSigmaDeltaParams:
    """Integer sigma-delta unit: Lava's fixed-point process models (``lava/proc/sdn/models.py``), per step::

        delta:       act_new = a_in << (spike_exp + state_exp)                   (Lava ``PyDeltaModelFixed``)
        sigma_delta: sigma += a_in;  act_new = act(sigma + bias)                  (``PySigmaDeltaModelFixed``)
        sigma:       sigma += a_in;  out = sigma + bias                 (``PySigmaModelFixed``; bias: see below)
        d = act_new - act + residue
        cum_error=False: y = d if |d| >= vth else 0
        cum_error=True:  error += d;  y = d if |error| >= vth else 0;  error = 0 where y != 0
        residue = d - y;  act = act_new;  message = y >> state_exp                 (arithmetic shift: floor)

    kind: ``"delta"`` | ``"sigma_delta"`` | ``"sigma"``; vth: int64 >= 0, broadcastable to the per-step shape, in
    state units: Lava's ``vth`` Var (netx ``vThMant << 12``); bias: int64 (0-d or per channel, broadcastable) in state
    units: Lava's ``bias`` Var (netx ``bias << 12``); Lava's ``Sigma`` has no bias, so ``kind="sigma"`` with a
    nonzero bias is an extension (the read-out adds it to ``sigma``); activation: ``"relu"`` | ``"identity"``
    (``sigma_delta`` only; default None: Lava's, ``"relu"`` for ``sigma_delta``, else ``"identity"``); cum_error:
    Lava's ``cum_error``; spike_exp, state_exp: as netx (6, 6); payload_bits: a message must fit this signed width
    (Lava: 24) and every state int32 (:func:`sigma_delta_run` raises otherwise).
    Example: ``IntSigmaDeltaParams("sigma_delta", vth=np.array(4096), bias=np.array(0))``.
    """

    kind: str
    vth: np.ndarray = 0
    bias: np.ndarray = 0
    activation: str | None = None
    cum_error: bool = False
    spike_exp: int = SD_SPIKE_EXP
    state_exp: int = SD_STATE_EXP
    payload_bits: int = SD_PAYLOAD_BITS

    def __post_init__(self) -> None:
        if self.kind not in SD_KINDS:
            raise ValueError(f"IntSigmaDeltaParams.kind must be one of {SD_KINDS}, got {self.kind!r}")
        if self.activation is None:
            object.__setattr__(self, "activation", "relu" if self.kind == "sigma_delta" else "identity")
        if self.activation not in SD_ACTIVATIONS or (self.kind != "sigma_delta" and self.activation != "identity"):
            raise ValueError(f"IntSigmaDeltaParams.activation: {self.activation!r} for kind {self.kind!r}; Lava's "
                             f"SigmaDelta has {SD_ACTIVATIONS}, Delta and Sigma have none ('identity')")
        for k in ("vth", "bias"):
            a = np.asarray(getattr(self, k))
            if a.dtype.kind not in "iu" or (k == "vth" and a.size and a.min() < 0):
                raise ValueError(f"IntSigmaDeltaParams.{k} must be {'non-negative ' if k == 'vth' else ''}integers, "
                                 f"got dtype {a.dtype}, min {a.min() if a.size else None}")
            object.__setattr__(self, k, a.astype(np.int64))
        if not (0 <= self.spike_exp <= 7 and 0 <= self.state_exp <= 7 and 2 <= self.payload_bits <= 32):
            raise ValueError(f"IntSigmaDeltaParams: need spike_exp, state_exp in 0..7 (Lava: 3-bit) and payload_bits "
                             f"in 2..32; got {self.spike_exp}, {self.state_exp}, {self.payload_bits}")

    @property
    def shift(self) -> int:
        """``spike_exp + state_exp`` (12 for netx): the left shift of a Delta's input, ``vth`` and ``bias``."""
        return self.spike_exp + self.state_exp


def _nonzero(x):
    return (x > 0) * 1 + (x < 0) * 1


def sigma_delta_step(state: tuple, a_in, params: IntSigmaDeltaParams) -> tuple[tuple, object]:
    """One step of :class:`IntSigmaDeltaParams`' unit. ``state = (sigma, act, residue, error)`` (int64
    ``[B, *shape]``, NumPy, torch or symbolic ONNX; zeros at rest); a_in: this step's integer input, same shape.
    Returns ``(state, out)``: ``out`` is the message (``y >> state_exp``), or ``sigma + bias`` for ``kind="sigma"``.

    Example: ``sigma_delta_step((z, z, z, z), np.array([3]), IntSigmaDeltaParams("delta"))[1]`` is ``[192]``
    (``(3 << 12) >> 6``; ``z = np.zeros(1, np.int64)``).
    """
    sigma, act, residue, error = state
    p = params
    if p.kind == "delta":
        new = a_in * (1 << p.shift)
    else:
        sigma = sigma + a_in
        new = sigma + _like(p.bias, sigma)
        if p.kind == "sigma":
            return (sigma, act, residue, error), new
        if p.activation == "relu":
            new = new * ((new > 0) * 1)
    d = new - act + residue
    probe = error + d if p.cum_error else d
    quiet = ((probe < _like(p.vth, d)) * 1) * ((probe > _like(-p.vth, d)) * 1)  # |probe| < vth
    y = d * (1 - quiet)
    if p.cum_error:
        error = probe * (1 - _nonzero(y))
    return (sigma, new, d - y, error), floor_shift(y, p.state_exp)


def _check_range(name: str, what: str, t: int, x: np.ndarray, bits: int) -> None:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if x.size and (x.min() < lo or x.max() > hi):
        from .errors import IntegerOverflowError

        bad = np.argwhere((x < lo) | (x > hi))[0]
        kind, why = (("message", "the configured graded payload (payload_bits); raise it or the threshold, or scale "
                      "the weights down") if what == "message" else
                     ("state", "Lava's int32, which Lava would wrap; scale the input or the weights down"))
        raise IntegerOverflowError(
            f"{name}: a sigma-delta {kind} reaches {int(x[tuple(bad)])} at step {t} ({what}, sample {int(bad[0])}, "
            f"neuron index {tuple(int(i) for i in bad[1:])}), outside the signed {bits}-bit range {lo}..{hi}: {why}")


def sigma_delta_run(a_in, params: IntSigmaDeltaParams, name: str = "sigma-delta", record_state: bool = False):
    """:func:`sigma_delta_step` over time from rest, in NumPy int64, checking every step (NumPy input): every state
    fits int32 (Lava's) and every message ``payload_bits``; else :class:`neurokit.errors.IntegerOverflowError` naming
    ``name``, the step and the neuron index. a_in: int ``[T, B, *shape]`` -> outputs int64, same shape; with
    ``record_state`` also ``(out, state)``, ``state`` the activation ``act`` (``delta``) or ``sigma`` per step.

    Example: ``sigma_delta_run(np.array([1, 1, 3, 3]).reshape(4, 1, 1), IntSigmaDeltaParams("delta"))`` gives
    messages ``64, 0, 128, 0``.
    """
    a_in, stack = _int64_and_stack(a_in)
    check = isinstance(a_in, np.ndarray)
    zero = a_in[0] * 0
    state = (zero, zero, zero, zero)
    outs, states = [], []
    for t in range(a_in.shape[0]):
        state, out = sigma_delta_step(state, a_in[t], params)
        if check:
            for what, x in zip(("sigma", "activation", "residue", "error"), state):
                _check_range(name, what, t, x, SD_STATE_BITS)
            _check_range(name, "message" if params.kind != "sigma" else "read-out sigma", t, out,
                         params.payload_bits if params.kind != "sigma" else SD_STATE_BITS)
        outs.append(out)
        states.append(state[1] if params.kind == "delta" else state[0])
    return (stack(outs), stack(states)) if record_state else stack(outs)
