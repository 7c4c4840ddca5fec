"""Lower the quantized IR to a :class:`LoihiNetwork` (Loihi 2 fixed-point CUBA semantics).

Accepted graph: ``input`` (0/1 spikes, ``[C, H, W]`` or flat) -> (``conv`` -> ``neuron``) x K -> [``flatten``] ->
(``dense`` -> ``neuron`` | ``recurrent``) x L [-> ``dense`` [-> ``integrator``]]. Each ``dense`` + ``neuron`` pair
becomes one netx ``dense`` block, each ``dense`` + ``recurrent`` pair (``nk.layers.Recurrent``) one netx ``dense_rec``
block (``weight_rec`` = the recurrent node's ``V_int``, in the feed-forward weights' unit; biases summed), each
``conv`` + ``neuron`` pair one netx ``conv`` block (its ``(C, H, W)`` map flattened for a
following dense block in netx's ``flatten`` order, which is PyTorch's). A final readout
becomes a CUBA block that never spikes (``iDecay = 4096``: ``u = a_in << 6``, no current memory; ``vThMant``
at its maximum), read back with a Lava ``Monitor`` on ``v`` (``LoihiNetwork.readout``):

* a ``dense`` whose accumulator is the graph output: ``vDecay = 4096``, so ``v = (acc + bias) << 6`` and the
  output is ``v >> 6``;
* ``dense`` -> ``integrator`` (``nk.layers.LeakyIntegrator``): ``vDecay = round(4096 / tau)``, so ``v`` is the
  integer integrator with ``act_shift = 6`` and 24-bit saturation (the target quantizes it that way) and the
  output is ``v`` itself, in units ``graph.scales[graph.output]``. Only a trace above ``131071 << 6`` (Lava's
  largest threshold, just below the 24-bit saturation) would make the block spike and reset;
  :meth:`Loihi2Program.run` warns if that happens.

=====================  ===========================================================================
IR (after quantize)    Loihi / netx
=====================  ===========================================================================
``quant.weight``       ``weight`` (integers in [-256, 254]; netx derives mantissa/exponent/sign mode; conv:
                       used as they are by Lava's ``Conv``)
``conv`` geometry      ``stride``, ``padding``, ``dilation``, ``groups`` (:class:`ConvGeometry`)
``dense.delay``        per-synapse ``delay`` (out, in), 0..62 -> Lava ``DelayDense``
``quant.bias``         ``bias`` = bias_mant, only with ``decay_u = 4096`` (Lava adds it to ``v``)
``integer.decay_u/v``  ``iDecay`` / ``vDecay`` (Lava ``du = iDecay - 1``, ``dv = vDecay``)
``integer.vth``        ``vThMant`` (one per layer: Lava's LIF ``vth`` is a scalar Var)
integrator ``decay``   readout ``vDecay`` (``iDecay = 4096``, ``vThMant = 131071``)
=====================  ===========================================================================

A sigma-delta network (``nk.SigmaDelta`` units, a ``nk.neurons.Sigma`` read-out) lowers to netx SDNN blocks instead:
``input`` -> [delta encoder] -> (``conv``/``dense`` -> ``sigma_delta``) x K -> ``conv``/``dense`` -> [``sigma``]
(:mod:`hw_targets.loihi2.lowering_sdnn`, which lists what netx cannot hold); its input is real-valued, quantized to
the integers the input block's ``Delta`` receives.

Loihi cannot host (:class:`CompileError` naming the node): real-valued inputs, pool/add/unfolded batch norm
nodes (netx raises NotImplementedError for pool blocks), a conv readout, requantized accumulators (no
multiplier between synapse and neuron), per-neuron thresholds, soft reset (Lava resets ``v`` to 0),
products of two activation tensors (attention ``Q K^T``: a Loihi synapse multiplies a spike by a
*stored* weight only), per-step reshapes / permutes / means, and ALIF neurons (adaptive threshold).

Timing: Lava's Dense delivers a step's accumulation on the next step while the bias acts from step 0 (a
``dense_rec`` block's recurrent Dense too: ``V s[t-1]`` reaches ``a_in`` at step ``t``, one step, the layer's own
definition);
the integer reference's ``latency=1`` mode is exactly that (``cm.run(x) == integer_sim.run(cm.graph, x,
latency=1)``). For bias-free networks this is the ``latency=0`` reference delayed by ``L`` steps.
"""

