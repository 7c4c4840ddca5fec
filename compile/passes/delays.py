"""Pass: round learned synaptic delays to integer time steps.

A ``dense`` node captured from an unrounded ``DelayedLinear`` carries float positions in ``[0, max_delay]``;
this pass makes them ``int64`` with ``round`` (halves to even, exactly ``DelayedLinear.round_``). Every target
runs the rounded model, ``y[t, o] = sum_j W[o, j] x[t - d[o, j], j]``.
"""
from __future__ import annotations

import numpy as np

from compile import ir


def round_delays(graph: ir.Graph) -> ir.Graph:
    """Return a copy of ``graph`` whose ``dense.delay`` arrays are int64 (``[O, I]``, rounded half to even).

    Example::

        g = round_delays(capture(nn.Sequential(DelayedLinear(3, 2, max_delay=4), nk.LIF()), x))
        g.node("0").delay.dtype      # int64
    """
    g = graph.copy()
    for n in g.nodes:
        if n.op == "dense" and n.delay is not None and n.delay.dtype.kind == "f":
            n.delay = np.round(n.delay).astype(np.int64)
    return g
