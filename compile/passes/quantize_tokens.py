"""Quantization rules of the spiking-transformer token ops (``reshape``, ``permute``, ``mean``, ``matmul``, ``mask``).

Tensors are integers with a real scale (``real = scale * int``, :mod:`compile.passes.quantize`). The token ops read
tensors with one scalar scale (spikes: 1; sums of spikes; counts) and never do float arithmetic at run time:

* ``reshape`` / ``permute``: exact integer data movement; worst case ``|x|`` unchanged; the scale is unchanged, or,
  for a synapse accumulator (SDSA's membrane-level stream), its per-channel array moves with the integers.
* ``mean`` over per-step axes: the integer **sum**; its ``1/count`` goes into the scale (``s / count``), so the next
  synapse's accumulator unit (and so the next neuron's integer threshold) absorbs it. Worst case ``m * count``;
  when a synapse reads it and that exceeds its int8 input range (127; e.g. Spikformer's head on the token mean of a
  spike-sum residual stream, 64 tokens x 10 = 640), the sum is requantized integer-only to fit 127
  (``node.requant``, :func:`compile.passes.requant.requant_to_fit`), with a warning.
* ``matmul`` (``scale * (a @ b)``, Spikformer SSA): the integer product ``a_int @ b_int`` (a count of coincident
  spikes for 0/1 inputs); real unit ``scale * s_a * s_b``: the fixed float ``scale`` never multiplies a tensor, it
  ends in the consumer's integer threshold. Worst case ``K * m_a * m_b`` (``K`` the contracted length).
* ``mask`` (``a * b``, SDSA): integer element-wise product (optionally summed over tokens, axis -2); unit
  ``s_a * s_b``, worst case ``m_a * m_b`` (times the token count when summed).

A product whose worst case exceeds the accumulator width (``acc_bits``) is requantized integer-only exactly like a
synapse accumulator (:func:`compile.passes.requant.requant_to_fit`, ``node.requant``), with a warning.

:func:`rescaled_add` adds inputs of different scales (accumulators of a membrane-level residual) in a common unit.

Example (SSA, 16 tokens, head dim 16, spikes in)::

    kv = k^T @ v      -> counts 0..16, scale 1.0
    y  = q @ kv       -> counts 0..256, scale 0.125; LIF(threshold 0.5, tau 2, decay_input) reads it with
                         vth = round(0.5 / (0.125 / 2) * 2**6) = 512
"""
from __future__ import annotations

import numpy as np

from compile import ir
from compile.ir import CompileError
from compile.passes.requant import requant_to_fit

SYNAPSE_INPUT_MAX = 127  # a synapse reads int8 inputs (signed 8-bit activations)


def scalar_scale(n: ir.Node, scale: dict, src: str) -> float:
    """The scalar real unit of ``src`` as read by ``n``; a per-channel accumulator scale is refused (clear error)."""
    s = scale[src]
    if not isinstance(s, float) and n.op in ir.PRODUCTS:
        raise CompileError(f"node {n.name!r} ({n.op}): a product of two activation tensors needs integer inputs with "
                           f"one scale each (spikes or counts); {src!r} is an accumulator with per-channel scales, so "
                           f"its product has no integer form (put a neuron before the product)")
    if not isinstance(s, float):
        raise CompileError(f"node {n.name!r} ({n.op}) reads the accumulator of {src!r}; an accumulator may only "
                           f"feed a neuron (or be the graph output)")
    return s


