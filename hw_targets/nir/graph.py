"""The wiring of an imported NIR graph: topological order (:func:`topo_order`) and the model that runs a graph with
fan-out and summed inputs (:class:`GraphModel`, what ``nk.from_nir`` returns for residual graphs).

NIR sums all edges into a node, so a residual ``y = f(x) + x`` is two edges into ``y``'s consumer; ``GraphModel``
adds the incoming tensors (in edge order) and applies the node's module to the sum.

Example::

    order, pred, succ = topo_order(nodes, edges)       # nodes: name -> NIR node; edges: [(src, dst)]
    model = GraphModel({"fc": nn.Linear(4, 4), "lif": nk.LIF()},
                       {"fc": ["input"], "lif": ["fc", "input"], "output": ["lif"]}, "input", "output")
    y = model(x)                                       # x [T, B, 4] -> lif(fc(x) + x) [T, B, 4]
"""
from __future__ import annotations

import nir
import torch
from torch import nn


def topo_order(nodes: dict, edges: list[tuple[str, str]]) -> tuple[list[str], dict[str, list[str]],
                                                                     dict[str, list[str]]]:
    """``(order, pred, succ)``: nodes in topological order from the one ``Input`` to the one ``Output``.

    ``pred[name]`` / ``succ[name]``: the node's sources / consumers in edge order (``[]`` if none). ``ValueError``
    for duplicate edges, not exactly one Input and one Output, a cycle (recurrent graphs are not supported) or nodes
    off every input -> output path.
    """
    if len(set(edges)) != len(edges):
        dup = next(e for e in edges if edges.count(e) > 1)
        raise ValueError(f"NIR graph: edge {dup} appears twice (NIR sums distinct edges; a doubled edge is ambiguous)")
    pred: dict[str, list[str]] = {k: [] for k in nodes}
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b in edges:
        if a not in nodes or b not in nodes:
            raise ValueError(f"NIR graph: edge {(a, b)} names a node that does not exist")
        succ[a].append(b)
        pred[b].append(a)
    for kind in (nir.Input, nir.Output):
        found = [k for k, n in nodes.items() if isinstance(n, kind)]
        if len(found) != 1:
            raise ValueError(f"NIR graph: expected exactly one {kind.__name__} node, found {found}")
    start = next(k for k, n in nodes.items() if isinstance(n, nir.Input))
    if pred[start]:
        raise ValueError(f"NIR graph: the Input node {start!r} has incoming edges from {pred[start]}")
    waiting = {k: len(p) for k, p in pred.items()}
    order, ready = [], [start]
    while ready:
        cur = ready.pop(0)
        order.append(cur)
        for nxt in succ[cur]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                ready.append(nxt)
    if len(order) != len(nodes):
        left = sorted(set(nodes) - set(order))
        stuck = [k for k in left if all(p in order for p in pred[k])]
        if stuck:
            raise ValueError(f"NIR graph: nodes {left} are not reachable from the Input")
        from .cycles import components
        on_cycles = sorted(k for comp in components(nodes, edges) for k in comp)
        raise ValueError(f"NIR graph: nodes {on_cycles} are on a cycle that was not imported as a recurrent layer")
    end = next(k for k, n in nodes.items() if isinstance(n, nir.Output))
    dead = [k for k in order if not succ[k] and k != end]
    if dead:
        raise ValueError(f"NIR graph: nodes {dead} do not lead to the Output")
    return order, pred, succ


class GraphModel(nn.Module):
    """Time-major model for a NIR graph that branches or merges.

    Args:
        modules: node name -> module ``[T, B, ...] -> [T, B, ...]`` (every node except Input/Output; ``.`` in a
            name becomes ``_`` as a submodule key).
        inputs: node name -> the nodes it reads, summed, in topological order; the output node reads its sources.
        input_name / output_name: the graph's Input and Output node names.

    ``forward(x [T, B, *input_shape]) -> [T, B, *output_shape]``.
    """

    def __init__(self, modules: dict[str, nn.Module], inputs: dict[str, list[str]], input_name: str,
                 output_name: str):
        super().__init__()
        self.keys = {name: name.replace(".", "_") for name in modules}
        if len(set(self.keys.values())) != len(self.keys):
            raise ValueError(f"NIR graph: node names {sorted(modules)} collide once '.' becomes '_'")
        self.layers = nn.ModuleDict({self.keys[name]: m for name, m in modules.items()})
        self.inputs = {name: list(src) for name, src in inputs.items()}
        self.input_name, self.output_name = input_name, output_name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {self.input_name: x}
        for name, sources in self.inputs.items():
            total = values[sources[0]]
            for src in sources[1:]:
                total = total + values[src]
            values[name] = total if name == self.output_name else self.layers[self.keys[name]](total)
        return values[self.output_name]
