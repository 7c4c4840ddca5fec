"""Lower the quantized IR to a :class:`LoihiNetwork` (Loihi 2 fixed-point CUBA semantics).

Accepted graph: ``input`` (0/1 spikes) -> [``flatten``] -> (``dense`` -> ``neuron``) x L [-> ``dense``].
Each ``dense`` + ``neuron`` pair becomes one netx ``dense`` block. A final ``dense`` whose accumulator
is the graph output (a readout) becomes a memoryless CUBA block that never spikes: its voltage is
``(acc + bias) << 6``, read back with a Lava ``Monitor`` (``LoihiNetwork.readout``).

=====================  ===========================================================================
IR (after quantize)    Loihi / netx
=====================  ===========================================================================
``quant.weight``       ``weight`` (integers in [-256, 254]; netx derives mantissa/exponent/sign mode)
``dense.delay``        per-synapse ``delay`` (out, in), 0..62 -> Lava ``DelayDense``
``quant.bias``         ``bias`` = bias_mant, only with ``decay_u = 4096`` (Lava adds it to ``v``)
``integer.decay_u/v``  ``iDecay`` / ``vDecay`` (Lava ``du = iDecay - 1``, ``dv = vDecay``)
``integer.vth``        ``vThMant`` (one per layer: Lava's LIF ``vth`` is a scalar Var)
=====================  ===========================================================================

Loihi cannot host (:class:`CompileError` naming the node): real-valued inputs, conv/pool/add/batch norm
nodes (netx conv has no delays and pool is unimplemented in netx), requantized accumulators (no
multiplier between synapse and neuron), per-neuron thresholds, soft reset (Lava resets ``v`` to 0),
and products of two activation tensors (attention ``Q K^T``): a Loihi synapse multiplies a spike by a
*stored* weight only.

Timing: Lava's Dense delivers a step's accumulation on the next step, so layer ``l`` of the Loihi
network lags the integer reference (:mod:`compile.integer_sim`) by ``l`` steps. For bias-free networks
``loihi_out[t] == reference_out[t - L]`` exactly (the first ``L`` output steps are silent).
"""

from __future__ import annotations

import numpy as np

from compile import ir
from compile.integer_neuron import DECAY_UNITY
from compile.ir import CompileError

from .network import MAX_DELAY, MAX_VTH_MANT, WEIGHT_MAX, WEIGHT_MIN, LoihiLayer, LoihiNetwork

UNSUPPORTED = {
    "conv": "netx conv blocks ignore synaptic delays and this target lowers dense layers only",
    "pool": "lava-dl netx does not implement pool blocks",
    "add": "residual adds would need two synapse groups into one neuron; netx networks are sequential",
    "batchnorm": "batch norm must be folded into the synapse (fold_bn) before lowering",
    "matmul": "a product of two spike tensors (attention) multiplies two dynamic operands; Loihi synapses "
              "multiply a spike by a stored weight only",
    "mask": "a product of two spike tensors multiplies two dynamic operands; Loihi synapses multiply a spike "
            "by a stored weight only",
    "integrator": "the leaky-integrator readout is not lowered yet (the loihi2 readout block is memoryless, "
                  "vDecay = 4096; a leaky one needs vDecay = round(4096 / tau) and the integer integrator in "
                  "Lava's 24-bit v format)",
}


def _fail(n: ir.Node, why: str) -> CompileError:
    return CompileError(f"loihi2: node {n.name!r} ({n.op}): {why}")


def _synapse(d: ir.Dense, decay_u: int):
    """(weight, bias or None, delay or None) of a quantized dense node, checked for Loihi."""
    q = d.quant
    if q is None:
        raise _fail(d, "graph is not quantized; run the quantize pass first")
    if q.requant is not None:
        raise _fail(d, "its accumulator is requantized (multiplier + shift), which Loihi cannot do between "
                       "synapse and neuron; quantize with fewer weight bits so the sum fits 16 bits")
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
    if d.delay is not None:
        dl = np.asarray(d.delay)
        if dl.dtype.kind != "i":
            raise _fail(d, "delays are not integers; run round_delays first")
        if dl.min() < 0 or dl.max() > MAX_DELAY:
            bad = int(dl.max()) if dl.max() > MAX_DELAY else int(dl.min())
            raise _fail(d, f"delay {bad} out of range; Loihi synaptic delays are 0..{MAX_DELAY}")
        delay = dl.astype(np.int64) if np.any(dl) else None
    return w, bias, delay


