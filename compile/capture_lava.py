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
from neurokit.integer import ACT_SHIFT, DECAY_UNITY, UV_BITS


def is_lava_neuron(n: ir.Node | None) -> bool:
    """Whether ``n`` is a neuron captured from a ``LavaCubaLIF`` (Lava's integer neuron, kept as it is), or a
    ``recurrent`` node whose cell is one (a ``LavaRecurrentBlock``).

    Example: ``is_lava_neuron(graph.node("0.neuron"))`` for ``nk.from_netx(path)``'s first block.
    """
    if n is not None and n.op == "recurrent":
        n = n.cell
    return (n is not None and n.op == "neuron" and n.layer_integer is not None and n.layer_integer.u_register
            and n.uv_bits == UV_BITS)


#: Why a target other than ``loihi2`` refuses a Lava neuron (its float or ONNX semantics are not Lava's integers).
LAVA_ONLY = ("a Lava fixed-point neuron (nk.from_netx) runs bit-exactly on target 'loihi2' only; this target's "
             "neuron arithmetic differs from Lava's")


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
