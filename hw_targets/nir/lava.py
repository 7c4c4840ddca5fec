"""NIR export and exact re-import of Lava fixed-point networks (``nk.from_netx`` models: ``LavaBlock`` /
``LavaInput``), so a network trained in lava-dl reaches every NIR consumer and comes back to neurokit unchanged.

NIR (1.0) has no integer neuron, so each Lava block is written as the float dynamics that Lava's integers
approximate, plus the integers themselves in the node metadata:

=====================================  ===============================================================================
Lava (``lava/proc/lif/models.py``,     NIR
``PyLifModelBitAcc``; netx block)
=====================================  ===============================================================================
one-step synaptic latency (+ delay     ``Delay((1 + d) * dt)`` -> ``Linear`` / ``Affine`` per distinct synaptic delay
``d`` of a ``DelayDense``)             ``d`` (the bias, after the Delay, acts from step 0 as in Lava); a conv block:
                                       ``Delay(dt)`` on every input -> ``Conv2d``
integer weights ``w`` (netx stores)    the weights, unscaled
``bias`` (``bias_mant``)               the synapse's bias (Lava adds it to ``a_in`` every step: ``iDecay = 4096``)
CUBA LIF: ``u = u (4096 - iDecay) /    ``CubaLIF(tau_syn = dt 4096 / iDecay, tau_mem = dt 4096 / vDecay,
4096 + (a_in << 6)``, ``v = v (4096 -  r = tau_mem / dt, w_in = 64 tau_syn / dt, v_threshold = vThMant << 6,
vDecay) / 4096 + u``, spike            v_leak = v_reset = 0)``: forward Euler of it is Lava's update without the
``v > vThMant << 6``, ``v = 0``        rounding toward zero (``iDecay`` or ``vDecay`` 0: ``tau = inf``)
input block with a neuron              ``Input -> CubaLIF`` (no synapse, no latency: the input is its ``a_in``)
``dense_rec`` block (``weight_rec``)   the cycle ``CubaLIF -> Linear(weight_rec) -> CubaLIF`` (NIR's recurrent edge
                                       carries the previous step's spikes: Lava's recurrent Dense latency)
=====================================  ===============================================================================

Every neuron's ``metadata["lava"]`` holds ``{"i_decay", "v_decay", "vth_mant"}`` and its ``discretization`` is
``"lava_fixed_point"``; :func:`lava_network_from_nir` reads such a graph back into the
:class:`~hw_targets.loihi2.network.LoihiNetwork` it came from (``nk.from_nir`` then builds the ``nk.from_netx``
model of it), so the re-imported model's spikes equal the original's exactly (the first branch of a delayed block
keeps the whole delay matrix, zero weights' delays included, in ``metadata["lava_delay"]``). Not kept: the netx
file's own datasets (``simulation/*``, per-block extras). A consumer that ignores the
metadata runs the float dynamics, which drift from Lava's integers (rounding, 24-bit wrap of ``u``, the conv wrap).

Example::

    g = nk.compile(nk.from_netx("tiny.net"), target="nir", example_input=x).artefact.graph
    model = nk.from_nir(g)                      # the same LavaBlocks, the same integers
"""
from __future__ import annotations

import math

import nir
import numpy as np

from compile import ir
from neurokit.integer import ACT_SHIFT, DECAY_UNITY

from .delays import delay_branches

DISCRETIZATION = "lava_fixed_point"


def _tau(decay: int, dt: float) -> float:
    return math.inf if decay == 0 else dt * DECAY_UNITY / decay


def lava_neuron(n: ir.Neuron, dt: float) -> nir.CubaLIF:
    """The NIR node of a captured Lava neuron (``is_lava_neuron(n)``), float form and integers (module docstring)."""
    p = n.layer_integer
    vth = int(np.max(p.vth))
    full = lambda v: np.full(n.shape, v, dtype=np.float64)
    ts, tm = _tau(p.decay_u, dt), _tau(p.decay_v, dt)
    meta = {"dt": dt, "discretization": DISCRETIZATION, "kind": "cuba", "spike": "v > v_threshold",
            "reset": "zero", "reset_timing": "same_step",
            "lava": {"i_decay": int(p.decay_u), "v_decay": int(p.decay_v), "vth_mant": vth}}
    return nir.CubaLIF(tau_syn=full(ts), tau_mem=full(tm), r=full(tm / dt), v_leak=full(0.0),
                       v_threshold=full(float(vth << ACT_SHIFT)), v_reset=full(0.0),
                       w_in=full(ts / dt * 2 ** ACT_SHIFT), metadata=meta)


