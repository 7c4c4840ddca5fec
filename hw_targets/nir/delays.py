"""Per-synapse delays in NIR: ``Delay -> Linear/Affine`` branches, written by :func:`delay_branches` and imported as
one per-synapse delayed synapse (`DelayedLinear`).

The ``nir`` target (:mod:`hw_targets.nir.export`) exports a rounded ``DelayedLinear``
(``y[t, o] = b[o] + sum_j W[o, j] x[t - d[o, j], j]``, zero before ``t = 0``) decomposed by delay value: per distinct
delay ``k`` a branch ``Delay(k * dt seconds per input channel) -> Linear(W * (d == k))`` (``k = 0``: the Linear
alone), all branches from one source node feeding one target node, which sums them. :func:`collapse_delays` finds
every such group in any NIR graph (a ``Delay`` must be the only input of one ``Linear``/``Affine`` that feeds one
node; the group is every such branch into that target, plus the plain ``Linear``/``Affine`` nodes into it that read
the same source node(s)) and replaces it by one
:class:`DelayedSynapse` node; the target's other inputs are kept (summed, e.g. a residual edge). A Delay's
``delay`` (seconds, one value per input channel) must be a whole number of steps of ``dt`` (the Delay node's
``metadata["dt"]``, else the graph's); otherwise ``ValueError``.

Example::

    nodes, edges = collapse_delays(graph, dt=1e-4)       # graph: nir.NIRGraph exported with delays
    syn = next(n for n in nodes.values() if isinstance(n, DelayedSynapse))
    layer = syn.module()                                  # DelayedLinear, [T, B, in] -> [T, B, out]
"""
from __future__ import annotations

from dataclasses import dataclass

import nir
import numpy as np
import torch
from torch import nn

from compile.ir import CompileError
from neurokit.layers.delays import DelayedLinear


#: Graph / branch metadata naming the decomposition below.
DELAY_DECOMPOSITION = "per-synapse delays decomposed by delay value"


def delay_branches(n, key: str, dt: float, delay: np.ndarray) -> tuple[dict[str, nir.NIRNode], list[tuple[str, str]],
                                                                       list[str], list[str]]:
    """Decompose dense ``n`` (IR ``dense``) with integer ``delay [out, in]`` in steps (its own, or Lava's latency
    added: :mod:`hw_targets.nir.lava`) into one branch per distinct delay value: the export side of this module's
    convention.

    Returns ``(nodes, inner_edges, heads, tails)``: the layer's input feeds every head, every tail feeds the
    layer's consumers (summed there). Branch ``k``: ``Delay(full(in, k * dt))`` -> ``Linear(W * (delay == k))``
    (no Delay for ``k = 0``); the bias is on the first branch (an ``Affine``). Example: delays ``{0, 3}`` give
    nodes ``fc_w0`` (Affine or Linear), ``fc_delay3``, ``fc_w3`` with heads ``[fc_w0, fc_delay3]``, tails
    ``[fc_w0, fc_w3]``.
    """
    w = np.asarray(n.weight, dtype=np.float32)
    if w.ndim != 2 or delay.shape != w.shape:
        raise CompileError(f"nir: node {n.name!r} (dense): delays {delay.shape} must match the 2-D weight {w.shape}")
    nodes: dict[str, nir.NIRNode] = {}
    edges, heads, tails = [], [], []
    for i, k in enumerate(int(v) for v in np.unique(delay)):
        meta = {"dt": dt, "delay_steps": k, "unit": "s", "layer": n.name, "decomposition": DELAY_DECOMPOSITION}
        wk = np.where(delay == k, w, np.float32(0))
        lin = f"{key}_w{k}"
        if i == 0 and n.bias is not None:
            nodes[lin] = nir.Affine(weight=wk, bias=np.asarray(n.bias, dtype=np.float32), metadata=dict(meta))
        else:
            nodes[lin] = nir.Linear(weight=wk, metadata=dict(meta))
        if k == 0:
            heads.append(lin)
        else:
            nodes[f"{key}_delay{k}"] = nir.Delay(delay=np.full(w.shape[1], k * dt, dtype=np.float64), metadata=meta)
            edges.append((f"{key}_delay{k}", lin))
            heads.append(f"{key}_delay{k}")
        tails.append(lin)
    return nodes, edges, heads, tails


@dataclass
class DelayedSynapse:
    """A collapsed delay group: ``weight [out, in]`` float32, ``delay [out, in]`` int64 steps, ``bias [out]`` or
    None; ``parts``: the NIR node names it replaces. ``module()`` builds the equivalent layer."""

    weight: np.ndarray
    delay: np.ndarray
    bias: np.ndarray | None
    parts: list[str]

    def module(self) -> nn.Module:
        """A rounded ``DelayedLinear`` (``nn.Linear`` if every delay is 0): ``[T, B, in] -> [T, B, out]``."""
        out_f, in_f = self.weight.shape
        max_delay = int(self.delay.max())
        if max_delay == 0:
            layer = nn.Linear(in_f, out_f, bias=self.bias is not None)
        else:  # "random" = fixed integer delays; its draw (own generator) is overwritten below
            layer = DelayedLinear(in_f, out_f, max_delay=max_delay, mode="random", bias=self.bias is not None,
                                  generator=torch.Generator())
            layer.delay.copy_(torch.as_tensor(self.delay))
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(self.weight))
            if self.bias is not None:
                layer.bias.copy_(torch.as_tensor(self.bias))
        return layer


