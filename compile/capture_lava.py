"""Capture of the Lava fixed-point layers (``neurokit.layers.lava``, built by ``nk.from_netx``): each
:class:`~neurokit.layers.lava.LavaBlock` becomes its synapse (``dense`` / ``conv`` holding the block's integers as
``int_weight`` with unit scale, the neuron's integer bias, the delays and the netx datasets it was read from) and a
``cuba`` neuron carrying Lava's integer neuron as ``layer_integer`` (format ``(6, 6, 24)`` with the current
register), which the quantize pass keeps exactly (:func:`is_lava_neuron`). A
:class:`~neurokit.layers.lava.LavaRecurrentBlock` (netx ``dense_rec``) becomes its feed-forward ``dense``
(``<path>.synapse``) and a ``recurrent`` node (``<path>``, the recurrent weights ``V``: the stored integers, in the
feed-forward accumulator's unit 1, as :class:`compile.ir.Recurrent` defines them) whose cell is such a neuron
(``<path>.neuron``); :mod:`compile.passes.quantize_recurrent` keeps its integers as they are. A
:class:`~neurokit.layers.lava.LavaInput` becomes such a neuron reading the graph input, whose integers are the
neuron's ``a_in`` (scale 1, :func:`reads_input_neuron`).
"""
from __future__ import annotations

import math

import numpy as np

from compile import ir
from neurokit.integer import A_IN_BITS, ACT_SHIFT, DECAY_UNITY, UV_BITS


def is_lava_neuron(n: ir.Node | None) -> bool:
    """Whether ``n`` is a neuron captured from a ``LavaCubaLIF`` (Lava's integer neuron, kept as it is), or a
    ``recurrent`` node whose cell is one (a ``LavaRecurrentBlock``).

    Example: ``is_lava_neuron(graph.node("0.neuron"))`` for ``nk.from_netx(path)``'s first block.
    """
    if n is not None and n.op == "recurrent":
        n = n.cell
    return (n is not None and n.op == "neuron" and n.layer_integer is not None and n.layer_integer.u_register
            and n.uv_bits == UV_BITS)


#: Why a target other than ``loihi2`` / ``onnx_int`` / ``nir`` refuses a Lava neuron (its float semantics are not
#: Lava's integers).
LAVA_ONLY = ("a Lava fixed-point neuron (nk.from_netx) runs bit-exactly on targets 'loihi2' and 'onnx_int' (and "
             "exports to 'nir' with Lava's integers); this target's float neuron arithmetic differs from Lava's")

#: Lava's ``Conv`` wraps its accumulation to this many bits (``PyConvModelFixed``: ``signed_clamp(conv, bits=24)``).
LAVA_CONV_BITS = 24
#: Lava's LIF ``a_in`` is int16: the largest integer that drives an input neuron
#: (:class:`~neurokit.layers.lava.LavaInput`).
LAVA_A_IN_MAX = (1 << (A_IN_BITS - 1)) - 1


def is_lava_synapse(n: ir.Node | None) -> bool:
    """Whether ``n`` is the synapse of a captured :class:`~neurokit.layers.lava.LavaBlock` (it carries the netx
    block's datasets, ``n.netx``). Example: ``is_lava_synapse(graph.node("0.synapse"))``."""
    return n is not None and n.op in ("dense", "conv") and n.netx is not None


def conv_wrap_bits(n: ir.Node) -> int | None:
    """The width a synapse's accumulation wraps at (:func:`neurokit.integer.wrap`): 24 for a Lava conv, else None
    (no wrap). Example: ``conv_wrap_bits(graph.node("0.synapse"))`` is 24 for ``tiny.net``'s first block."""
    return LAVA_CONV_BITS if is_lava_synapse(n) and n.op == "conv" else None


def lava_latency(graph: ir.Graph) -> int:
    """The synaptic latency a graph runs with on the integer targets: 1 (Lava's: a Dense / Conv delivers the previous
    step's accumulation, the bias acts from step 0; :mod:`compile.integer_sim`) for a graph of Lava layers
    (``nk.from_netx``), else 0. Example: ``lava_latency(capture(nk.from_netx(path), x))`` is 1."""
    return int(any(is_lava_neuron(n) for n in graph.nodes))


