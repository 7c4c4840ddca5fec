"""Lowering of quantized sigma-delta (SDNN) layers to netx SDNN blocks
(:class:`~hw_targets.loihi2.sdnn.SigmaDeltaNeuron`), called by :mod:`hw_targets.loihi2.lowering`.

The ``loihi2`` target quantizes sigma-delta units in netx's layout (``quantize(..., sdnn_netx=True)``,
:mod:`compile.passes.quantize_sdnn`): integer weights applied as they are, ``vth`` and ``bias`` multiples of
``2**12`` state units. netx builds every SDNN neuron with ``spike_exp = state_exp = 6`` and Lava shifts ``vThMant``
and ``bias`` left by 12 (``lava/lib/dl/netx/hdf5.py``, ``get_neuron_params``, in lava-dl), so:

======================================  ========================================================================
IR (after quantize)                     netx SDNN block
======================================  ========================================================================
``sigma_delta`` with ``sigma=False``    the input block's ``Delta`` (``neuron/type = SDNN``), reading the
(reading the graph input)               integer input as its ``a_in``; ``vThMant = vth >> 12``
``dense`` / ``conv`` + ``sigma_delta``  a ``dense`` / ``conv`` block with a ``SigmaDelta`` neuron (ReLU):
                                        ``weight`` = ``quant.weight``, ``vThMant = vth >> 12``,
                                        ``bias = bias >> 12``
``dense`` / ``conv`` + ``sigma``        the last block, ``neuron/type = SDNN`` with ``sigma_output``: Lava's
                                        ``Sigma``, whose ``sigma`` is the output
======================================  ========================================================================

netx cannot hold (:class:`CompileError` naming the node): a synapse bias (it would be integrated every step;
netx SDNN blocks add the bias after the sigma: put it in ``nk.SigmaDelta(bias=...)``), ``cum_error=True`` (netx
builds every neuron without it), a hidden unit with ``activation="identity"`` (netx's SigmaDelta is ReLU), a delta
encoder anywhere but on the graph input. Lava's ``Conv`` wraps its accumulation at 24 bits where the integer
reference does not: :meth:`~hw_targets.loihi2.target.Loihi2Program.run` warns (``RuntimeWarning``, naming the block
and the step) when a run's graded messages made it wrap. Lava's ``Sigma`` has no bias either: a ``Sigma``
read-out's bias is added to the read-out ``sigma`` on the host by ``Loihi2Program.run`` (the saved file lacks it; a
``UserWarning`` says so once, naming the node).

Example::

    layer = sdnn_layer(graph.node("1"), graph.node("2"), (1, 8, 8))    # a conv + SigmaDelta pair -> LoihiLayer
"""
from __future__ import annotations

import numpy as np

from compile import ir
from compile.ir import CompileError
from compile.passes.quantize_sdnn import sdnn_consumer
from neurokit.integer import SD_SPIKE_EXP, SD_STATE_EXP

from .network import MAX_DECAY, ConvGeometry, InputLayer, LoihiLayer
from .sdnn import SigmaDeltaNeuron

_E = SD_SPIKE_EXP + SD_STATE_EXP


def _fail(n: ir.Node, why: str) -> CompileError:
    return CompileError(f"loihi2: node {n.name!r} ({n.op}): {why}")


def quantized(d: ir.Node, requant_why: str) -> ir.QuantSynapse:
    """``d.quant``, or a :class:`CompileError` naming ``d``: not quantized, or requantized (``requant_why``: why
    Loihi cannot apply a multiplier between the synapse and its neuron, and what to do)."""
    if d.quant is None:
        raise _fail(d, "graph is not quantized; run the quantize pass first")
    if d.quant.requant is not None:
        raise _fail(d, requant_why)
    return d.quant


def reads_graded_input(graph: ir.Graph) -> bool:
    """Whether the graph input feeds sigma-delta layers only (a delta encoder, or a synapse into a sigma-delta unit):
    then it is real-valued, quantized to integers that netx feeds to the input block (or the first synapse).

    Example: ``reads_graded_input(capture(nk.models.sdnn_cnn(), frames))`` is True.
    """
    cons = graph.consumers(graph.input.name)
    return bool(cons) and all((c.op == "sigma_delta" and not c.sigma)
                              or (c.op in ir.SYNAPSES and sdnn_consumer(graph, c) is not None) for c in cons)