def lava_synapse(n: ir.Dense | ir.Conv, key: str, in_shape: tuple[int, ...], dt: float):
    """The NIR nodes of the synapse feeding a Lava neuron: ``(nodes, inner_edges, heads, tails)`` as
    :func:`hw_targets.nir.delays.delay_branches` gives them (the layer's input feeds every head, every tail feeds the
    neuron)."""
    w = np.asarray(n.weight, dtype=np.float32)
    if n.op == "conv":
        bias = np.zeros(w.shape[0], np.float32) if n.bias is None else np.asarray(n.bias, dtype=np.float32)
        meta = {"dt": dt, "unit": "s", "layer": n.name, "delay_steps": 1}
        delay = nir.Delay(delay=np.full(in_shape, dt, dtype=np.float64), metadata=meta)
        conv = nir.Conv2d(input_shape=tuple(in_shape[1:]), weight=w, stride=n.stride, padding=n.padding,
                          dilation=n.dilation, groups=n.groups, bias=bias, metadata={"layer": n.name})
        return {f"{key}_delay1": delay, key: conv}, [(f"{key}_delay1", key)], [f"{key}_delay1"], [key]
    d = np.zeros(w.shape, np.int64) if n.delay is None else np.asarray(n.delay, np.int64)
    parts = delay_branches(n, key, dt, d + 1)  # Lava's latency: one step more on every synaptic delay
    if n.delay is not None:  # the whole delay matrix, zero weights' delays included, on the first branch
        parts[0][parts[3][0]].metadata["lava_delay"] = d
    return parts


def is_lava_graph(graph: nir.NIRGraph) -> bool:
    """Whether ``graph`` holds Lava neurons written by :func:`lava_neuron` (``metadata["lava"]``).

    Example: ``is_lava_graph(nk.compile(nk.from_netx(p), target="nir", example_input=x).artefact.graph)`` is True.
    """
    return any(isinstance(nd, nir.CubaLIF) and isinstance((nd.metadata or {}).get("lava"), dict)
               for nd in graph.nodes.values())


def _steps(name: str, node: nir.Delay, dt: float) -> int:
    d = np.unique(np.asarray(node.delay, np.float64) / dt)
    if d.size != 1 or abs(d[0] - round(d[0])) > 1e-6 or round(d[0]) < 1:
        raise ValueError(f"NIR node {name!r}: a Lava synapse's Delay must be one whole number >= 1 of steps "
                         f"(dt = {dt:g} s), got {np.asarray(node.delay).reshape(-1)[:4].tolist()}")
    return int(round(d[0]))


