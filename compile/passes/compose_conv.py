"""Pass: compose a chain of convolutions with no neuron between them into one convolution.

Conv A (``[M, C/gA, ka, ka]``, stride 1, bias ``a``) followed directly by conv B (``[O, M/gB, kb, kb]``, stride
``s``, bias ``b``), A having no other consumer, is one conv of kernel ``ka + kb - 1``, stride ``s``, padding
``pA + pB`` and groups 1::

    K[o, c, u] = sum_m sum_{i + j = u} B[o, m, j] A[m, c, i]        bias[o] = b[o] + sum_{m, j} B[o, m, j] a[m]

which is exact in real arithmetic when B has no padding (the border of A's output, computed from A's zero padding
as ``a``, is what the composed conv sees too) or A is a bias-free unpadded 1x1 conv (B's zero padding of A's output
is then A's output on a zero-padded input). Meta-SpikeFormer's separable conv (depth-wise 7x7 then point-wise)
and RepConv (1x1, depth-wise 3x3, 1x1) are such chains; an integer target then runs them as one integer conv (an
accumulator
feeding another synapse has no integer format of its own). A chain that fails these conditions is left alone, and
the target's own check names it.

Example::

    g = compose_convs(fold_bn(capture(nn.Sequential(Conv2d(4, 4, 3, groups=4), Conv2d(4, 8, 1), nk.LIF()), x)))
    [n.op for n in g]          # ['input', 'conv', 'neuron']
"""
from __future__ import annotations

import numpy as np

from compile import ir


def _full_weight(c: ir.Conv, in_channels: int) -> np.ndarray:
    """``c.weight`` as a groups=1 weight ``[O, in_channels, k, k]`` (block-diagonal for grouped convs)."""
    out = c.weight.shape[0]
    per_in, per_out = in_channels // c.groups, out // c.groups
    full = np.zeros((out, in_channels) + c.weight.shape[2:])
    for g in range(c.groups):
        full[g * per_out:(g + 1) * per_out, g * per_in:(g + 1) * per_in] = c.weight[g * per_out:(g + 1) * per_out]
    return full


def _composable(g: ir.Graph, a: ir.Node, b: ir.Conv) -> bool:
    if a.op != "conv":
        return False
    plain = all(getattr(n, f) is None for n in (a, b) for f in ("weight_bits", "input_levels", "int_weight",
                                                                    "weight_scale", "quant"))
    pointwise = a.weight.shape[2:] == (1, 1) and a.padding == (0, 0) and (a.bias is None or not np.any(a.bias))
    no_border = b.padding == (0, 0) or pointwise
    return (plain and no_border and len(g.consumers(a.name)) == 1 and a.stride == (1, 1)
            and a.dilation == (1, 1) and b.dilation == (1, 1))


def _compose(a: ir.Conv, b: ir.Conv, in_channels: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    wa, wb = _full_weight(a, in_channels), _full_weight(b, a.weight.shape[0])
    ka, kb = np.array(wa.shape[2:]), np.array(wb.shape[2:])
    k = np.zeros((wb.shape[0], in_channels, *(ka + kb - 1)))
    for j1 in range(kb[0]):
        for j2 in range(kb[1]):
            k[:, :, j1:j1 + ka[0], j2:j2 + ka[1]] += np.einsum("om,mchw->ochw", wb[:, :, j1, j2], wa)
    bias = np.zeros(wb.shape[0]) if b.bias is None else b.bias.copy()
    if a.bias is not None:
        bias = bias + np.einsum("omhw,m->o", wb, a.bias)
    return k, bias, (a.padding[0] + b.padding[0], a.padding[1] + b.padding[1])


def compose_convs(graph: ir.Graph) -> ir.Graph:
    """Return a copy of ``graph`` with every composable conv -> conv chain merged (module docstring)."""
    g = graph.copy()
    changed = True
    while changed:
        changed = False
        for b in [n for n in g.nodes if n.op == "conv"]:
            a = g.node(b.inputs[0])
            if not _composable(g, a, b):
                continue
            in_channels = g.node(a.inputs[0]).shape[0]
            b.weight, b.bias, b.padding = _compose(a, b, in_channels)
            b.groups = 1
            g = g.without(a.name)
            changed = True
            break
    return g
