"""Pass: fold inference batch norm into the preceding synapse, or else into the following one.

For a ``dense``/``conv`` node ``y = W x + b`` followed by ``batchnorm`` (per output channel ``o``),
``k[o] = gamma[o] / sqrt(var[o] + eps)``::

    W'[o] = k[o] * W[o]          b'[o] = k[o] * (b[o] - mean[o]) + beta[o]

which is exact in real arithmetic (float tolerance ~1e-6 relative). A binary / QAT layer keeps its exact integers:
``sign(k)`` goes into ``int_weight`` and ``|k|`` into ``weight_scale``. The per-channel factor ``k`` then lives in
the per-channel weight scale, which quantization turns into the per-neuron integer threshold
(``vth[o] = round(v_threshold / acc_scale[o])``), so the batch norm ends up in the synapse and the threshold.

Pools between the synapse and the batch norm (``conv -> pool -> batchnorm``, VGG-small's order) are crossed when
that is exact: a max-pool commutes with a per-channel affine map ``k x + c`` when ``k > 0`` (padding is ``-inf``);
an avg-pool commutes with any per-channel affine map when it has no padding (a zero pad would not be shifted by
``c``). Otherwise a :class:`CompileError` names the batch norm, the pool and the channel.

A batch norm with no synapse behind it (after spikes and a pool, as before a ResNet's classifier) folds into the
synapse it feeds when that synapse is its only consumer: with ``c = beta - k * mean`` the batch norm is ``k x + c``
per input channel ``i``, so::

    dense:  W'[o, i] = W[o, i] * k[i]            b'[o] = b[o] + sum_i W[o, i] * c[i]
    conv:   W'[o, i] = W[o, i] * k[i]            b'[o] = b[o] + sum_{i, kh, kw} W[o, i, kh, kw] * c[i]

exact in real arithmetic for a dense without delays and a conv without padding (a delayed input is zero, not ``c``,
before its delay has passed; a zero pad is not shifted by ``c``) and groups 1. A following binary / QAT layer
is refused: a per-input-channel factor has no form in its per-output-channel integers.
"""
from __future__ import annotations

import numpy as np

from compile import ir
from compile.ir import CompileError


def _synapse_before(g: ir.Graph, bn: ir.BatchNorm, k: np.ndarray) -> ir.Node:
    """The synapse ``bn`` folds into: its input, or the synapse behind a chain of pools the affine map crosses."""
    src = g.node(bn.inputs[0])
    while src.op == "pool" and len(g.consumers(src.name)) == 1:
        if src.kind == "max" and not (k > 0).all():
            c = int(np.flatnonzero(~(k > 0))[0])
            raise CompileError(f"batch norm {bn.name!r} follows max-pool {src.name!r}: channel {c} has scale "
                               f"gamma/sqrt(var+eps) = {k[c]:.4g} <= 0, so max-pooling does not commute with it "
                               f"and it cannot be folded into the synapse before the pool")
        if src.kind == "sum":
            raise CompileError(f"batch norm {bn.name!r} follows sum-pool {src.name!r}: its shift would be summed over "
                               f"the window, so it is not folded into the synapse before the pool (average-pool, or "
                               f"put the batch norm before the pool)")
        if src.kind == "avg" and src.padding != (0, 0):
            raise CompileError(f"batch norm {bn.name!r} follows avg-pool {src.name!r} with padding {src.padding}: "
                               f"the zero padding is not shifted by the batch norm, so it cannot be folded into the "
                               f"synapse before the pool")
        src = g.node(src.inputs[0])
    if src.op not in ir.SYNAPSES or len(g.consumers(src.name)) != 1:
        raise CompileError(f"batch norm {bn.name!r} follows {src.name!r} ({src.op}); only a batch norm directly "
                           f"after a dense/conv synapse (or after pools behind one) with no other consumer, or one "
                           f"whose only consumer is a dense/conv synapse, can be folded")
    return src


def _synapse_behind(g: ir.Graph, bn: ir.BatchNorm) -> bool:
    """True when ``bn``'s input is a synapse, possibly behind single-consumer pools (the backward fold applies)."""
    src = g.node(bn.inputs[0])
    while src.op == "pool" and len(g.consumers(src.name)) == 1:
        src = g.node(src.inputs[0])
    return src.op in ir.SYNAPSES and len(g.consumers(src.name)) == 1


