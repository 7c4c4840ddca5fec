"""Recurrent NIR graphs: find the cycles (strongly connected components) and fold each into one recurrent cell.

NIR sums every edge into a node and a neuron's output is its spikes, so a cycle ``neuron -> synapse -> neuron`` is a
recurrent layer whose synapse carries the previous step's spikes (the layout snnTorch 1.0's ``export_to_nir`` writes
for ``RLeaky`` / ``RSynaptic``: ``lif -> w_rec -> lif``, and what ``nk.compile(target="nir")`` writes for
``nk.layers.Recurrent``). :func:`collapse_cycles` replaces each such component by a :class:`RecurrentCell` under the
neuron's name, so the rest of the import sees an acyclic graph.

Rules (``ValueError`` naming the nodes of the component otherwise): a component must hold exactly one neuron node
(LIF, CubaLIF, IF) and one Affine/Linear node, wired ``neuron -> synapse -> neuron``, with no edge into the synapse
from outside the component; a cycle with no neuron is an algebraic loop (a value that depends on itself within one
step) and is refused as such.

Example::

    nodes, edges = collapse_cycles(graph.nodes, graph.edges)   # "lif" becomes RecurrentCell(lif, w_rec)
"""
from __future__ import annotations

from dataclasses import dataclass

import nir

NEURON_TYPES = (nir.LIF, nir.CubaLIF, nir.IF)
SYNAPSE_TYPES = (nir.Affine, nir.Linear)


@dataclass
class RecurrentCell:
    """A neuron node with its recurrent synapse (``synapse_name``), folded out of a NIR cycle."""

    neuron: object
    synapse: object
    synapse_name: str


def components(nodes, edges: list[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components of the graph that contain a cycle (more than one node, or a self-loop),
    each sorted; Tarjan's algorithm, iterative.

    Example::

        components({"a": 0, "b": 0, "c": 0}, [("a", "b"), ("b", "a"), ("b", "c")])    # [['a', 'b']]
    """
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b in edges:
        if a in succ and b in succ:
            succ[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = len(index)
                stack.append(v)
                on_stack.add(v)
            if i < len(succ[v]):
                work.append((v, i + 1))
                w = succ[v][i]
                if w not in index:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in succ[v]:
                    found.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return found


def _cell_of(comp: list[str], nodes, edges) -> tuple[str, str]:
    """``(neuron, synapse)`` names of a recurrent component, or ``ValueError`` naming its nodes."""
    neurons = [k for k in comp if isinstance(nodes[k], NEURON_TYPES)]
    if not neurons:
        raise ValueError(f"NIR graph: nodes {comp} form a cycle with no neuron on it (an algebraic loop: their "
                         "values would depend on themselves within one step); a recurrent cycle must pass through "
                         "a LIF, CubaLIF or IF node")
    synapses = [k for k in comp if isinstance(nodes[k], SYNAPSE_TYPES)]
    inner = {(a, b) for a, b in edges if a in comp and b in comp}
    if len(neurons) != 1 or len(synapses) != 1 or len(comp) != 2:
        raise ValueError(f"NIR graph: the cycle through nodes {comp} is not one neuron node and one Affine/Linear "
                         "node (neurokit imports a recurrent layer as neuron -> synapse -> neuron)")
    neuron, synapse = neurons[0], synapses[0]
    if inner != {(neuron, synapse), (synapse, neuron)}:
        raise ValueError(f"NIR graph: the cycle through nodes {comp} must be wired {neuron!r} -> {synapse!r} -> "
                         f"{neuron!r}, got edges {sorted(inner)}")
    outside = sorted(a for a, b in edges if b == synapse and a != neuron)
    if outside:
        raise ValueError(f"NIR graph: recurrent synapse {synapse!r} also reads {outside}; it may only read its "
                         f"neuron {neuron!r}")
    return neuron, synapse


def collapse_cycles(nodes: dict, edges: list[tuple[str, str]]) -> tuple[dict, list[tuple[str, str]]]:
    """Fold every recurrent component into a :class:`RecurrentCell` under its neuron's name (module docstring).

    Returns new ``(nodes, edges)`` without the recurrent synapses and the edges to and from them; an acyclic graph
    comes back unchanged.
    """
    comps = components(nodes, edges)
    if not comps:
        return nodes, edges
    nodes = dict(nodes)
    for comp in comps:
        neuron, synapse = _cell_of(comp, nodes, edges)
        nodes[neuron] = RecurrentCell(nodes[neuron], nodes.pop(synapse), synapse)
        edges = [(a, b) for a, b in edges if synapse not in (a, b)]
    return nodes, edges