def check_all_lava(graph: ir.Graph, target: str) -> None:
    """A graph with Lava neurons must be Lava layers only (every neuron a Lava neuron, every synapse a Lava block's,
    plus flatten): Lava's one-step latency is a property of the whole run. ``CompileError`` naming the first other node.
    Example: ``check_all_lava(graph, "onnx_int")``."""
    if not lava_latency(graph):
        return
    for n in graph.nodes:
        lava = (is_lava_neuron(n) if n.op in ("neuron", "recurrent")
                else is_lava_synapse(n) if n.op in ("dense", "conv") else None)
        if lava is False or n.op not in ("input", "neuron", "recurrent", "dense", "conv", "flatten"):
            raise ir.CompileError(f"{target}: node {n.name!r} ({n.op}): a graph of Lava layers (nk.from_netx) runs "
                                  "with Lava's one-step synaptic latency, so it may hold only Lava blocks "
                                  "(LavaBlock, LavaRecurrentBlock, LavaInput) and flatten; this node is not one")


def _tau(decay: int) -> float:
    return math.inf if decay == 0 else DECAY_UNITY / decay


def _neuron(m, path: str, inputs: tuple[str, ...], shape) -> ir.Neuron:
    return ir.Neuron(path, inputs, shape, kind="cuba", tau=_tau(m.v_decay), tau_syn=_tau(m.i_decay),
                     v_threshold=float(m.vth_mant << ACT_SHIFT), v_reset=0.0, act_shift=ACT_SHIFT, uv_bits=UV_BITS,
                     unit=np.ones(()), layer_integer=m.params(), acc_shift=0)


def register(register_converter) -> None:
    """Register the converters with ``compile.capture.register_converter`` (done once when ``compile.capture`` is
    imported). Example: ``register(compile.capture.register_converter)``."""
    from neurokit.layers import lava

    def _common(m) -> dict:
        """The synapse node's fields: the block's integers (unit scale), the neuron's integer bias, the netx data."""
        w, nrn = m.synapse.int_weight().cpu().numpy(), m.neuron
        bias = None if nrn.bias is None else nrn.int_bias().cpu().numpy().astype(np.float64)
        return {"weight": w.astype(np.float64), "bias": bias, "weight_bits": 8, "int_weight": w,
                "weight_scale": np.ones(w.shape[0]), "netx": {"block": m.netx, "network": m.network}}

    @register_converter(lava.LavaBlock)
    def _block(m, path, inputs, in_shape, out_shape):
        del in_shape
        syn, nrn = m.synapse, m.neuron
        common = _common(m)
        name = f"{path}.synapse"
        if isinstance(syn, lava.LavaConv2d):
            node = ir.Conv(name, inputs, out_shape, stride=syn.stride, padding=syn.padding, dilation=syn.dilation,
                           groups=syn.groups, **common)
        else:
            delay = None if syn.delay is None else syn.delay.cpu().numpy().astype(np.int64)
            node = ir.Dense(name, inputs, out_shape, delay=delay, **common)
        return [node, _neuron(nrn, f"{path}.neuron", (name,), out_shape)]

    @register_converter(lava.LavaRecurrentBlock)
    def _recurrent(m, path, inputs, in_shape, out_shape):
        """feed-forward ``dense`` + ``recurrent`` node (its cell the Lava neuron), as ``nk.layers.Recurrent``."""
        del in_shape
        ff = ir.Dense(f"{path}.synapse", inputs, out_shape, **_common(m))
        v = m.synapse_rec.int_weight().cpu().numpy().astype(np.float64)
        cell = _neuron(m.neuron, f"{path}.neuron", (), out_shape)
        return [ff, ir.Recurrent(path, (ff.name,), out_shape, weight=v, cell=cell)]

    @register_converter(lava.LavaInput)
    def _input(m, path, inputs, in_shape, out_shape):
        """An input neuron reads the graph input (its integer ``a_in``) directly."""
        del in_shape
        return _neuron(m.neuron, f"{path}.neuron", inputs, out_shape)


def reads_input_neuron(graph: ir.Graph) -> bool:
    """Whether the graph input drives Lava input neurons only (``LavaInput``: integer ``a_in``, not spikes).

    Example: ``reads_input_neuron(capture(nk.from_netx("mnist.net"), a_in))`` is True.
    """
    cons = graph.consumers(graph.input.name)
    return bool(cons) and all(is_lava_neuron(c) for c in cons)