from __future__ import annotations

import numpy as np

from compile import ir
from compile.capture_lava import is_lava_neuron, reads_input_neuron
from compile.dispatch import Rules
from neurokit.integer import ACT_SHIFT, DECAY_UNITY, UV_BITS
from compile.ir import CompileError

from .lowering_sdnn import input_delta, quantized, reads_graded_input, sdnn_layer
from .network import (
    MAX_DELAY,
    MAX_VTH_MANT,
    WEIGHT_MAX,
    WEIGHT_MIN,
    ConvGeometry,
    InputLayer,
    LoihiLayer,
    LoihiNetwork,
)
from .sdnn import check_sdnn, is_sdnn

#: ``(act_shift, bits)`` of Lava's LIF voltage, the format of an integrator readout (``a_in << 6``, 24-bit ``v``).
LAVA_INTEGRATOR = (ACT_SHIFT, UV_BITS)

UNSUPPORTED = {
    "pool": "lava-dl netx does not implement pool blocks (max or average); use a strided Conv2d",
    "add": "residual adds would need two synapse groups into one neuron; netx networks are sequential",
    "batchnorm": "batch norm must be folded into the synapse (fold_bn) before lowering",
    "matmul": "a product of two spike tensors (attention) multiplies two dynamic operands; Loihi synapses "
              "multiply a spike by a stored weight only",
    "mask": "a product of two spike tensors multiplies two dynamic operands; Loihi synapses multiply a spike "
            "by a stored weight only",
    "reshape": "netx networks are sequential dense blocks on flat spike vectors; per-step layout changes (tokens, "
               "attention heads) have no Loihi block",
    "permute": "netx networks are sequential dense blocks on flat spike vectors; per-step layout changes (tokens, "
               "attention heads) have no Loihi block",
    "mean": "a mean over tokens divides activations by a count; Loihi has no averaging block",
    "alif": "the adaptive threshold (ALIF) is not part of Lava's CUBA-LIF neuron model that Loihi runs",
}


def _fail(n: ir.Node, why: str) -> CompileError:
    return CompileError(f"loihi2: node {n.name!r} ({n.op}): {why}")


def _synapse(d: ir.Dense | ir.Conv, decay_u: int):
    """(weight, bias or None, delay or None) of a quantized dense / conv node, checked for Loihi."""
    q = quantized(d, "its accumulator is requantized (multiplier + shift), which Loihi cannot do between synapse and "
                     "neuron; quantize with fewer weight bits so the sum fits 16 bits")
    w = np.asarray(q.weight).astype(np.int64)
    if w.size and (w.min() < WEIGHT_MIN or w.max() > WEIGHT_MAX):
        raise _fail(d, f"integer weights span {int(w.min())}..{int(w.max())}; Loihi takes {WEIGHT_MIN}..{WEIGHT_MAX}")
    if not np.any(w):
        raise _fail(d, "all weights quantize to 0; netx cannot encode an all-zero weight matrix")
    bias = None
    if q.bias is not None and np.any(q.bias):
        if decay_u != DECAY_UNITY:
            raise _fail(d, "a bias with a decaying synaptic current (CUBA): Lava adds the bias to v, not to u")
        bias = np.asarray(q.bias).astype(np.int64)
    delay = None
    if getattr(d, "delay", None) is not None:
        dl = np.asarray(d.delay)
        if dl.dtype.kind != "i":
            raise _fail(d, "delays are not integers; run round_delays first")
        if dl.min() < 0 or dl.max() > MAX_DELAY:
            bad = int(dl.max()) if dl.max() > MAX_DELAY else int(dl.min())
            raise _fail(d, f"delay {bad} out of range; Loihi synaptic delays are 0..{MAX_DELAY}")
        delay = dl.astype(np.int64) if np.any(dl) else None
    return w, bias, delay


