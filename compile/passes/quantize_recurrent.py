"""Quantization of a recurrent layer (its feed-forward ``dense`` ``<name>.ff`` plus the ``recurrent`` node), used by
:func:`compile.passes.quantize.quantize`.

The feed-forward product ``W x[t]`` (input unit ``s_in``) and the recurrent product ``V s[t-1]`` (spikes, unit 1) add
into ONE accumulator that feeds the neuron, so both weights are quantized in that accumulator's unit:

* spike input (unit ``s_in = 1``: spikes, or 0/1 graph input): the joint matrix ``[W | V]`` is quantized like one
  synapse (:func:`compile.passes.quantize.quantize_weights`: symmetric, ``k`` bits, per output channel or,
  ``per_channel=False``, per tensor), giving the unit ``u[o]``: ``W_int = round(W / u)``, ``V_int = round(V / u)``,
  ``b_int = round(b / u)``, ``b_rec_int = round(b_rec / u)``. The same joint matrix with one exponent is what
  lava-dl netx's ``dense_rec`` block encodes (``weight`` and ``weight_rec`` hstack-ed and optimized together:
  ``lava.lib.dl.netx.hdf5.Network.create_dense``).
* real-valued input (``s_in != 1``; a joint matrix would leave ``W`` about one bit): ``W`` and ``V`` are quantized on
  their own (units ``s_in s_w[o]`` and ``s_v[o]``); where ``s_v`` is the coarser, the feed-forward accumulator (bias
  included) is rescaled into it by the dense node's integer ``requant`` (``M = floor(s_in s_w / s_v * 2**16)``), and
  ``V`` is quantized in the exact unit ``u = s_in s_w 2**16 / M``.
* a ``decay_input=True`` LIF first folds ``1/tau`` into ``W``, ``V`` and both biases.
* worst-case sum: ``|W_int x| + max(sum V_int+, sum V_int-) + |b_rec_int|`` (the signs of ``W x`` and ``V s`` split
  exactly for non-negative inputs); if it exceeds ``2**(acc_bits-1) - 1`` the SUM is requantized integer-only
  (:func:`compile.passes.requant.requant_to_fit`) by the ``recurrent`` node (``node.quant.requant``).
* the neuron (``node.cell``) gets integer parameters for the accumulator's final unit, as any neuron does.
* a Lava ``dense_rec`` block (``nk.from_netx``: the cell is a Lava neuron, ``capture_lava.is_lava_neuron``, and the
  feed-forward node holds the file's integers) keeps its integers as they are: ``W_int``, ``V_int`` and the bias in
  ``a_in``'s unit 1, no requantization (Lava does not rescale ``a_in``), the cell its Lava neuron.

Example::

    gq = quantize(capture(nk.models.rsnn(16, (32,), 4, neuron="cuba"), spikes))
    gq.node("hidden.0.0").quant.weight          # V_int [32, 32] in the unit of gq.node("hidden.0.0.ff")'s accumulator
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from compile import ir
from compile.capture_lava import is_lava_neuron
from compile.ir import CompileError
from compile.passes.quantize_tokens import scalar_scale
from compile.passes.requant import fit_accumulator
from neurokit.integer import REQUANT_SHIFT


def recurrent_ff(g: ir.Graph, n: ir.Node) -> ir.Recurrent | None:
    """The ``recurrent`` node whose feed-forward synapse is ``n`` (its only consumer), else None."""
    cons = g.consumers(n.name)
    if n.op == "dense" and len(cons) == 1 and cons[0].op == "recurrent" and cons[0].inputs == (n.name,):
        return cons[0]
    return None


def _pos(m: np.ndarray) -> np.ndarray:
    return np.clip(m, 0, None).sum(1)


def _neg(m: np.ndarray) -> np.ndarray:
    return np.clip(-m, 0, None).sum(1)


def _joint(w: np.ndarray, v: np.ndarray, st, quantize_weights: Callable):
    """Spike input (unit 1): ``[W | V]`` quantized as one matrix -> ``(W_int, V_int, unit, None, bits)``."""
    joint, unit, bits = quantize_weights(np.hstack([w, v]), st.weight_bits, st.per_channel, detect_binary=False)
    return joint[:, :w.shape[1]], joint[:, w.shape[1]:], unit, None, bits


def _rescaled(w: np.ndarray, v: np.ndarray, s_in: float, st, quantize_weights: Callable):
    """Real-valued input (unit ``s_in``): ``W`` and ``V`` quantized on their own; where ``V``'s unit is the coarser,
    the feed-forward accumulator is rescaled into it (``M = floor(s_in s_w / s_v * 2**16)``, exact unit
    ``s_in s_w 2**16 / M``) and ``V`` is quantized in that unit. -> ``(W_int, V_int, acc_w, unit, requant, bits)``."""
    w_int, s_w, bits = quantize_weights(w, st.weight_bits, st.per_channel, detect_binary=False)
    _, s_v, _ = quantize_weights(v, st.weight_bits, st.per_channel, detect_binary=False)
    acc_w = s_in * s_w
    s_v = np.where(np.abs(v).max(1) > 0, s_v, acc_w)  # an all-zero row of V needs no rescaling
    mult = np.clip(np.floor(acc_w / s_v * 2.0 ** REQUANT_SHIFT), 1, 2 ** REQUANT_SHIFT).astype(np.int64)
    rq = ir.Requant(mult, REQUANT_SHIFT) if (mult < 2 ** REQUANT_SHIFT).any() else None
    unit = acc_w * 2.0 ** REQUANT_SHIFT / mult
    qmax = 2 ** (bits - 1) - 1
    v_int = np.clip(np.round(v / unit[:, None]), -qmax, qmax).astype(np.int64)
    return w_int, v_int, acc_w, unit, rq, bits


def _check(g: ir.Graph, n: ir.Recurrent) -> ir.Dense:
    ff = g.node(n.inputs[0])
    if len(n.inputs) != 1 or recurrent_ff(g, ff) is not n or ff.delay is not None:
        raise CompileError(f"recurrent {n.name!r}: its input must be its own undelayed feed-forward dense synapse "
                           f"read by nothing else (got {list(n.inputs)})")
    o = int(np.prod(n.shape))
    w = np.asarray(n.weight)
    if w.shape != (o, o):
        raise CompileError(f"recurrent {n.name!r}: recurrent weight has shape {w.shape}; expected ({o}, {o}) "
                           f"(out_features x out_features)")
    if ff.weight.shape[0] != o:
        raise CompileError(f"recurrent {n.name!r}: feed-forward weight {ff.weight.shape} has {ff.weight.shape[0]} "
                           f"outputs; the population has {o}")
    for what, b in (("bias", ff.bias), ("recurrent bias", n.bias)):
        if b is not None and np.shape(b) != (o,):
            raise CompileError(f"recurrent {n.name!r}: {what} has shape {np.shape(b)}; expected ({o},)")
    return ff


def quantize_recurrent(st, n: ir.Recurrent, neuron: Callable) -> None:
    """Quantize recurrent node ``n`` and its feed-forward ``dense`` (module docstring) on the quantize pass's state
    ``st`` (graph, options, per-node ``scale`` / ``maxint`` / ``nonneg``); ``neuron(g, cell, acc_scale, vth_shift)``
    sets the cell's integer parameters. Sets ``ff.quant``, ``n.quant``, ``n.cell.integer``."""
    from compile.passes.quantize import quantize_weights  # quantize imports this module

    g = st.g
    ff = _check(g, n)
    if is_lava_neuron(n) and ff.int_weight is not None:
        _lava(st, n, ff)
        return
    src = ff.inputs[0]
    s_in, in_max = scalar_scale(ff, st.scale, src), int(st.maxint[src])
    w, v = ff.weight.astype(np.float64), np.asarray(n.weight, np.float64)
    b = None if ff.bias is None else ff.bias.astype(np.float64)
    b_rec = None if n.bias is None else np.asarray(n.bias, np.float64)
    cell = n.cell
    if cell.kind == "lif" and cell.decay_input:  # the LIF form I/tau: fold 1/tau into both synapses
        w, v = w / cell.tau, v / cell.tau
        b, b_rec = (None if x is None else x / cell.tau for x in (b, b_rec))
    if s_in == 1.0:
        w_int, v_int, unit, ff_rq, bits = _joint(w, v, st, quantize_weights)
        acc_w = unit
    else:
        w_int, v_int, acc_w, unit, ff_rq, bits = _rescaled(w, v, s_in, st, quantize_weights)
    b_int = None if b is None else np.round(b / acc_w).astype(np.int64)
    br_int = None if b_rec is None else np.round(b_rec / unit).astype(np.int64)
    if st.nonneg[src]:
        ff_bound = np.maximum(_pos(w_int), _neg(w_int)) * in_max
    else:
        ff_bound = np.abs(w_int).sum(1) * in_max
    if b_int is not None:
        ff_bound = ff_bound + np.abs(b_int)
    if ff_bound.max() >= 2 ** 31:
        raise CompileError(f"recurrent {n.name!r}: worst-case feed-forward accumulator {int(ff_bound.max())} "
                           f"overflows int32")
    if ff_rq is not None:
        ff_bound = (ff_bound * ff_rq.multiplier) >> ff_rq.shift
    if st.nonneg[src] and b_int is None and ff_rq is None:  # the signs of W x and V s split exactly
        bound = np.maximum(_pos(w_int) * in_max + _pos(v_int), _neg(w_int) * in_max + _neg(v_int))
    else:
        bound = ff_bound + np.maximum(_pos(v_int), _neg(v_int))
    if br_int is not None:
        bound = bound + np.abs(br_int)
    if bound.max() >= 2 ** 31:
        raise CompileError(f"recurrent {n.name!r}: worst-case accumulator {int(bound.max())} overflows int32")
    acc_scale, requant = unit, None
    limit = 2 ** (st.acc_bits - 1) - 1
    if bound.max() > limit:
        requant, bound, factor = fit_accumulator(bound, limit, st.acc_bits,
                                                 f"recurrent {n.name!r}: accumulator W x + V s", g.warnings)
        acc_scale = unit * factor
    ff.quant = ir.QuantSynapse(bits, w_int, acc_w / s_in, s_in, b_int, ff_rq, unit, in_max, ff_bound.astype(np.int64))
    n.quant = ir.QuantSynapse(bits, v_int, unit, 1.0, br_int, requant, acc_scale, 1, bound.astype(np.int64))
    st.scale[ff.name], st.maxint[ff.name], st.nonneg[ff.name] = unit, ff_bound, False
    neuron(g, cell, acc_scale, st.vth_shift)
    st.scale[n.name], st.maxint[n.name], st.nonneg[n.name] = 1.0, 1, True


