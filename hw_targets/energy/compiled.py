"""Event counts of a compiled (quantized) model, measured from the integer reference simulator's tensors.

The quantized IR graph is run by :func:`compile.integer_sim.run` with ``record=True``; every synapse node's integer
input and weights and every neuron node's integer input and output spikes are then counted exactly as the eager
hooks count them (:mod:`.counting`), so eager and compiled counts share one definition. Bit widths come from the
graph: ``weight_bits`` per synapse (``node.quant.bits``), int8 activations, Lava's 24-bit ``u``/``v`` state.

Example::

    >>> cm = nk.compile(model, target="onnx_int", example_input=x)
    >>> counts, info = compiled_counts(cm, x)
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from compile import ir
from compile.capture_lava import lava_latency
from compile.compiled import check_run_input
from compile.dispatch import Rules
from neurokit.integer import UV_BITS

from .counting import (
    EnergyError,
    EventCounts,
    EventCounter,
    delayed_ops,
    record_neuron,
    record_synapse,
    spiking_steps,
    synapse_ops,
)

__all__ = ["compiled_counts", "graph_of", "is_compiled"]

LAVA_STATE_BITS = UV_BITS  # Lava LIF u, v: int32 with precision 24 (lava-nc/lava src/lava/proc/lif/models.py)
INT_ACT_BITS = 8          # integer activations between nodes (int8 containers, compile quantize pass)


def graph_of(obj):
    """The IR graph of a compiled model (``obj.graph``) or ``obj`` itself if it is a graph; else None.

    Example::

        >>> graph_of(cm) is cm.graph
        True
    """
    if isinstance(obj, ir.Graph):
        return obj
    g = getattr(obj, "graph", None)
    return g if isinstance(g, ir.Graph) else None


def is_compiled(obj) -> bool:
    """True for a compiled model (anything with an IR ``graph``) or an IR graph; eager modules are not.

    Example::

        >>> is_compiled(nn.Linear(2, 2))
        False
    """
    return not isinstance(obj, nn.Module) and graph_of(obj) is not None


def _as_layer(n) -> tuple[object, object]:
    """A torch layer (or DelayedLinear look-alike) holding ``n``'s integer weights, and its conv rank."""
    w = torch.as_tensor(np.asarray(n.quant.weight if n.quant is not None else n.weight), dtype=torch.float64)
    if n.op == "conv":
        conv = nn.Conv2d(w.shape[1] * n.groups, w.shape[0], tuple(w.shape[2:]), stride=n.stride, padding=n.padding,
                         dilation=n.dilation, groups=n.groups, bias=False).to(torch.float64)
        conv.weight.data = w
        return conv, 3
    if getattr(n, "delay", None) is not None:   # a recurrent node has no delay
        delay = torch.as_tensor(np.asarray(n.delay), dtype=torch.long)
        d_max = int(delay.max()) if delay.numel() else 0
        taps = w.unsqueeze(-1) * torch.nn.functional.one_hot(delay, d_max + 1).to(torch.float64)
        return SimpleNamespace(tap_kernel=lambda: taps, is_rounded=True, delay=delay, max_delay=d_max,
                               out_features=w.shape[0], in_features=w.shape[1], weight=w), "delay"
    lin = nn.Linear(w.shape[1], w.shape[0], bias=False).to(torch.float64)
    lin.weight.data = w
    return lin, None


@dataclass
class _Tally:
    """Where a counting rule records: the counter, the recorded integer tensors, the bit-width info."""

    ctr: EventCounter
    vals: dict
    info: dict


def _count_synapse(n, t: _Tally) -> None:
    xs = torch.as_tensor(t.vals[n.inputs[0]], dtype=torch.float64)
    layer, rank = _as_layer(n)
    lc = t.ctr.get(n.name, "synapse", n.op)
    bits = n.quant.bits if n.quant is not None else 32
    lc.weight_words, lc.weight_bits = int(layer.weight.numel()), int(bits)
    t.info["weight_bits"][n.name] = int(bits)
    ops = delayed_ops(layer, xs) if rank == "delay" else synapse_ops(layer, xs, rank)
    record_synapse(t.ctr, lc, xs, ops, spiking_steps(xs))
    lc.act_bits = INT_ACT_BITS


def _count_neuron(n, t: _Tally) -> None:
    lc = t.ctr.get(n.name, "neuron", f"neuron:{n.kind}")
    lc.state_vars = 2                                   # Lava CUBA compartment: u and v
    record_neuron(t.ctr, lc, torch.as_tensor(t.vals[n.inputs[0]]), torch.as_tensor(t.vals[n.name]))
    lc.state_bits, lc.act_bits = LAVA_STATE_BITS, 1