def _layer(d: ir.Dense | ir.Conv, nrn: ir.Neuron, in_shape: tuple[int, ...],
           rec: ir.Recurrent | None = None) -> LoihiLayer:
    p = nrn.integer
    if p is None:
        raise _fail(rec or nrn, "graph is not quantized; run the quantize pass first")
    w, bias, delay = _synapse(d, p.decay_u)
    w_rec = None
    if rec is not None:
        w_rec, bias = _recurrent_synapse(rec, p.decay_u, bias)
        nrn = rec  # errors about the neuron name the recurrent node
    if p.reset != "hard":
        raise _fail(nrn, f"{p.reset} reset: Lava's CUBA LIF resets v to 0 (hard reset only)")
    vth = np.unique(p.vth)
    if vth.size != 1:
        raise _fail(nrn, f"per-neuron thresholds {int(vth.min())}..{int(vth.max())}; Lava's LIF has one threshold "
                         "per layer (quantize with per_channel=False)")
    if int(vth[0]) > MAX_VTH_MANT and not is_lava_neuron(nrn):  # a netx file's own threshold may not fire
        raise _fail(nrn, f"threshold {int(vth[0])} exceeds the 17-bit vThMant ({MAX_VTH_MANT})")
    conv = None
    if d.op == "conv":
        conv = ConvGeometry(in_shape, d.stride, d.padding, d.dilation, d.groups)
    try:
        return LoihiLayer(w, p.decay_u, p.decay_v, int(vth[0]), delay=delay, bias=bias, name=d.name, conv=conv,
                          weight_rec=w_rec, netx=(d.netx or {}).get("block", {}))
    except ValueError as e:
        raise _fail(rec or d, str(e)) from e


def _recurrent_synapse(rec: ir.Recurrent, decay_u: int, bias: np.ndarray | None):
    """``(weight_rec, bias)`` of a netx ``dense_rec`` block: the recurrent node's ``V_int`` (same unit as the
    feed-forward weights, so one netx exponent encodes both) and the two biases summed (both reach ``a_in``)."""
    q = quantized(rec, "its accumulator W x + V s is requantized (multiplier + shift), which Loihi cannot do between "
                       "synapse and neuron; quantize with fewer weight bits so the sum fits 16 bits")
    v = np.asarray(q.weight).astype(np.int64)
    if v.size and (v.min() < WEIGHT_MIN or v.max() > WEIGHT_MAX):
        raise _fail(rec, f"integer recurrent weights span {int(v.min())}..{int(v.max())}; Loihi takes "
                         f"{WEIGHT_MIN}..{WEIGHT_MAX}")
    if q.bias is not None and np.any(q.bias):
        if decay_u != DECAY_UNITY:
            raise _fail(rec, "a bias with a decaying synaptic current (CUBA): Lava adds the bias to v, not to u")
        bias = q.bias.astype(np.int64) + (0 if bias is None else bias)
    return v, bias


def _readout(d: ir.Dense, integ: ir.Integrator | None) -> LoihiLayer:
    """A final readout: a never-spiking CUBA layer without current memory (``iDecay = 4096``, ``vThMant`` at its
    maximum). Memoryless (``vDecay = 4096``, ``v = (acc + bias) << 6``) for a plain synapse; for an integrator
    ``vDecay = decay``, so ``v`` is the integrator trace in Lava's format ``(act_shift, bits) = (6, 24)``."""
    v_decay = DECAY_UNITY
    if integ is not None:
        p = integ.integer
        if p is None:
            raise _fail(integ, "graph is not quantized; run the quantize pass first")
        if (p.act_shift, p.bits) != LAVA_INTEGRATOR:
            raise _fail(integ, f"integer integrator format (act_shift, bits) = ({p.act_shift}, {p.bits}); Lava's "
                               f"LIF voltage is {LAVA_INTEGRATOR} (quantize with integrator_format={LAVA_INTEGRATOR})")
        v_decay = p.decay
    w, bias, delay = _synapse(d, DECAY_UNITY)
    try:
        return LoihiLayer(w, DECAY_UNITY, v_decay, MAX_VTH_MANT, delay=delay, bias=bias, name=d.name)
    except ValueError as e:
        raise _fail(d, str(e)) from e