def quantize_token_op(g: ir.Graph, n: ir.Node, scale: dict, maxint: dict, nonneg: dict, acc_bits: int) -> None:
    """Set ``scale[n.name]`` (float; a moved per-element array for a layout op on an accumulator), ``maxint[n.name]``
    (worst-case ``|x|``, int) and ``nonneg[n.name]`` for token
    op ``n`` from its inputs' entries (rules in the module docstring); sets ``n.requant`` on an oversized product."""
    m = [int(np.max(maxint[src])) for src in n.inputs]
    pos = all(nonneg[src] for src in n.inputs)
    if n.op in ("reshape", "permute"):
        s0 = scale[n.inputs[0]]
        scale[n.name] = s0 if isinstance(s0, float) else _moved(s0, g.node(n.inputs[0]).shape, n)
        maxint[n.name], nonneg[n.name] = m[0], pos
        return
    s = [scalar_scale(n, scale, src) for src in n.inputs]
    if n.op == "mean":
        shape = g.node(n.inputs[0]).shape
        count = int(np.prod([shape[a] for a in n.axes]))
        unit, bound = s[0] / count, m[0] * count
        if bound > SYNAPSE_INPUT_MAX and any(c.op in ir.SYNAPSES for c in g.consumers(n.name)):
            n.requant, new_bound, factor = requant_to_fit(np.asarray(bound), SYNAPSE_INPUT_MAX)
            unit, bound = unit * float(factor), int(new_bound)
            g.warnings.append(f"mean {n.name!r}: worst-case sum {m[0] * count} requantized by "
                              f"{int(n.requant.multiplier)}/2**{n.requant.shift} to fit the int8 input of the next "
                              f"synapse (LSBs dropped)")
        scale[n.name], maxint[n.name], nonneg[n.name] = float(unit), int(bound), pos
        return
    a, b = (g.node(src).shape for src in n.inputs)
    if len(a) != len(b):
        raise CompileError(f"{n.op} {n.name!r}: inputs {n.inputs} have per-step ranks {len(a)} and {len(b)}; integer "
                           f"targets need equal ranks (broadcast only over size-1 axes)")
    if n.op == "matmul":
        unit, bound = n.scale * s[0] * s[1], a[-1] * m[0] * m[1]
    else:
        tokens = max(a[-2], b[-2]) if n.sum_tokens else 1
        unit, bound = s[0] * s[1], tokens * m[0] * m[1]
    limit = 2 ** (acc_bits - 1) - 1
    if bound > limit:
        n.requant, new_bound, factor = requant_to_fit(np.asarray(bound), limit)
        unit, bound = unit * float(factor), int(new_bound)
        g.warnings.append(f"{n.op} {n.name!r}: worst-case product requantized by "
                          f"{int(n.requant.multiplier)}/2**{n.requant.shift} to fit {acc_bits} bits (LSBs dropped)")
    scale[n.name], maxint[n.name], nonneg[n.name] = float(unit), int(bound), pos


def _padded(a, ndim: int) -> np.ndarray:
    """A scale (float or array broadcastable to a per-step shape) as a float64 array with ``ndim`` axes."""
    a = np.asarray(a, dtype=np.float64)
    return a.reshape((1,) * (ndim - a.ndim) + a.shape)


def _compact(a: np.ndarray) -> np.ndarray:
    """Shrink every axis along which ``a`` is constant to size 1 (a per-channel scale stays ``[C, 1, 1]``)."""
    for ax in range(a.ndim):
        if a.shape[ax] > 1 and (a == a.take([0], axis=ax)).all():
            a = a.take([0], axis=ax)
    return a


def _moved(s: np.ndarray, in_shape: tuple[int, ...], n: ir.Node) -> np.ndarray:
    """The per-element scale of an accumulator after reshape / permute ``n`` (the scale moves with the integers)."""
    a = _padded(s, len(in_shape))
    if n.op == "permute":
        return _compact(a.transpose(n.perm))
    return _compact(np.broadcast_to(a, in_shape).reshape(n.shape))


def rescaled_add(g: ir.Graph, n: ir.Add, scale: dict, maxint: dict, nonneg: dict, acc_bits: int) -> None:
    """``add`` of inputs with different scales (SDSA's membrane-level residual stream of accumulators): each input is
    requantized integer-only to a common unit ``s_c = max_i s_i`` per element (``M_i = round(s_i / s_c * 2**16)``,
    ``x_i' = trunc(x_i * M_i / 2**16)``), ``s_c`` grown further if the sum's worst case would exceed ``acc_bits``.
    Sets ``n.rescale`` and the add's (per-element) scale. Example: scales 0.01 and 0.04 -> unit 0.04, the first input
    multiplied by 16384 / 2**16."""
    shift, limit = 16, 2 ** (acc_bits - 1) - 1
    arrs = np.broadcast_arrays(*(_padded(scale[x], len(n.shape)) for x in n.inputs))
    bounds = [float(np.max(maxint[x])) for x in n.inputs]
    common = np.maximum.reduce(arrs)
    common = common * np.maximum(1.0, sum(b * a / common for b, a in zip(bounds, arrs)) / limit)
    mults = [np.round(a / common * 2 ** shift).astype(np.int64) for a in arrs]
    if min(int(m.min()) for m in mults) < 1:
        raise CompileError(f"add {n.name!r}: input scales {[float(np.min(a)) for a in arrs]} differ by more than "
                           f"2**{shift + 1}; the smallest input would vanish in the integer sum")
    n.rescale = tuple(None if (m == 2 ** shift).all() else ir.Requant(m, shift) for m in mults)
    g.warnings.append(f"add {n.name!r}: inputs with different scales rescaled to a common integer unit "
                      f"(multipliers {min(int(m.min()) for m in mults)}..{2 ** shift}/2**{shift}; LSBs dropped)")
    bound = sum((int(b) * m) >> shift for b, m in zip(bounds, mults))
    scale[n.name] = _compact(common)
    maxint[n.name], nonneg[n.name] = int(bound.max()), all(nonneg[x] for x in n.inputs)
