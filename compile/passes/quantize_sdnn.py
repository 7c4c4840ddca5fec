"""Quantization of sigma-delta (SDNN) layers to Lava's fixed-point ``Delta`` / ``SigmaDelta`` / ``Sigma``
(:class:`neurokit.integer.IntSigmaDeltaParams`), called by :func:`compile.passes.quantize.quantize`.

Units (the real value of one integer unit), with ``E = spike_exp + state_exp = 12`` (netx's):

* a ``sigma_delta`` node with lava-dl scale ``s`` (``scale=None``: lava-dl's default 64, warned once per node) keeps
  its state in the unit ``u = 1 / (s * 2**E)`` (``2**-18`` for 64), so its messages ``y >> state_exp`` have the unit
  ``u * 2**state_exp = 1 / (64 s)``: the grid the eager module floors its messages to. ``vth = round(threshold / u)``
  (Lava's ``vth`` Var; netx's ``vThMant = vth >> 12``), ``bias = round(b / u)`` (Lava's ``bias`` Var);
* a delta encoder (``sigma=False``: Lava's ``Delta``, no bias, no activation) on a tensor of scalar unit ``s_x`` (the
  int8 graph input): Lava shifts its input left by ``E``, so ``u = s_x / 2**E`` and messages have unit
  ``s_x / 2**spike_exp``;
* a ``sigma`` read-out: ``u = 2**-18`` (scale 64); its output ``sigma + round(b / u)`` has unit ``u``;
* the synapse feeding a ``sigma_delta`` / ``sigma`` node: weights as every synapse (:func:`quantize_weights`,
  ``weight_bits``, ``per_channel``); its accumulator (unit ``s_in * s_w[o]``) is brought to its consumer's ``u`` by an
  integer-only floor requantization ``a_in = floor(acc * M[o] / 2**k)``, ``M[o] = round(s_in s_w[o] / u * 2**k)``
  with the smallest ``k >= 0`` giving every ``M >= 2**12`` (relative error <= ``2**-13``). With
  ``sdnn_weight_exp=True`` the weight scale is instead the power of two ``u / s_in * 2**x`` (one per tensor), so
  the requantization is a weight exponent ``x`` (``acc << x``, or ``acc >> -x`` rounding down) and ``M = 1``.
  With ``sdnn_netx=True`` (target ``loihi2``) the weight scale is exactly ``u / s_in``: netx stores integer weights
  and applies them as they are (its ``optimize_weight_bits`` exponent only undoes its own left shift:
  ``lava/lib/dl/netx/utils.py`` in lava-dl), so there is no requantization and a weight beyond
  ``2**(weight_bits - 1) - 1`` units is refused, naming the largest ``|w|`` the scales allow.

netx (``sdnn_netx=True``) also stores thresholds and biases as mantissas that Lava shifts left by ``E``
(``vThMant``, ``bias``; ``lava/lib/dl/netx/hdf5.py``): ``vth`` and ``bias`` are rounded to multiples of ``2**E`` state
units (``vth = round(threshold / (u 2**E)) << E``). For a ``scale``-d unit whose threshold lava-dl's rule already
put on the ``1 / scale`` grid this changes nothing.

Payload (``payload_bits``, Lava 24): a unit whose threshold alone makes every message overflow is refused here
(``CompileError``); a delta encoder whose worst case (from its integer input range) may overflow gets a warning;
every message is checked at run time by :func:`neurokit.integer.sigma_delta_run` (the integer reference raises
:class:`neurokit.errors.IntegerOverflowError` with the step and neuron index).

Example::

    gq = quantize(fold_bn(capture(nk.models.sdnn_cnn(), x)), input_absmax=1.0)
    gq.node("2").integer.vth          # Lava's vth of the first hidden sigma-delta layer, in state units
"""
from __future__ import annotations

import math

import numpy as np

from compile import ir
from compile.ir import CompileError
from compile.passes.quantize_tokens import scalar_scale
from neurokit.integer import SD_SPIKE_EXP, SD_STATE_EXP, IntSigmaDeltaParams

_E = SD_SPIKE_EXP + SD_STATE_EXP
DEFAULT_SCALE = 64  # lava-dl slayer's default weight scale (1 << 6)
_MIN_MULT_BITS = 12


def state_unit(node: ir.Node) -> float:
    """The state unit ``u`` of a ``sigma_delta`` (``sigma=True``) or ``sigma`` node: ``1 / (scale * 2**12)``."""
    scale = getattr(node, "scale", None) or DEFAULT_SCALE
    return 1.0 / (scale * 2 ** _E)


