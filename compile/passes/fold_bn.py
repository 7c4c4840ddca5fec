"""Pass: fold inference batch norm into the preceding synapse.

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
                           f"after a dense/conv synapse (or after pools behind one) with no other consumer can be "
                           f"folded")
    return src


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
    """Return a copy of ``graph`` with every ``batchnorm`` node folded into the synapse before it (module docstring).

    Raises :class:`CompileError` naming the batch norm when it cannot be folded exactly. Example::

        g2 = fold_bn(capture(nn.Sequential(nn.Linear(4, 3), nk.layers.BatchNorm1d(3), nk.LIF()), x))
        [n.op for n in g2]     # ['input', 'dense', 'neuron']
    """
    g = graph.copy()
    for name in [n.name for n in g.nodes if n.op == "batchnorm"]:
        bn = g.node(name)               # looked up again: folding an earlier BN rewires this one's input
        k = bn.gamma / np.sqrt(bn.var + bn.eps)
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