def _fold_forward(g: ir.Graph, bn: ir.BatchNorm, k: np.ndarray) -> bool:
    """Fold ``bn`` into the synapse it feeds (module docstring); False when that is not a dense/conv alone."""
    users = g.consumers(bn.name)
    if len(users) != 1 or users[0].op not in ir.SYNAPSES:
        return False
    dst = users[0]
    want = len(bn.shape) - 1 if dst.op == "dense" else 0
    if bn.axis != want:
        raise CompileError(f"batch norm {bn.name!r}: before {dst.op} {dst.name!r} it must normalise that synapse's "
                           f"input channels (per-step axis {want} of {bn.shape}), not axis {bn.axis}")
    why = ("it has delays (a delayed input is zero, not the batch norm's shift, until the delay has passed)"
           if getattr(dst, "delay", None) is not None else
           f"it has padding {dst.padding} (a zero pad is not shifted by the batch norm)"
           if dst.op == "conv" and dst.padding != (0, 0) else
           f"it has groups={dst.groups}" if dst.op == "conv" and dst.groups != 1 else
           "it has exact binary / QAT integers, which a per-input-channel factor would break"
           if dst.int_weight is not None else None)
    if why is not None:
        raise CompileError(f"batch norm {bn.name!r} has no synapse before it and cannot be folded into the "
                           f"{dst.op} {dst.name!r} after it: {why}")
    c = bn.beta - k * bn.mean
    shape = (1, -1) + (1,) * (dst.weight.ndim - 2)
    bias = dst.bias if dst.bias is not None else np.zeros(dst.weight.shape[0])
    dst.bias = bias + (dst.weight * c.reshape(shape)).reshape(dst.weight.shape[0], -1).sum(axis=1)
    dst.weight = dst.weight * k.reshape(shape)
    return True


def _fold_layer_integers(src: ir.Dense | ir.Conv, k: np.ndarray) -> None:
    """Keep a binary / QAT layer's integers exact through the fold: ``sign(k)`` goes into ``int_weight`` and ``|k|``
    into ``weight_scale``; a channel with ``k = 0`` has no such form, so the layer's integers are dropped."""
    if src.int_weight is None:
        return
    k = np.asarray(k, np.float64)
    if not np.all(k != 0):
        src.int_weight = src.weight_scale = None
        return
    sign = np.sign(k).astype(np.int64).reshape((-1,) + (1,) * (src.int_weight.ndim - 1))
    src.int_weight = np.asarray(src.int_weight, np.int64) * sign
    src.weight_scale = np.asarray(src.weight_scale, np.float64) * np.abs(k)


def fold_bn(graph: ir.Graph) -> ir.Graph:
    """Return a copy of ``graph`` with every ``batchnorm`` node folded into the synapse before it, or, when there is
    none, into the synapse after it (module docstring).

    Raises :class:`CompileError` naming the batch norm when it cannot be folded exactly. Example::

        g2 = fold_bn(capture(nn.Sequential(nn.Linear(4, 3), nk.layers.BatchNorm1d(3), nk.LIF()), x))
        [n.op for n in g2]     # ['input', 'dense', 'neuron']
        g3 = fold_bn(capture(nn.Sequential(nk.LIF(), nk.layers.BatchNorm1d(4), nn.Linear(4, 3)), x))
        [n.op for n in g3]     # ['input', 'neuron', 'dense']
    """
    g = graph.copy()
    for name in [n.name for n in g.nodes if n.op == "batchnorm"]:
        bn = g.node(name)               # looked up again: folding an earlier BN rewires this one's input
        k = bn.gamma / np.sqrt(bn.var + bn.eps)
        if not _synapse_behind(g, bn) and _fold_forward(g, bn, k):
            g = g.without(bn.name)
            continue
        src = _synapse_before(g, bn, k)
        want = len(bn.shape) - 1 if src.op == "dense" else 0
        if bn.axis != want:
            raise CompileError(f"batch norm {bn.name!r}: after {src.op} {src.name!r} it must normalise the output "
                               f"channels (per-step axis {want} of {bn.shape}), not axis {bn.axis}")
        kw = k.reshape((-1,) + (1,) * (src.weight.ndim - 1))
        bias = src.bias if src.bias is not None else np.zeros(src.weight.shape[0])
        src.weight = src.weight * kw
        src.bias = k * (bias - bn.mean) + bn.beta
        _fold_layer_integers(src, k)
        g = g.without(bn.name)
    return g