def sdnn_consumer(g: ir.Graph, n: ir.Node) -> ir.Node | None:
    """The ``sigma_delta`` / ``sigma`` node that synapse ``n`` feeds (its only consumer), else None."""
    cons = g.consumers(n.name)
    return cons[0] if len(cons) == 1 and cons[0].op in ir.SDNN else None


def _fail(n: ir.Node, why: str) -> CompileError:
    return CompileError(f"node {n.name!r} ({n.op}): {why}")


def quantize_sdnn_synapse(st, n: ir.Dense | ir.Conv, sd: ir.Node, quantize_weights) -> None:
    """Quantize synapse ``n`` feeding ``sd`` (module docstring); ``st`` is the quantize pass's state."""
    if sd.op == "sigma_delta" and not sd.sigma:
        raise _fail(sd, "a delta encoder (sigma=False, Lava's Delta) encodes a tensor with one scale (the graph "
                        f"input), not the accumulator of synapse {n.name!r}; use sigma=True to integrate it")
    if n.op == "dense" and n.delay is not None:
        raise _fail(n, "delayed synapses into sigma-delta units are not supported (netx SDNN blocks have none)")
    src = n.inputs[0]
    s_in, in_max, u = scalar_scale(n, st.scale, src), int(st.maxint[src]), state_unit(sd)
    w = n.weight.astype(np.float64)
    qmax = 2 ** (st.weight_bits - 1) - 1
    if st.sdnn_netx:
        s_w = np.full(w.shape[0], u / s_in)
        w_int = np.round(w / s_w[0]).astype(np.int64)
        if np.abs(w_int).max() > qmax:
            raise _fail(n, f"weights up to |w| = {float(np.abs(w).max()):.4g} into sigma-delta unit {sd.name!r}: netx "
                           f"stores integer weights in the unit the SDNN scales fix ({s_w[0]:.4g}: the input's "
                           f"message unit {s_in:.4g} over the unit's state unit {u:.4g}), so |w| <= "
                           f"{qmax * s_w[0]:.4g} fits {st.weight_bits}-bit weights; give {sd.name!r} a smaller scale "
                           "(a coarser state) or train with smaller weights")
        bits, mult, shift = st.weight_bits, np.ones(w.shape[0], np.int64), 0
    elif st.sdnn_weight_exp:
        absmax = float(np.abs(w).max()) or 1.0
        x = math.ceil(math.log2(absmax / qmax * s_in / u))
        s_w = np.full(w.shape[0], u / s_in * 2.0 ** x)
        w_int = np.clip(np.round(w / s_w.reshape(-1, *[1] * (w.ndim - 1))), -qmax, qmax).astype(np.int64)
        bits = st.weight_bits
        mult = np.full(w.shape[0], 2 ** max(x, 0), np.int64)
        shift = max(-x, 0)
    else:
        w_int, s_w, bits = quantize_weights(w, st.weight_bits, st.per_channel, detect_binary=False)
        ratio = s_in * s_w / u
        shift = max(0, _MIN_MULT_BITS - math.floor(math.log2(float(ratio.min()))))
        mult = np.maximum(np.round(ratio * 2.0 ** shift), 1).astype(np.int64)
    acc_scale = s_in * s_w
    b_int = None if n.bias is None else np.round(n.bias / acc_scale).astype(np.int64)
    bound = np.abs(w_int.reshape(w_int.shape[0], -1)).sum(1) * in_max + (0 if b_int is None else np.abs(b_int))
    if float(bound.max()) * float(mult.max()) >= 2.0 ** 62:
        raise _fail(n, f"worst-case accumulator {int(bound.max())} times the requantization multiplier "
                       f"{int(mult.max())} overflows int64 (the graded input may reach {in_max}); lower payload_bits "
                       "or scale the weights")
    requant = None if shift == 0 and np.all(mult == 1) else ir.Requant(mult, shift, floor=True)
    after = (bound * mult) >> shift
    n.quant = ir.QuantSynapse(bits, w_int, s_w, s_in, b_int, requant, np.full(w.shape[0], u), in_max,
                              after.astype(np.int64))
    st.scale[n.name], st.maxint[n.name], st.nonneg[n.name] = u, int(after.max()), False