def _params(name: str, node: nir.CubaLIF) -> tuple[int, int, int]:
    lava = node.metadata["lava"]
    try:
        return int(lava["i_decay"]), int(lava["v_decay"]), int(lava["vth_mant"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"NIR node {name!r}: metadata 'lava' must hold integers i_decay, v_decay, vth_mant; got "
                         f"{lava!r}") from err


def _links(graph: nir.NIRGraph) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``(pred, succ)``: each node's source and destination nodes (cycles allowed: a ``dense_rec`` block's)."""
    pred: dict[str, list[str]] = {k: [] for k in graph.nodes}
    succ: dict[str, list[str]] = {k: [] for k in graph.nodes}
    for a, b in graph.edges:
        if a not in graph.nodes or b not in graph.nodes:
            raise ValueError(f"NIR edge ({a!r}, {b!r}) names a node the graph does not have")
        pred[b].append(a)
        succ[a].append(b)
    return pred, succ


def _layer(name: str, node: nir.CubaLIF, graph: nir.NIRGraph, pred: dict, src: str, in_shape, dt: float):
    """The LoihiLayer of Lava neuron ``name`` and the synapse branches feeding it (all reading node ``src``)."""
    from hw_targets.loihi2.network import ConvGeometry, LoihiLayer

    i_decay, v_decay, vth = _params(name, node)
    weights, delays, bias, conv, weight_rec = [], [], None, None, None
    for syn in pred[name]:
        sn = graph.nodes[syn]
        if pred[syn] == [name] and isinstance(sn, nir.Linear):  # the dense_rec cycle: its recurrent weights
            weight_rec = np.asarray(sn.weight, np.float64)
            continue
        (dl,) = pred[syn] if len(pred[syn]) == 1 else (None,)
        if dl is None or not isinstance(graph.nodes[dl], nir.Delay) or pred[dl] != [src]:
            raise ValueError(f"NIR node {name!r}: a Lava neuron reads Delay -> Linear / Affine / Conv2d branches from "
                             f"one source ({src!r}); {syn!r} is not one")
        k = _steps(dl, graph.nodes[dl], dt) - 1
        if isinstance(sn, nir.Conv2d):
            if len(pred[name]) != 1 or k:
                raise ValueError(f"NIR node {name!r}: a Lava conv block reads one Delay(dt) -> Conv2d")
            conv = ConvGeometry(tuple(int(v) for v in in_shape), tuple(int(v) for v in np.ravel(sn.stride)),
                                tuple(int(v) for v in np.ravel(sn.padding)),
                                tuple(int(v) for v in np.ravel(sn.dilation)), int(sn.groups))
            bias = np.asarray(sn.bias)
        elif isinstance(sn, (nir.Linear, nir.Affine)):
            if isinstance(sn, nir.Affine):
                bias = np.asarray(sn.bias) if bias is None else bias + np.asarray(sn.bias)
        else:
            raise ValueError(f"NIR node {syn!r}: {type(sn).__name__} cannot feed a Lava neuron")
        weights.append(np.asarray(sn.weight, np.float64))
        delays.append(np.where(weights[-1] != 0, k, 0))
    w = np.sum(weights, axis=0)
    delay = None if conv is not None or not np.any(delays) else np.sum(delays, axis=0)
    stored = [(graph.nodes[syn].metadata or {}).get("lava_delay") for syn in pred[name]]
    stored = next((np.asarray(d) for d in stored if d is not None), None)
    if stored is not None:  # the exporter's full matrix: it must agree with the branches on every nonzero weight
        if stored.shape != w.shape or np.any((w != 0) & (stored != (0 if delay is None else delay))):
            raise ValueError(f"NIR node {name!r}: metadata 'lava_delay' {stored.shape} disagrees with its Delay "
                             "branches")
        delay = stored.astype(np.int64) if np.any(stored) else None
    bias = None if bias is None or not np.any(bias) else np.round(bias).astype(np.int64)
    try:
        return LoihiLayer(w, i_decay, v_decay, vth, delay=delay, bias=bias, name=name, conv=conv,
                          weight_rec=weight_rec)
    except ValueError as err:
        raise ValueError(f"NIR node {name!r}: {err}") from err


def lava_network_from_nir(graph: nir.NIRGraph, dt: float):
    """The :class:`~hw_targets.loihi2.network.LoihiNetwork` of a graph written from a Lava model (module docstring):
    a chain ``Input -> [CubaLIF (input block)] -> (Delay -> synapse -> CubaLIF | Flatten)* -> Output``.

    Example::

        net = lava_network_from_nir(graph, dt=1e-4)      # equal to load_netx(the original file) layer for layer
    """
    from hw_targets.loihi2.network import InputLayer, LoihiNetwork

    pred, succ = _links(graph)
    inputs = [k for k, nd in graph.nodes.items() if isinstance(nd, nir.Input)]
    if len(inputs) != 1:
        raise ValueError(f"a Lava NIR graph has one Input node, got {inputs}")
    cur = inputs[0]
    shape = tuple(int(v) for v in np.ravel(graph.nodes[cur].input_type["input"]))
    layers, input_layer, netx = [], None, {}
    while True:
        nxt = [k for k in succ[cur] if succ[k] != [cur]]  # not a dense_rec block's own recurrent synapse
        if not nxt:
            raise ValueError(f"NIR node {cur!r}: the Lava chain ends without an Output node")
        node = graph.nodes[nxt[0]]
        if isinstance(node, nir.Output):
            break
        if isinstance(node, nir.Flatten):
            if not layers:  # netx's flatten block before the first block (``nk.from_netx`` keeps it)
                netx["flatten/0/type"] = (np.array([b"flatten"], dtype="S10"), np.dtype("S10"))
            cur, shape = nxt[0], (int(np.prod(shape)),)
            continue
        if isinstance(node, nir.CubaLIF) and len(nxt) == 1 and not layers and input_layer is None and cur == inputs[0]:
            i_decay, v_decay, vth = _params(nxt[0], node)
            input_layer, cur = InputLayer(shape, i_decay, v_decay, vth, name=nxt[0]), nxt[0]
            continue
        heads = [k for k in nxt if isinstance(graph.nodes[k], nir.Delay)]
        targets = {s for h in heads for syn in succ[h] for s in succ[syn]}
        if len(heads) != len(nxt) or len(targets) != 1:
            raise ValueError(f"NIR node {cur!r}: in a Lava graph each layer feeds Delay branches into one neuron")
        (name,) = targets
        if not isinstance(graph.nodes[name], nir.CubaLIF) or "lava" not in (graph.nodes[name].metadata or {}):
            raise ValueError(f"NIR node {name!r}: a graph with Lava neurons must be Lava throughout (mixed graphs are "
                             "not supported)")
        layer = _layer(name, graph.nodes[name], graph, pred, cur, shape, dt)
        layers.append(layer)
        cur, shape = name, layer.out_shape
    if not layers:
        raise ValueError("a Lava NIR graph needs at least one block after the input")
    n_in = int(np.prod(input_layer.shape if input_layer is not None else
                       (layers[0].conv.in_shape if layers[0].conv is not None else (layers[0].n_in,))))
    return LoihiNetwork(n_in, layers, input_layer=input_layer, netx=netx)