def check_not_mixed(graph: ir.Graph) -> None:
    """Refuse spiking neurons in a graph with sigma-delta units (netx's SDNN networks are SDNN throughout).

    Example: ``check_not_mixed(capture(nk.models.sdnn_cnn(), frames))`` passes.
    """
    if not any(n.op in ir.SDNN for n in graph.nodes):
        return
    for n in graph.nodes:
        if n.op in ("neuron", "recurrent", "integrator"):
            raise _fail(n, "a spiking neuron in a sigma-delta network; netx networks are sigma-delta (SDNN) or "
                           "spiking throughout here (the netx writer and the Loihi simulator take one neuron family "
                           "per network)")


def _mantissa(n: ir.Node, what: str, value: np.ndarray) -> np.ndarray:
    """``value >> 12``, which netx stores (Lava shifts it back); the quantize pass put ``value`` on that grid."""
    v = np.asarray(value, np.int64)
    if np.any(v % (1 << _E)):
        raise _fail(n, f"{what} is not a multiple of 2**{_E} state units (netx stores it as a mantissa shifted left "
                       "by 12); quantize with sdnn_netx=True")
    return v >> _E


def _neuron(n: ir.SigmaDelta | ir.Sigma) -> tuple[SigmaDeltaNeuron, np.ndarray | None]:
    """The netx SDNN neuron of ``n`` and its bias mantissa per channel (None: no bias)."""
    p = n.integer
    if p is None:
        raise _fail(n, "graph is not quantized; run the quantize pass first")
    if p.cum_error:
        raise _fail(n, "cum_error=True: netx builds every sigma-delta neuron without cumulative error "
                       "(nk.SigmaDelta(cum_error=False))")
    if (p.spike_exp, p.state_exp) != (SD_SPIKE_EXP, SD_STATE_EXP):
        raise _fail(n, f"(spike_exp, state_exp) = ({p.spike_exp}, {p.state_exp}); netx uses ({SD_SPIKE_EXP}, "
                       f"{SD_STATE_EXP})")
    if n.op == "sigma":
        return SigmaDeltaNeuron("sigma"), None
    if p.kind == "sigma_delta" and p.activation != "relu":
        raise _fail(n, f"activation {p.activation!r}: netx's SDNN neuron is ReLU (a hidden unit needs "
                       "activation='relu')")
    vth = np.unique(p.vth)
    if vth.size != 1:
        raise _fail(n, "per-neuron thresholds: netx's SDNN neuron has one vThMant per block")
    try:
        sd = SigmaDeltaNeuron(p.kind, int(_mantissa(n, "the threshold", vth[0])))
    except ValueError as e:
        raise _fail(n, str(e)) from e
    bias = None
    if p.kind == "sigma_delta" and np.any(p.bias):
        bias = np.broadcast_to(_mantissa(n, "the bias", p.bias).reshape(-1), (n.shape[0],)).copy()
    return sd, bias


def input_delta(n: ir.SigmaDelta, graph: ir.Graph) -> InputLayer:
    """The netx input block of a delta encoder (``sigma=False``) on the graph input."""
    if n.inputs[0] != graph.input.name:
        raise _fail(n, "a delta encoder (sigma=False) is netx's input block: it must read the graph input")
    sd, _ = _neuron(n)
    shape = tuple(graph.input.shape) or (1,)
    return InputLayer(shape, MAX_DECAY, 0, 0, sdnn=sd)


def sdnn_layer(d: ir.Dense | ir.Conv, n: ir.SigmaDelta | ir.Sigma, in_shape: tuple[int, ...]) -> LoihiLayer:
    """The netx SDNN block of synapse ``d`` feeding sigma-delta unit ``n`` (module docstring)."""
    q = quantized(d, "its accumulator is requantized (multiplier + shift); netx applies integer weights as they are: "
                     "quantize with sdnn_netx=True")
    if q.bias is not None and np.any(q.bias):
        raise _fail(d, f"a synapse bias into sigma-delta unit {n.name!r} is integrated every step (sigma += W x + b); "
                       "netx SDNN blocks add the bias after the sigma: put it in the unit (nk.SigmaDelta(bias=...), as "
                       "nk.models.ann_to_sdnn does) and build the synapse with bias=False")
    if d.op == "dense" and d.delay is not None and np.any(d.delay):
        raise _fail(d, "synaptic delays into a sigma-delta unit: netx SDNN blocks have none")
    sd, bias = _neuron(n)
    conv = None
    if d.op == "conv":
        conv = ConvGeometry(in_shape, d.stride, d.padding, d.dilation, d.groups)
    try:
        return LoihiLayer(q.weight, MAX_DECAY, 0, 0, bias=bias, name=d.name, conv=conv, sdnn=sd)
    except ValueError as e:
        raise _fail(d, str(e)) from e