def _channel_bias(n: ir.Node, u: float, grid: int = 0) -> np.ndarray:
    """``round(bias / u)`` per channel, on multiples of ``2**grid`` state units (netx's bias mantissa: ``grid=12``)."""
    if n.bias is None:
        return np.zeros((), np.int64)
    b = np.round(np.asarray(n.bias, np.float64) / (u * 2 ** grid)).astype(np.int64) << grid
    return b.reshape(-1, *[1] * (len(n.shape) - 1))


def quantize_sigma_delta(n: ir.SigmaDelta, st) -> None:
    """``n.integer`` and the unit / bound of its messages (module docstring)."""
    g, src = st.g, n.inputs[0]
    th = n.threshold
    if isinstance(th, bool) or not isinstance(th, (int, float)) or not math.isfinite(th) or th < 0:
        raise _fail(n, f"threshold={th!r}; expected a finite number >= 0 (a message is sent when |change| >= "
                       "threshold; 0 sends every change)")
    s_x = scalar_scale(n, st.scale, src)
    limit = 2 ** (st.payload_bits - 1) - 1
    if n.sigma:
        if g.node(src).op not in ir.SYNAPSES:
            raise _fail(n, f"a sigma-delta unit with sigma=True integrates a dense/conv synapse's accumulator; it "
                           f"reads {src!r} ({g.node(src).op})")
        u, kind = s_x, "sigma_delta"
        if n.scale is None:
            g.warnings.append(f"sigma_delta {n.name!r}: scale=None (float messages in eager); the integer messages "
                              f"use lava-dl's default grid 1/(64*{DEFAULT_SCALE}) (state unit 2**-{_E + 6})")
    else:
        if n.bias is not None or n.activation != "identity":
            raise _fail(n, "a delta encoder (sigma=False) is Lava's Delta: no bias and no activation (it encodes "
                           f"its input as is); got activation={n.activation!r}, bias={n.bias is not None}")
        u, kind = s_x / 2 ** _E, "delta"
    grid = _E if st.sdnn_netx else 0  # netx: vThMant and bias mantissas, shifted left by E (module docstring)
    vth = int(round(th / (u * 2 ** grid))) << grid
    if th > 0 and vth == 0:
        g.warnings.append(f"sigma_delta {n.name!r}: threshold {th} rounds to 0 (every change is sent)")
    if (vth >> SD_STATE_EXP) > limit:
        raise _fail(n, f"threshold {th} is {vth} state units: every message it sends is at least "
                       f"{vth >> SD_STATE_EXP}, beyond the {st.payload_bits}-bit graded payload (max {limit}); "
                       "lower the threshold or raise payload_bits")
    n.integer = IntSigmaDeltaParams(kind, vth=np.int64(vth), bias=_channel_bias(n, u, grid), activation=n.activation,
                                    cum_error=n.cum_error, payload_bits=st.payload_bits)
    bound = limit
    if kind == "delta":  # |d| <= |a_new - a_old| + |residue| < (2 or 1) * max|a| + vth
        worst = (((1 if st.nonneg[src] else 2) * int(np.max(st.maxint[src]))) << _E) + vth
        bound = worst >> SD_STATE_EXP
        if bound > limit:
            g.warnings.append(f"sigma_delta {n.name!r}: a message may reach {bound}, beyond the "
                              f"{st.payload_bits}-bit payload (checked at run time)")
            bound = limit
    st.scale[n.name], st.maxint[n.name], st.nonneg[n.name] = u * 2 ** SD_STATE_EXP, bound, False
    st.graded.add(n.name)


def quantize_sigma(n: ir.Sigma, st) -> None:
    """The ``sigma`` read-out: ``kind="sigma"`` params in its input's unit (module docstring)."""
    u = scalar_scale(n, st.scale, n.inputs[0])
    n.integer = IntSigmaDeltaParams("sigma", bias=_channel_bias(n, u), payload_bits=st.payload_bits)
    st.scale[n.name], st.maxint[n.name], st.nonneg[n.name] = u, 2 ** 31 - 1, False


def check_graded_readers(g: ir.Graph, graded: set) -> None:
    """Graded messages may only be flattened or read by a synapse into a sigma-delta node (refuse the rest)."""
    for n in g.nodes:
        for src in n.inputs:
            if src not in graded:
                continue
            if n.op == "flatten":
                graded.add(n.name)
            elif n.op not in ir.SYNAPSES or sdnn_consumer(g, n) is None:
                raise _fail(n, f"reads the graded sigma-delta messages of {src!r}; they may only be flattened or "
                               "feed a dense/conv synapse into a sigma-delta unit or a Sigma read-out (mixed "
                               "SDNN / spiking layers and pools or adds of messages are not supported)")