def _count_recurrent(n: ir.Recurrent, t: _Tally) -> None:
    """The recurrent synapse on the previous step's integer spikes (``<name>.recurrent``, ``s[-1] = 0``) and the
    neuron (``<name>.neuron``) on the total integer current, the names and definition of the eager count
    (:mod:`.recurrent_counts`); the feed-forward ``<name>.ff`` is a dense node of its own."""
    spikes = torch.as_tensor(t.vals[n.name], dtype=torch.float64)
    prev = torch.cat([torch.zeros_like(spikes[:1]), spikes[:-1]])
    layer, _ = _as_layer(n)
    lc = t.ctr.get(f"{n.name}.recurrent", "synapse", "Recurrent.recurrent")
    lc.weight_words, lc.weight_bits = int(layer.weight.numel()), int(n.quant.bits)
    t.info["weight_bits"][f"{n.name}.recurrent"] = int(n.quant.bits)
    record_synapse(t.ctr, lc, prev, synapse_ops(layer, prev, None), spiking_steps(prev))
    lc.act_bits = INT_ACT_BITS
    with torch.no_grad():
        current = torch.as_tensor(t.vals[n.inputs[0]], dtype=torch.float64) + layer(prev)
    if n.quant.bias is not None:
        current = current + torch.as_tensor(n.quant.bias, dtype=torch.float64)
    cell = t.ctr.get(f"{n.name}.neuron", "neuron", f"neuron:{n.cell.kind}")
    cell.state_vars = 2                                   # Lava CUBA compartment: u and v
    record_neuron(t.ctr, cell, current, spikes)
    cell.state_bits, cell.act_bits = LAVA_STATE_BITS, 1


def _no_events(n, t: _Tally) -> None:
    del n, t


#: Which events each IR node type of a quantized graph produces: synapses and neurons are counted; the input, data
#: movement, pools, adds, token ops and integrators are not counted as events (integer moves and sums, as eager).
COUNT_RULES = Rules("energy (compiled)", {
    ir.Dense: _count_synapse, ir.Conv: _count_synapse, ir.Neuron: _count_neuron, ir.Recurrent: _count_recurrent,
    **{t: _no_events for t in (ir.Input, ir.Pool, ir.Flatten, ir.Add, ir.Reshape, ir.Permute, ir.Mean, ir.MatMul,
                               ir.Mask, ir.Integrator)},
}, refusals={ir.BatchNorm: "a quantized graph holds no batch norm (fold_bn folds it into the preceding synapse)",
             **{t: "the energy of graded sigma-delta messages (payload-dependent synaptic ops and message traffic) has "
                   "no event count in an integer graph yet; estimate the eager model (nk.energy) or the model "
                   "compiled for 'loihi2' (counted on its Loihi network)"
                for t in (ir.SigmaDelta, ir.Sigma)}})


def compiled_counts(cm, x: torch.Tensor) -> tuple[EventCounts, dict]:
    """Run the compiled model's quantized graph on ``x [T, B, ...]`` in integers and count its events.

    The Loihi target, and a graph of Lava layers (``nk.from_netx``) on any integer target, run with Lava's one-step
    synaptic latency (``latency=1``), every other with none; a sigma-delta
    network compiled for ``loihi2`` is counted on its Loihi network instead (graded messages and payload bits:
    :func:`hw_targets.energy.graded.network_counts` on the quantized input).
    Returns ``(counts, info)``; ``info`` holds ``weight_bits`` per layer, ``act_bits``, ``state_bits`` and, when
    the compiled model's ``report()`` has them, ``cores``.

    Raises :class:`EnergyError` if the graph is not quantized.

    Example::

        >>> counts, info = compiled_counts(cm, x)
        >>> info["weight_bits"]
        {'fc1': 8, 'fc2': 8}
    """
    from compile import integer_sim
    from hw_targets.loihi2.sdnn import is_sdnn

    from .graded import network_counts
    g = graph_of(cm)
    if not g.quantized:
        raise EnergyError("compiled model's graph is not quantized; energy of a compiled model is measured on "
                          "its integer run (use an integer target, or pass the eager model)")
    # Lava's one-step synaptic latency: the loihi2 target, and a graph of Lava layers (nk.from_netx) on any target
    latency = 1 if getattr(cm, "target", None) == "loihi2" or lava_latency(g) else 0
    try:
        check_run_input(x, tuple(g.input.shape), "energy")
    except ValueError as err:
        raise EnergyError(str(err)) from None
    net = getattr(getattr(cm, "artefact", None), "net", None)
    if getattr(cm, "target", None) == "loihi2" and is_sdnn(net):  # graded messages: counted on the Loihi network
        xi = integer_sim.quantize_input(g.input, x)
        return network_counts(net, xi.reshape(xi.shape[0], xi.shape[1], -1)), {"cores": cm.report()["cores"]}
    _, vals = integer_sim.run(g, x, latency=latency, record=True)
    T, B = int(x.shape[0]), int(x.shape[1])
    ctr = EventCounter(T, B, stepwise=False)
    info: dict = {"weight_bits": {}, "act_bits": INT_ACT_BITS, "state_bits": LAVA_STATE_BITS}
    for n in g.nodes:
        COUNT_RULES.rule(n)(n, _Tally(ctr, vals, info))
    report = getattr(cm, "report", None)
    if callable(report):
        rep = report()
        if isinstance(rep, dict) and isinstance(rep.get("cores"), int):
            info["cores"] = rep["cores"]
    layers = sorted((lc for lc in ctr.counts.values() if lc.calls > 0), key=lambda lc: lc.first_call)
    if not layers:
        raise EnergyError("compiled graph has no synapse or neuron node; nothing to estimate")
    return EventCounts(layers, T, B, []), info

