"""Pass: quantize a float IR to integers (weights, biases, thresholds, decays, requantization).

Definitions (uniform symmetric quantization of Gholami et al. 2021, "A Survey of Quantization Methods for
Efficient Neural Network Inference", arXiv 2103.13630; the integer arithmetic of :mod:`neurokit.integer`):

* **Tensors** carry an integer value and a real scale: ``real = scale * int``. Spikes have scale 1; the graph
  input is quantized symmetrically to int8, ``q = clip(round_half_even(float32(x) / float32(s_in)), -127, 127)``
  with ``s_in = max|x_example| / 127`` (0/1 spike inputs: ``s_in = 1``, no rounding; a QAT first layer with
  ``input_levels = L <= 127``: ``s_in = 1 / L``, its own input grid). Max-pool keeps the scale;
  avg-pool becomes an integer *sum* pool with scale ``s / (kh * kw)``; ``add`` of equal scales is the integer sum
  (different scales, e.g. accumulators: rescaled to a common unit first, ``quantize_tokens.rescaled_add``); the
  transformer token ops (layouts, token means, spike x spike products) follow :mod:`compile.passes.quantize_tokens`.
* **Weights**: symmetric per output channel (``per_channel=False``: per tensor), ``k`` bits, narrow range:
  ``s_w[o] = max|W[o]| / (2**(k-1) - 1)``, ``W_int = round(W / s_w)``. A binary or QAT layer keeps its own
  integers and scales (``int_weight``, ``weight_scale``, taken from the layer at capture; binary: 1-bit
  ``{-1, +1}``) when the target allows them (at most ``weight_bits``; one scale per tensor when ``per_channel=False``),
  and so does a QAT ``QuantLIF`` its integer thresholds and accumulator shift; otherwise they are re-quantized.
  A Lava neuron from ``nk.from_netx`` (``capture_lava.is_lava_neuron``) keeps its layer's integers, bias included,
  with no requantization (Lava does not rescale accumulators).
  ``decay_input=True`` LIF: ``1/tau`` is folded into the synapse (weights and bias) first; a LIF that reads no
  synapse directly (a pool, an add, an attention product) takes it in its threshold (input unit ``scale / tau``).
* **Accumulator**: int32, unit ``acc_scale[o] = s_in * s_w[o]``; bias ``round(b / acc_scale)``. If the
  worst-case ``|acc|`` exceeds ``2**(acc_bits-1) - 1`` it is **requantized** integer-only,
  ``acc' = trunc(acc * M[o] / 2**16)`` with ``M[o] = floor(limit * 2**16 / bound[o])`` (fixed-point multiplier +
  shift), and ``acc_scale' = acc_scale * 2**16 / M``.
* **Neurons**: ``vth[o] = round(v_threshold / acc_scale[o] * 2**(act_shift - vth_shift))`` (Lava: both 6;
  a QAT ``QuantLIF`` keeps its own ``input_shift``/``membrane_bits``); ``decay_v = round(4096 / tau)`` (IF: 0);
  ``decay_u = round(4096 / tau_syn)`` (CUBA) or 4096; ``v_reset=0`` -> hard reset, ``None`` -> soft reset.
* **Recurrent layers**: the feed-forward and recurrent weights share the accumulator's unit
  (:mod:`compile.passes.quantize_recurrent`).
* **Integrators** (leaky readout): ``decay = round(4096 / tau)``, input shifted left by ``act_shift`` (up to 6,
  fewer when the worst case ``max|x| << act_shift * 4096 / decay`` would not fit 31 bits); the output is the
  int32 trace ``v`` with unit ``scale_in / 2**act_shift`` (per channel after a dense synapse). A target may fix
  the format instead (``integrator_format=(act_shift, bits)``; Lava's ``v``: ``(6, 24)``).

Precision-loss warnings (threshold or decay rounding error > 2 %, a threshold that rounds to 0, requantization)
are appended to ``graph.warnings``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from compile import ir
from compile.capture_lava import is_lava_neuron, reads_input_neuron
from compile.dispatch import Rules
from compile.ir import CompileError
from compile.passes.quantize_recurrent import quantize_recurrent, recurrent_ff
from compile.passes.quantize_sdnn import (
    check_graded_readers,
    quantize_sdnn_synapse,
    quantize_sigma,
    quantize_sigma_delta,
    sdnn_consumer,
)
from compile.passes.quantize_tokens import quantize_token_op, rescaled_add, scalar_scale
from compile.passes.requant import fit_accumulator
from neurokit.integer import (
    ACT_SHIFT,
    DECAY_UNITY,
    INPUT_QMAX,
    SD_PAYLOAD_BITS,
    UV_BITS,
    VTH_SHIFT,
    IntIntegratorParams,
    IntNeuronParams,
    accumulator_shift,
    decay_from_tau,
)



def quantize_weights(w: np.ndarray, bits: int, per_channel: bool = True,
                     detect_binary: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """Symmetric narrow-range quantization of ``w [O, ...]`` -> ``(w_int int64, scale [O], bits_used)``.

    ``w ≈ scale[o] * w_int[o]``; with ``detect_binary``, binary rows (one magnitude per channel, no zeros) give
    ``bits_used = 1`` (the quantize pass never guesses: it takes a binary layer's integers from the layer).
    Example: ``quantize_weights(np.array([[0.5, -1.0]]), 8)`` -> ``([[64, -127]], [1/127], 8)``.
    """
    if not 1 <= bits <= 16:
        raise ValueError(f"weight bits must be in [1, 16], got {bits}")
    flat = w.reshape(w.shape[0], -1).astype(np.float64)
    mag = np.abs(flat)
    absmax = mag.max(axis=1) if per_channel else np.full(w.shape[0], mag.max())
    binary = detect_binary and bool(np.all(mag > 0) and np.allclose(mag, absmax[:, None], rtol=1e-6, atol=0))
    if binary or bits == 1:
        if not binary:
            raise CompileError(f"1-bit weights need one magnitude per channel and no zeros; got {w.shape} weights")
        return np.sign(flat).astype(np.int64).reshape(w.shape), absmax, 1
    qmax = 2 ** (bits - 1) - 1
    scale = np.where(absmax > 0, absmax / qmax, 1.0)
    w_int = np.clip(np.round(flat / scale[:, None]), -qmax, qmax).astype(np.int64)
    return w_int.reshape(w.shape), scale, bits


def _channel(node: ir.Node, a: np.ndarray) -> np.ndarray:
    """Reshape a per-output-channel array to broadcast over the node's per-step shape."""
    return a.reshape(-1, 1, 1) if node.op == "conv" else a


def quantize(graph: ir.Graph, *, weight_bits: int = 8, per_channel: bool = True, acc_bits: int = 16,
             input_absmax: float | None = None, vth_shift: int = VTH_SHIFT,
             integrator_format: tuple[int, int] | None = None, payload_bits: int = SD_PAYLOAD_BITS,
             sdnn_weight_exp: bool = False, sdnn_netx: bool = False) -> ir.Graph:
    """Return an integer copy of ``graph`` (``node.quant`` / ``node.integer`` / ``graph.scales`` set).

    ``graph`` must have batch norms folded and delays rounded. ``input_absmax``: max ``|x|`` of the example
    input (required unless the input is 0/1 spikes). ``vth_shift``: the threshold's left shift (Lava: 6; 0 gives
    64x finer integer thresholds). ``integrator_format``: fixed ``(act_shift, bits)`` of integrator readouts (Lava's
    LIF voltage: ``(6, 24)``), or None to choose the shift (<= 6) that keeps the worst case inside int32.
    ``payload_bits``: signed width of sigma-delta graded messages (Lava: 24); ``sdnn_weight_exp``: power-of-two
    weight scales into sigma-delta units (a weight exponent, no multiplier); ``sdnn_netx``: sigma-delta units in netx's
    integer layout (integer weights in the unit the SDNN scales fix, thresholds and biases on netx's ``2**12`` grid;
    the ``loihi2`` target's; :mod:`compile.passes.quantize_sdnn`).
    Example::

        gq = quantize(round_delays(fold_bn(capture(model, x))), input_absmax=float(x.abs().max()))
        gq.node("1").integer.vth       # per-neuron integer thresholds
    """
    if isinstance(payload_bits, bool) or not isinstance(payload_bits, int) or not 2 <= payload_bits <= 32:
        raise ValueError(f"payload_bits must be an int in [2, 32] (signed graded-message width), got {payload_bits!r}")
    st = _State(graph.copy(), weight_bits, per_channel, acc_bits, input_absmax, vth_shift, integrator_format,
                payload_bits, bool(sdnn_weight_exp), bool(sdnn_netx))
    for n in st.g.nodes:
        RULES.rule(n)(n, st)
    check_graded_readers(st.g, set(st.graded))
    st.g.scales = st.scale
    return st.g


@dataclass
class _State:
    """The graph being quantized, the pass options, and per node so far: ``scale`` (real value of one integer unit),
    ``maxint`` (largest ``|int|``) and ``nonneg`` (never negative)."""

    g: ir.Graph
    weight_bits: int
    per_channel: bool
    acc_bits: int
    input_absmax: float | None
    vth_shift: int
    integrator_format: tuple[int, int] | None
    payload_bits: int = SD_PAYLOAD_BITS
    sdnn_weight_exp: bool = False
    sdnn_netx: bool = False
    scale: dict = field(default_factory=dict)
    maxint: dict = field(default_factory=dict)
    nonneg: dict = field(default_factory=dict)
    exact: set = field(default_factory=set)  # synapses that kept a QAT layer's integers for its QuantLIF
    graded: set = field(default_factory=set)  # sigma-delta nodes (their outputs are graded messages)


def _quantize_input(n: ir.Input, st: _State) -> None:
    _input(st.g, n, st.input_absmax)
    st.scale[n.name], st.maxint[n.name], st.nonneg[n.name] = n.scale, 1 if n.spikes else INPUT_QMAX, n.spikes


def _quantize_neuron(n: ir.Neuron, st: _State) -> None:
    a_scale = st.scale[n.inputs[0]]
    if _reads_decayed_input(n) and _decay_input_neuron(st.g, st.g.node(n.inputs[0])) is not n:
        a_scale = a_scale / n.tau  # no synapse folded 1/tau: it goes into the threshold instead
    if is_lava_neuron(n) and n.inputs[0] == st.g.input.name:  # a Lava input neuron on its integer a_in
        n.integer = n.layer_integer
    elif n.layer_integer is not None and n.inputs[0] in st.exact:  # the layer's own integer neuron, as it is
        syn = st.g.node(n.inputs[0])
        p = n.layer_integer
        n.integer = dataclasses.replace(p, vth=_channel(syn, np.broadcast_to(p.vth, syn.quant.weight.shape[:1]).copy()))
    else:
        _neuron(st.g, n, a_scale, st.vth_shift)
    st.scale[n.name], st.maxint[n.name], st.nonneg[n.name] = 1.0, 1, True


def _quantize_add(n: ir.Add, st: _State) -> None:
    scale = st.scale
    if all(isinstance(scale[x], float) and scale[x] == scale[n.inputs[0]] for x in n.inputs):
        _passthrough(n, scale, st.maxint, st.nonneg)
    else:
        rescaled_add(st.g, n, scale, st.maxint, st.nonneg, st.acc_bits)


def _quantize_synapse(n: ir.Dense | ir.Conv, st: _State) -> None:
    sd = sdnn_consumer(st.g, n)
    if sd is not None:  # into a sigma-delta unit: Lava's fixed-point units (compile.passes.quantize_sdnn)
        quantize_sdnn_synapse(st, n, sd, quantize_weights)
    elif recurrent_ff(st.g, n) is None:  # a recurrent layer's feed-forward synapse is quantized with its recurrent node
        _synapse(st, n)


def _quantize_token(n: ir.Node, st: _State) -> None:
    quantize_token_op(st.g, n, st.scale, st.maxint, st.nonneg, st.acc_bits)


def _quantize_layout(n: ir.Node, st: _State) -> None:
    _passthrough(n, st.scale, st.maxint, st.nonneg)


#: How the pass quantizes each IR node type (module docstring).
RULES = Rules("quantize", {
    ir.Input: _quantize_input,
    ir.Dense: _quantize_synapse,
    ir.Conv: _quantize_synapse,
    ir.Pool: _quantize_layout,
    ir.Flatten: _quantize_layout,
    ir.Add: _quantize_add,
    ir.Reshape: _quantize_token,
    ir.Permute: _quantize_token,
    ir.Mean: _quantize_token,
    ir.MatMul: _quantize_token,
    ir.Mask: _quantize_token,
    ir.Neuron: _quantize_neuron,
    ir.Integrator: lambda n, st: _integrator(st.g, n, st.scale, st.maxint, st.nonneg, st.integrator_format),
    ir.Recurrent: lambda n, st: quantize_recurrent(st, n, _neuron),
    ir.SigmaDelta: quantize_sigma_delta,
    ir.Sigma: quantize_sigma,
}, refusals={
    ir.BatchNorm: "cannot be quantized; run fold_bn first (it folds a batch norm into the preceding synapse)",
})


def _input(g: ir.Graph, n: ir.Input, absmax: float | None) -> None:
    n.zero_point, n.signed = 0, True
    if n.spikes or reads_input_neuron(g):  # spikes, or the integer a_in of Lava input neurons (nk.from_netx)
        n.scale = 1.0
        return
    levels = {c.input_levels for c in g.consumers(n.name) if getattr(c, "input_levels", None)}
    if len(levels) == 1 and levels <= set(range(1, INPUT_QMAX + 1)):
        n.scale = float(np.float32(1.0 / levels.pop()))  # the QAT layer's own input grid, exactly
        return
    if levels:
        g.warnings.append(f"input: the first layer was trained on a {sorted(levels)}-level input grid; it is "
                          f"re-quantized to int8 (scale max|x|/127)")
    if absmax is None or not np.isfinite(absmax) or absmax <= 0:
        raise CompileError(f"input: real-valued input needs a positive finite input_absmax for its int8 scale, "
                           f"got {absmax!r}")
    n.scale = float(np.float32(absmax / INPUT_QMAX))


def _passthrough(n: ir.Node, scale: dict, maxint: dict, nonneg: dict) -> None:
    """pool / flatten / add. A pool may read a synapse's accumulator (per-channel scale ``> 0``, so max-pooling the
    integers is max-pooling the real values; ``conv -> pool -> neuron`` after a folded ``pool -> batchnorm``)."""
    src = n.inputs[0]
    s = scale[src] if n.op == "pool" else scalar_scale(n, scale, src)
    m, pos = maxint[src], nonneg[src]
    if n.op == "pool" and n.kind in ("avg", "sum"):  # the integer pool is the window's sum
        k = n.kernel[0] * n.kernel[1]
        s, m = (s / k if n.kind == "avg" else s), m * k
    elif n.op == "add":
        m, pos = sum(maxint[x] for x in n.inputs), all(nonneg[x] for x in n.inputs)
    scale[n.name], maxint[n.name], nonneg[n.name] = s, m, pos


def _layer_weights(st: _State, n: ir.Dense | ir.Conv) -> tuple[np.ndarray, np.ndarray, int] | None:
    """``(w_int, s_w, bits)`` exactly as a binary / QAT layer holds them (``int_weight``, ``weight_scale``), or None
    when the target needs other integers (fewer bits, or one scale per tensor for per-channel scales)."""
    if n.int_weight is None or n.weight_bits is None or n.weight_bits > st.weight_bits:
        return None
    s_w = np.asarray(n.weight_scale, np.float64)
    if not st.per_channel and not np.all(s_w == s_w[0]):
        return None
    return np.asarray(n.int_weight, np.int64), s_w, int(n.weight_bits)


def _layer_input(st: _State, n: ir.Dense | ir.Conv, src: str) -> bool:
    """True when the synapse's integer input is the layer's own: spikes for a layer without ``input_levels``, or the
    graph input quantized on exactly the layer's ``input_levels`` grid."""
    if n.input_levels is None:
        return st.scale[src] == 1.0 and st.maxint[src] == 1 and st.nonneg[src]
    inp = st.g.input
    return src == inp.name and not inp.spikes and inp.scale == float(np.float32(1.0 / n.input_levels))


def _qat_neuron(st: _State, n: ir.Node) -> ir.Neuron | None:
    """The QAT ``QuantLIF`` (``uv_bits`` set) that is synapse ``n``'s only consumer, else None."""
    cons = st.g.consumers(n.name)
    return cons[0] if len(cons) == 1 and cons[0].op == "neuron" and cons[0].uv_bits is not None else None


def _qat_shift(st: _State, n: ir.Node, acc_scale: np.ndarray, exact: bool) -> ir.Requant | None:
    """A QAT ``QuantLIF`` consumer's accumulator shift ``r`` (floor): the layer's own (``acc_shift``) when the synapse
    keeps the layer's integers, else :func:`neurokit.integer.accumulator_shift` for this graph's ``acc_scale``."""
    nrn = _qat_neuron(st, n)
    if nrn is None:
        return None
    if exact and nrn.acc_shift is not None:
        r = nrn.acc_shift
    else:
        r = accumulator_shift(float((nrn.v_threshold / acc_scale).max()), nrn.uv_bits, nrn.act_shift)
    return ir.Requant(np.ones(len(acc_scale), np.int64), r, floor=True) if r else None


def _synapse(st: _State, n: ir.Dense | ir.Conv) -> None:
    g, src = st.g, n.inputs[0]
    s_in, in_max = scalar_scale(n, st.scale, src), int(st.maxint[src])
    b = None if n.bias is None else n.bias.astype(np.float64)
    fold = _decay_input_neuron(g, n)
    layer = _layer_weights(st, n)
    if layer is not None:
        w_int, s_w, bits = layer
        if fold is not None:  # 1/tau goes into the scale; the layer's integers stay as they are
            s_w, b = s_w / fold.tau, None if b is None else b / fold.tau
    else:
        w = n.weight.astype(np.float64)
        if fold is not None:
            w, b = w / fold.tau, None if b is None else b / fold.tau
        w_int, s_w, bits = quantize_weights(w, min(st.weight_bits, n.weight_bits or st.weight_bits), st.per_channel,
                                            detect_binary=False)
    acc_scale = s_in * s_w
    b_int = None if b is None else np.round(b / acc_scale).astype(np.int64)
    flat = w_int.reshape(w_int.shape[0], -1)
    if st.nonneg[src]:
        bound = np.maximum(np.clip(flat, 0, None).sum(1), np.clip(-flat, 0, None).sum(1)) * in_max
    else:
        bound = np.abs(flat).sum(1) * in_max
    if b_int is not None:
        bound = bound + np.abs(b_int)
    if bound.max() >= 2 ** 31:
        raise CompileError(f"synapse {n.name!r}: worst-case accumulator {int(bound.max())} overflows int32")
    limit = (2 ** (st.acc_bits - 1) - 1) // _pool_growth(g, n)
    lava = layer is not None and is_lava_neuron(_qat_neuron(st, n))  # Lava's integers (nk.from_netx), as they are
    exact = layer is not None and (b_int is None or lava) and _layer_input(st, n, src)
    requant = _qat_shift(st, n, acc_scale, exact)
    if exact and _qat_neuron(st, n) is not None:
        st.exact.add(n.name)  # the QAT neuron may take the layer's own integer thresholds
    if requant is not None:
        acc_scale, bound = acc_scale * 2.0 ** requant.shift, bound >> requant.shift
    elif bound.max() > limit and not lava:
        requant, bound, factor = fit_accumulator(bound, limit, st.acc_bits, f"synapse {n.name!r}: accumulator",
                                                 g.warnings)
        acc_scale = acc_scale * factor
    n.quant = ir.QuantSynapse(bits, w_int, s_w, s_in, b_int, requant, acc_scale, in_max, bound.astype(np.int64))
    st.scale[n.name], st.maxint[n.name], st.nonneg[n.name] = _channel(n, acc_scale), _channel(n, bound), False


def _reads_decayed_input(n: ir.Node) -> bool:
    return n.op == "neuron" and n.kind == "lif" and n.decay_input


def _decay_input_neuron(g: ir.Graph, n: ir.Node) -> ir.Neuron | None:
    """The ``decay_input=True`` LIF whose ``1/tau`` synapse ``n`` folds into its weights (its only consumer), else
    None; such a LIF reading anything else (a pool, an add, a token op) gets ``1/tau`` in its threshold instead."""
    cons = g.consumers(n.name)
    if n.op in ir.SYNAPSES and len(cons) == 1 and _reads_decayed_input(cons[0]):
        return cons[0]
    return None


def _pool_growth(g: ir.Graph, n: ir.Node) -> int:
    """How much the sum pools (avg pools) right after synapse ``n`` grow its accumulator, so that the pooled sum
    still fits ``acc_bits``: the product of their kernel sizes along the single-consumer chain (1: none)."""
    growth, cons = 1, g.consumers(n.name)
    while len(cons) == 1 and cons[0].op == "pool":
        growth *= cons[0].kernel[0] * cons[0].kernel[1] if cons[0].kind in ("avg", "sum") else 1
        cons = g.consumers(cons[0].name)
    return growth


def _check_decay(g: ir.Graph, n: ir.Node, what: str, tau: float, d: int) -> None:
    exact = DECAY_UNITY / tau
    if abs(d - exact) / exact > 0.02:
        g.warnings.append(f"{n.op} {n.name!r}: {what}={tau} gives decay {d}/4096 (exact {exact:.2f}/4096)")


def _integrator(g: ir.Graph, n: ir.Integrator, scale: dict, maxint: dict, nonneg: dict,
                fmt: tuple[int, int] | None) -> None:
    src = n.inputs[0]
    if g.consumers(n.name):
        raise CompileError(f"integrator {n.name!r}: an integer leaky integrator is a readout; its int32 trace can "
                           f"only be the graph output (read by {[c.name for c in g.consumers(n.name)]})")
    decay = decay_from_tau(n.tau)
    _check_decay(g, n, "tau", n.tau, decay)
    bits = 32 if fmt is None else fmt[1]
    limit = 2 ** (bits - 1) - 1
    worst = float(np.max(maxint[src])) * DECAY_UNITY / max(decay, 1)  # |v| bound before the shift
    shift = int(np.clip(np.floor(np.log2(limit / max(worst, 1.0))), 0, ACT_SHIFT)) if fmt is None else fmt[0]
    if decay == 0 or worst * 2 ** shift > limit:
        g.warnings.append(f"integrator {n.name!r}: the trace may saturate at +-(2**{bits - 1} - 1) (tau={n.tau})")
    n.integer = IntIntegratorParams(decay, shift, bits)
    scale[n.name] = np.asarray(scale[src], dtype=np.float64) / 2 ** shift
    maxint[n.name], nonneg[n.name] = limit, False


def _neuron(g: ir.Graph, n: ir.Neuron, a_scale, vth_shift: int) -> None:
    if n.v_reset not in (None, 0.0):
        raise CompileError(f"neuron {n.name!r}: integer neurons reset to 0 (v_reset=0.0) or by subtraction "
                           f"(v_reset=None); got v_reset={n.v_reset}")
    if not n.v_threshold > 0:
        raise CompileError(f"neuron {n.name!r}: integer neurons need v_threshold > 0, got {n.v_threshold}")
    act = ACT_SHIFT if n.act_shift is None else n.act_shift
    vth_shift = vth_shift if n.act_shift is None else n.act_shift
    uv_bits = UV_BITS if n.uv_bits is None else n.uv_bits
    vth_f = n.v_threshold / np.asarray(a_scale, dtype=np.float64) * 2.0 ** (act - vth_shift)
    if not (np.isfinite(vth_f).all() and vth_f.max() < 2.0 ** 62):
        raise CompileError(f"neuron {n.name!r} (fed by {', '.join(map(repr, n.inputs))}): integer threshold "
                           f"v_threshold / input scale = {float(vth_f.max()):.3g} overflows 64 bits: the weights "
                           f"feeding "
                           f"it are vanishingly small next to v_threshold={n.v_threshold} (input scale "
                           f"{float(np.min(a_scale)):.3g}); rescale the weights or the threshold")
    vth = np.round(vth_f).astype(np.int64)
    err = np.abs(vth - vth_f) / vth_f
    if vth.min() < 1 or err.max() > 0.02:
        g.warnings.append(f"neuron {n.name!r}: integer threshold {int(vth.min())}..{int(vth.max())} rounds "
                          f"v_threshold with up to {100 * err.max():.1f} % error")
    decay_v = 0 if n.kind == "if" else decay_from_tau(n.tau)
    decay_u = decay_from_tau(n.tau_syn) if n.kind == "cuba" else DECAY_UNITY
    checks = [] if n.kind == "if" else [("tau", n.tau, decay_v)]
    if n.kind == "cuba":
        checks.append(("tau_syn", n.tau_syn, decay_u))
    for what, tau, d in checks:
        _check_decay(g, n, what, tau, d)
    n.integer = IntNeuronParams(decay_u, decay_v, vth, "hard" if n.v_reset is not None else "soft", act, vth_shift,
                                uv_bits, u_register=n.uv_bits is None,  # a QAT QuantLIF has no current register
                                reset_next_step=bool(n.reset_after_decay))