class _Chain:
    """The sequential network being built: ``current`` (the node whose spikes feed the next layer), ``alias`` (node ->
    the spiking node it forwards; flatten is free on a flat spike vector), the synapse waiting for its neuron
    (``pending``), the integrator readout (``integ``) and the layers so far."""

    def __init__(self, graph: ir.Graph):
        self.graph, self.current, self.alias = graph, graph.input.name, {graph.input.name: graph.input.name}
        self.layers: list[LoihiLayer] = []
        self.network: dict = {}  # the netx file's own datasets (nk.from_netx models)
        self.input_layer: InputLayer | None = None
        self.pending: ir.Dense | ir.Conv | None = None
        self.integ: ir.Integrator | None = None


def _input(n: ir.Input, c: _Chain) -> None:
    if not n.spikes and not reads_input_neuron(c.graph) and not reads_graded_input(c.graph):
        raise _fail(n, "Loihi inputs are binary spikes; encode real-valued inputs (nk.encode.*) before the model")
    del c


def _flatten(n: ir.Flatten, c: _Chain) -> None:
    if c.pending is not None:
        raise _fail(n, "flatten between a synapse and its neuron")
    c.alias[n.name] = c.alias[n.inputs[0]]


def _synapse_node(n: ir.Dense | ir.Conv, c: _Chain) -> None:
    if c.pending is not None or c.alias.get(n.inputs[0]) != c.current:
        raise _fail(n, "netx networks are sequential: each synapse must read the previous layer's spikes "
                       "and feed exactly one neuron")
    src_shape = tuple(c.graph.node(n.inputs[0]).shape)
    if n.op == "conv" and (len(src_shape) != 3 or n.inputs[0] != c.current):
        raise _fail(n, f"a netx conv block reads a (C, H, W) spike map (the input or a conv layer's "
                       f"spikes), got shape {src_shape}")
    if n.op == "dense" and len(src_shape) != 1:
        raise _fail(n, f"a dense block reads flat spikes; flatten the {src_shape} map first")
    c.network.update((n.netx or {}).get("network", {}))
    c.pending = n


def _neuron(n: ir.Neuron, c: _Chain) -> None:
    if c.pending is None and not c.layers and n.inputs[0] == c.graph.input.name and is_lava_neuron(n):
        p = n.integer  # a netx input block with a neuron (nk.from_netx): driven by the input's integer a_in
        c.input_layer = InputLayer(c.graph.input.shape or (1,), p.decay_u, p.decay_v, int(np.max(p.vth)))
        c.current, c.alias[n.name] = n.name, n.name
        return
    if c.pending is None or n.inputs[0] != c.pending.name:
        raise _fail(n, "a neuron must read exactly one dense or conv synapse")
    c.layers.append(_layer(c.pending, n, tuple(c.graph.node(c.pending.inputs[0]).shape)))
    c.current, c.pending = n.name, None
    c.alias[n.name] = n.name


def _recurrent(n: ir.Recurrent, c: _Chain) -> None:
    """The feed-forward ``dense`` waiting in ``c.pending`` + this recurrent node -> one netx ``dense_rec`` block."""
    if c.pending is None or c.pending.op != "dense" or n.inputs[0] != c.pending.name:
        raise _fail(n, "a recurrent layer must read its own feed-forward dense synapse")
    c.layers.append(_layer(c.pending, n.cell, tuple(c.graph.node(c.pending.inputs[0]).shape), rec=n))
    c.current, c.pending = n.name, None
    c.alias[n.name] = n.name