def _layer(d: ir.Dense, nrn: ir.Neuron) -> LoihiLayer:
    p = nrn.integer
    if p is None:
        raise _fail(nrn, "graph is not quantized; run the quantize pass first")
    w, bias, delay = _synapse(d, p.decay_u)
    if p.reset != "hard":
        raise _fail(nrn, f"{p.reset} reset: Lava's CUBA LIF resets v to 0 (hard reset only)")
    vth = np.unique(p.vth)
    if vth.size != 1:
        raise _fail(nrn, f"per-neuron thresholds {int(vth.min())}..{int(vth.max())}; Lava's LIF has one threshold "
                         "per layer (quantize with per_channel=False)")
    if int(vth[0]) > MAX_VTH_MANT:
        raise _fail(nrn, f"threshold {int(vth[0])} exceeds the 17-bit vThMant ({MAX_VTH_MANT})")
    try:
        return LoihiLayer(w, p.decay_u, p.decay_v, int(vth[0]), delay=delay, bias=bias, name=d.name)
    except ValueError as e:
        raise _fail(d, str(e)) from e


def _readout(d: ir.Dense) -> LoihiLayer:
    """A final synapse whose accumulator is the graph output: a memoryless, never-spiking CUBA layer
    (``iDecay = vDecay = 4096``, ``vThMant`` at its maximum), so ``v = (acc + bias) << 6`` every step."""
    w, bias, delay = _synapse(d, DECAY_UNITY)
    return LoihiLayer(w, DECAY_UNITY, DECAY_UNITY, MAX_VTH_MANT, delay=delay, bias=bias, name=d.name)


def lower(graph: ir.Graph) -> LoihiNetwork:
    """Turn a quantized IR graph into a :class:`LoihiNetwork`.

    Args:
        graph: output of the compile passes (fold_bn, round_delays, quantize) for a sequential spiking
            network of dense layers; its input must be 0/1 spikes.

    Returns:
        The network, one layer per ``dense`` + ``neuron`` pair (plus the readout), layers named after the
        dense node.

    Example::

        g = quantize(round_delays(fold_bn(capture(model, spikes))), per_channel=False)
        net = lower(g)            # net.sizes == [n_in, hidden, n_out]
    """
    nodes = list(graph.nodes)
    inp = graph.input
    if not inp.spikes:
        raise _fail(inp, "Loihi inputs are binary spikes; encode real-valued inputs (nk.encode.*) before the model")
    n_in = int(np.prod(inp.shape)) if inp.shape else 1
    alias = {inp.name: inp.name}  # node -> the spiking node it forwards (flatten is free on a flat spike vector)
    current = inp.name  # the node whose spikes feed the next layer
    layers: list[LoihiLayer] = []
    pending: ir.Dense | None = None
    for n in nodes[1:]:
        if n.op == "flatten":
            if pending is not None:
                raise _fail(n, "flatten between a synapse and its neuron")
            alias[n.name] = alias[n.inputs[0]]
        elif n.op == "dense":
            if pending is not None or alias.get(n.inputs[0]) != current:
                raise _fail(n, "netx networks are sequential: each synapse must read the previous layer's spikes "
                               "and feed exactly one neuron")
            pending = n
        elif n.op == "neuron":
            if pending is None or n.inputs[0] != pending.name:
                raise _fail(n, "a neuron must read exactly one dense synapse")
            layers.append(_layer(pending, n))
            current, pending = n.name, None
            alias[n.name] = n.name
        else:
            raise _fail(n, UNSUPPORTED.get(n.op, f"op {n.op!r} has no Loihi equivalent"))
    readout = pending is not None and graph.output == pending.name
    if readout:
        layers.append(_readout(pending))
    elif pending is not None or not layers or alias.get(graph.output) != current:
        raise CompileError(f"loihi2: the graph output {graph.output!r} must be the last neuron layer's spikes or "
                           "the last synapse's accumulator (a readout)")
    return LoihiNetwork(n_in, layers, readout=readout)
