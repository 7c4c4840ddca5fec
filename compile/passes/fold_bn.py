"""Pass: fold inference batch norm into the preceding synapse.

For a ``dense``/``conv`` node ``y = W x + b`` followed only by ``batchnorm`` (per output channel ``o``),
``k[o] = gamma[o] / sqrt(var[o] + eps)``::

    W'[o] = k[o] * W[o]          b'[o] = k[o] * (b[o] - mean[o]) + beta[o]

which is exact in real arithmetic (float tolerance ~1e-6 relative). The per-channel factor ``k`` then lives in
the per-channel weight scale, which quantization turns into the per-neuron integer threshold
(``vth[o] = round(v_threshold / acc_scale[o])``), so the batch norm ends up in the synapse and the threshold.
"""
from __future__ import annotations

import numpy as np

from compile import ir
from compile.ir import CompileError


def fold_bn(graph: ir.Graph) -> ir.Graph:
    """Return a copy of ``graph`` with every ``batchnorm`` node folded into the synapse before it.

    Raises :class:`CompileError` naming the batch norm when it does not directly follow a synapse that feeds
    nothing else. Example::

        g2 = fold_bn(capture(nn.Sequential(nn.Linear(4, 3), nk.layers.BatchNorm1d(3), nk.LIF()), x))
        [n.op for n in g2]     # ['input', 'dense', 'neuron']
    """
    g = graph.copy()
    for bn in [n for n in g.nodes if n.op == "batchnorm"]:
        src = g.node(bn.inputs[0])
        if src.op not in ir.SYNAPSES or len(g.consumers(src.name)) != 1:
            raise CompileError(f"batch norm {bn.name!r} follows {src.name!r} ({src.op}); only a batch norm directly "
                               f"after a dense/conv synapse with no other consumer can be folded")
        if src.op == "dense" and len(bn.shape) != 1:
            raise CompileError(f"batch norm {bn.name!r}: after dense {src.name!r} it must normalise the feature "
                               f"axis of a [T, B, F] tensor, got per-step shape {bn.shape}")
        k = bn.gamma / np.sqrt(bn.var + bn.eps)
        kw = k.reshape((-1,) + (1,) * (src.weight.ndim - 1))
        bias = src.bias if src.bias is not None else np.zeros(src.weight.shape[0])
        src.weight = src.weight * kw
        src.bias = k * (bias - bn.mean) + bn.beta
        g = g.without(bn.name)
    return g