def _lava(st, n: ir.Recurrent, ff: ir.Dense) -> None:
    """A Lava ``dense_rec`` block (module docstring): its integers in ``a_in``'s unit 1, unrescaled."""
    src, o = ff.inputs[0], int(np.prod(n.shape))
    if np.ndim(st.scale[src]) or st.scale[src] != 1.0 or not st.nonneg[src] or np.any(st.maxint[src] != 1):
        raise CompileError(f"recurrent {n.name!r}: a Lava dense_rec block reads 0/1 spikes (the input or a block's "
                           f"spikes); its input {src!r} has unit {st.scale[src]!r}")
    w_int, v_int = np.asarray(ff.int_weight, np.int64), np.rint(np.asarray(n.weight)).astype(np.int64)
    b_int = None if ff.bias is None else np.rint(ff.bias).astype(np.int64)
    ff_bound = np.maximum(_pos(w_int), _neg(w_int)) + (0 if b_int is None else np.abs(b_int))
    bound = ff_bound + np.maximum(_pos(v_int), _neg(v_int))
    ones = np.ones(o)
    ff.quant = ir.QuantSynapse(ff.weight_bits, w_int, ones, 1.0, b_int, None, ones, 1, ff_bound.astype(np.int64))
    n.quant = ir.QuantSynapse(ff.weight_bits, v_int, ones, 1.0, None, None, ones, 1, bound.astype(np.int64))
    p = n.cell.layer_integer
    n.cell.integer = dataclasses.replace(p, vth=np.broadcast_to(p.vth, (o,)).copy())
    st.scale[ff.name], st.maxint[ff.name], st.nonneg[ff.name] = ones, ff_bound, False
    st.scale[n.name], st.maxint[n.name], st.nonneg[n.name] = 1.0, 1, True