def _sigma_delta(n: ir.SigmaDelta | ir.Sigma, c: _Chain) -> None:
    """A delta encoder on the input -> netx's SDNN input block; a synapse + sigma-delta unit or Sigma read-out -> one
    netx SDNN block (:mod:`hw_targets.loihi2.lowering_sdnn`)."""
    if n.op == "sigma_delta" and not n.sigma:
        if c.layers or c.input_layer is not None:
            raise _fail(n, "a delta encoder (sigma=False) is netx's input block: it must be the first layer")
        c.input_layer = input_delta(n, c.graph)
    else:
        if c.pending is None or n.inputs[0] != c.pending.name:
            raise _fail(n, "a sigma-delta unit must read exactly one dense or conv synapse")
        c.layers.append(sdnn_layer(c.pending, n, tuple(c.graph.node(c.pending.inputs[0]).shape)))
        c.pending = None
    c.current = c.alias[n.name] = n.name


def _integrator(n: ir.Integrator, c: _Chain) -> None:
    if c.pending is None or n.inputs[0] != c.pending.name:
        raise _fail(n, "an integrator readout must read the last dense synapse's accumulator")
    c.integ = n


#: How each IR node type joins the Loihi network; the refused types carry ``UNSUPPORTED``'s reason.
RULES = Rules("loihi2", {ir.Input: _input, ir.Flatten: _flatten, ir.Dense: _synapse_node, ir.Conv: _synapse_node,
                         ir.Neuron: _neuron, ir.Integrator: _integrator, ir.Recurrent: _recurrent,
                         ir.SigmaDelta: _sigma_delta, ir.Sigma: _sigma_delta},
              refusals={ir.NODE_BY_OP[op]: why for op, why in UNSUPPORTED.items() if op in ir.NODE_BY_OP})


def lower(graph: ir.Graph) -> LoihiNetwork:
    """Turn a quantized IR graph into a :class:`LoihiNetwork`.

    Args:
        graph: output of the compile passes (fold_bn, round_delays, quantize) for a sequential spiking
            network of conv then dense layers; its input must be 0/1 spikes (``[C, H, W]`` for a conv).

    Returns:
        The network, one layer per ``dense`` / ``conv`` + ``neuron`` pair (plus the readout, with its
        integrator if any), layers named after the synapse node.

    Example::

        g = quantize(round_delays(fold_bn(capture(model, spikes))), per_channel=False)
        net = lower(g)            # net.sizes == [n_in, hidden, n_out]
        # model = Sequential(Conv2d(1, 4, 3, padding=1), LIF, Flatten, Linear(256, 10)), spikes [T, B, 1, 8, 8]:
        # net.sizes == [64, 256, 10], net.layers[0].out_shape == (4, 8, 8)
    """
    c = _Chain(graph)
    for n in graph.nodes:
        if c.integ is not None:
            raise _fail(n, f"follows the integrator readout {c.integ.name!r}; a readout must be the last node")
        RULES.rule(n)(n, c)
    pending, integ, layers = c.pending, c.integ, c.layers
    readout = pending is not None and graph.output == (pending.name if integ is None else integ.name)
    if readout and pending.op == "conv":
        raise _fail(pending, "a readout must be a dense layer (flatten the conv map and add a Linear readout)")
    if readout:
        layers.append(_readout(pending, integ))
    elif pending is not None or not layers or c.alias.get(graph.output) != c.current:
        raise CompileError(f"loihi2: the graph output {graph.output!r} must be the last neuron layer's spikes or "
                           "the last synapse's accumulator (a readout), optionally through an integrator")
    inp = graph.input
    net = LoihiNetwork(int(np.prod(inp.shape)) if inp.shape else 1, layers, readout=readout,
                       input_layer=c.input_layer, netx=c.network)
    if is_sdnn(net) or (c.input_layer is not None and c.input_layer.sdnn is not None):
        try:
            check_sdnn(net)
        except ValueError as e:  # a spiking (CUBA) block in a sigma-delta network
            raise CompileError(f"loihi2: {e}; netx networks are either sigma-delta (SDNN) or spiking throughout") from e
    return net