def _steps(name: str, node: nir.Delay, dt: float, in_features: int) -> np.ndarray:
    """Delay in seconds -> int64 steps ``[in]``; ``ValueError`` unless a non-negative whole multiple of ``dt``."""
    dt = float((node.metadata or {}).get("dt", dt))
    sec = np.asarray(node.delay, dtype=np.float64)
    if sec.shape not in ((), (1,), (in_features,)):
        raise ValueError(f"NIR node {name!r} (Delay): delay shape {sec.shape} does not match the {in_features} "
                         "input channels of the Linear it feeds")
    steps = sec / dt
    bad = (~np.isclose(steps, np.round(steps), rtol=0.0, atol=1e-6)) | (steps < -1e-6)
    if bad.any():
        v = float(np.broadcast_to(sec, bad.shape)[bad][0]) if bad.shape else float(sec)
        raise ValueError(f"NIR node {name!r} (Delay): delay {v:g} s is {v / dt:g} steps of dt={dt:g} s; neurokit "
                         "delays must be non-negative whole time steps (a multiple of dt)")
    return np.broadcast_to(np.round(steps).astype(np.int64), (in_features,))


def _group(target: str, pred: dict, succ: dict, nodes: dict, dt: float) -> tuple[list[str], DelayedSynapse]:
    """The source nodes and the collapsed synapse of the delay branches feeding ``target``.

    The branches are the Linear/Affine inputs of ``target`` that feed only ``target`` and read either one Delay or
    directly the Delays' sources; other inputs of ``target`` (a residual edge) are left alone.
    """
    lins = [p for p in pred[target] if isinstance(nodes[p], (nir.Linear, nir.Affine)) and succ[p] == [target]]
    delays = [pred[p][0] for p in lins if len(pred[p]) == 1 and isinstance(nodes[pred[p][0]], nir.Delay)]
    if any(not pred[d] for d in delays):
        raise ValueError(f"NIR node {next(d for d in delays if not pred[d])!r} (Delay): it has no input")
    found = {tuple(sorted(pred[d])) for d in delays}
    if len(found) != 1:
        raise ValueError(f"NIR node {target!r}: its delay branches read different sources {sorted(found)}; "
                         "neurokit rebuilds one delayed synapse from one input")
    sources = list(found.pop())
    weight = delay = bias = None
    parts = []
    for lin in lins:
        node = nodes[lin]
        head = pred[lin][0] if len(pred[lin]) == 1 else None
        if head not in delays and sorted(pred[lin]) != sources:
            continue  # an ordinary synapse from elsewhere (e.g. a residual branch), summed into target as is
        w = np.asarray(node.weight, dtype=np.float32)
        if w.ndim != 2:
            raise ValueError(f"NIR node {lin!r}: weight must be 2-D (out, in), got shape {w.shape}")
        if head in delays:
            d = _steps(head, nodes[head], dt, w.shape[1])
            parts.append(head)
        else:
            d = np.zeros(w.shape[1], np.int64)
        parts.append(lin)
        dk = np.broadcast_to(d, w.shape)
        if weight is None:
            weight, delay = np.zeros_like(w), np.zeros(w.shape, np.int64)
        if w.shape != weight.shape:
            raise ValueError(f"NIR node {lin!r}: weight shape {w.shape} differs from the other branches into "
                             f"{target!r} ({weight.shape})")
        clash = (weight != 0) & (w != 0) & (delay != dk)
        if clash.any():
            raise ValueError(f"NIR node {target!r}: synapse {tuple(map(int, np.argwhere(clash)[0]))} has non-zero "
                             f"weights with two different delays; neurokit has one delay per synapse")
        delay = np.where(w != 0, dk, delay)
        weight = weight + w
        if isinstance(node, nir.Affine):
            b = np.asarray(node.bias, dtype=np.float32)
            bias = b if bias is None else bias + b
    return sources, DelayedSynapse(weight, delay, bias, parts)


def collapse_delays(graph: nir.NIRGraph, dt: float) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """``graph``'s nodes and edges with every Delay branch group replaced by one :class:`DelayedSynapse`.

    Args:
        graph: any ``nir.NIRGraph``; a graph without ``Delay`` nodes comes back unchanged.
        dt: seconds per step for Delay nodes without ``metadata["dt"]``.

    Returns:
        ``(nodes, edges)``; a collapsed group is named after its first Linear/Affine and sits between the common
        source node(s) (several: their sum is the input, e.g. a residual add before the layer) and the target
        node; the target's other inputs (a residual edge) stay.

    Example::

        nodes, edges = collapse_delays(graph, 1e-4)   # Delay/Linear branches of 'fc' -> nodes['fc_w0']
    """
    nodes, edges = dict(graph.nodes), list(graph.edges)
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    pred: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
        pred.setdefault(b, []).append(a)
    targets = []
    for name, node in graph.nodes.items():
        if not isinstance(node, nir.Delay):
            continue
        nxt = succ[name]
        if len(nxt) != 1 or not isinstance(nodes[nxt[0]], (nir.Linear, nir.Affine)) or len(succ[nxt[0]]) != 1 \
                or len(pred[nxt[0]]) != 1:
            raise ValueError(f"NIR node {name!r} (Delay): neurokit imports a Delay only as the input of one "
                             "Linear/Affine that reads nothing else and feeds one node (per-synapse delays)")
        if succ[nxt[0]][0] not in targets:
            targets.append(succ[nxt[0]][0])
    for target in targets:
        sources, syn = _group(target, pred, succ, nodes, dt)
        key = next(p for p in syn.parts if not isinstance(nodes[p], nir.Delay))
        for p in syn.parts:
            del nodes[p]
        nodes[key] = syn
        edges = [e for e in edges if e[0] not in syn.parts and e[1] not in syn.parts]
        edges += [(src, key) for src in sources] + [(key, target)]
    return nodes, edges
