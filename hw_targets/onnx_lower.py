"""Lowering of a quantized IR to an integer-only ONNX graph (opset 17), used by :mod:`hw_targets.onnx_int`.

Per time step (the body of the time loop), with B the batch:

* synapses: ``MatMulInteger`` (dense, int8 x int8 -> int32) / ``ConvInteger`` (conv); int32 ``Add`` bias;
  requantization ``Cast(int64) -> Mul(M) -> Div(2**shift)`` (integer Div truncates toward zero); weights beyond
  int8 (netx's 9-bit ``[-256, 254]``) as two int8 terms ``w = 2 * (w >> 1) + (w & 1)``, each its own
  ``MatMulInteger`` / ``ConvInteger``, summed in int32;
* Lava layers (``nk.from_netx``, ``latency=1``: :func:`compile.capture_lava.lava_latency`): every synapse's
  accumulation goes through a one-step register (loop state ``acc`` int64, the previous step's; zero at step 0),
  and the bias is added after it, so it acts from step 0 (:mod:`compile.integer_sim`); a Lava conv whose worst case
  reaches 24 bits wraps there (int64 ``Mod``, :func:`neurokit.integer.wrap`); the graph input of Lava input neurons
  is their integer ``a_in`` (``Cast`` to int64);
* delayed dense: a shift-register delay line ``buf [B, D+1, I]`` (int8) in the loop state, updated as
  ``Concat(x_t, buf[:, :D])``, read by ONE ``MatMulInteger`` against the stacked weights
  ``Ws[k*I + j, o] = W[o, j] * (d[o, j] == k)``;
* pools: ``MaxPool`` on int8; avg pool as an integer sum pool (depthwise ``ConvInteger`` with a ones kernel);
  pools of an accumulator (``conv -> pool -> neuron``): ``Pad`` + strided ``Slice`` per kernel tap + ``Max``/``Add``
  in int64;
  flatten: ``Reshape``; add: int32 ``Add`` (inputs of different scales first rescaled like an accumulator);
* transformer token ops (:mod:`hw_targets.onnx_tokens`): ``Reshape`` / ``Transpose``, ``ReduceSum`` (token mean as
  an integer sum), ``MatMulInteger`` (int8 spikes/counts) or int64 ``MatMul``, int32 ``Mul`` (+ ``ReduceSum``);
* neurons: :func:`neurokit.integer.integer_cuba_step` itself, run on :class:`Sym` tensors (int64 state:
  ``Mul``, ``Div``, ``Add``/``Sub``, ``Greater``/``LessOrEqual``, ``Clip``), spikes ``Cast`` to int8;
  integrators: :func:`neurokit.integer.integer_leaky_step` the same way (int64 state ``v``, int32 output);
* sigma-delta units / read-outs: :func:`neurokit.integer.sigma_delta_step` itself on int64 loop-carried states
  (``sigma``, ``act``, ``residue``, ``error`` as used); their graded int64 messages feed synapses as int64 ``MatMul``
  (dense) or im2col + ``MatMul`` (conv), since ORT's ``MatMulInteger`` / ``ConvInteger`` take 8 bits only;
* recurrent layers: the previous step's spikes ``s[t-1]`` (int8) are loop-carried state next to the cell's ``u``/``v``;
  per step ``MatMulInteger(s[t-1], V)`` is added to the feed-forward accumulator (+ ``b_rec``, then the sum's
  requantization) and the cell runs :func:`neurokit.integer.integer_cuba_step`. ``"unrolled"`` carries the same
  state from one copy of the step to the next.

The only float op is the input quantization (``QuantizeLinear`` + int8 ``Clip``, or ``Cast`` for 0/1 spikes).
Time loop: ``"loop"`` (ONNX ``Loop``, any T, states as loop-carried values, per-step outputs as scan outputs) or
``"unrolled"`` (T fixed at compile time). See :mod:`hw_targets.onnx_int` for the choice and measurements.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto as TP
from onnx import helper

from compile import ir
from compile.dispatch import Rules
from neurokit.integer import INPUT_QMAX, integer_cuba_step, integer_leaky_step, sigma_delta_step, wrap
from compile.capture_lava import LAVA_A_IN_MAX, conv_wrap_bits, reads_input_neuron
from compile.ir import CompileError
from hw_targets.onnx_sym import Builder, Sym, emit_requant
from hw_targets.onnx_tokens import TOKEN_RULES

OPSET = 17
_NP = {TP.INT8: np.int8, TP.INT32: np.int32, TP.INT64: np.int64}


def _int8(x: Sym, where: str) -> Sym:
    if x.dtype != TP.INT8 and (x.bound is None or x.bound > 127):
        raise CompileError(f"{where}: integer input may reach {x.bound}; int8 synapse inputs need |x| <= 127")
    return x.cast(TP.INT8)


def state_specs(graph: ir.Graph, latency: int = 0) -> list[tuple[str, int, tuple[int, ...]]]:
    """Loop-carried state: ``(name, onnx dtype, per-sample shape)`` for neuron u/v, integrator v, delay lines, a
    recurrent layer's u/v and previous spikes s, and with ``latency=1`` every synapse's accumulator register."""
    specs = []
    for n in graph:
        if latency and n.op in ("dense", "conv"):
            specs.append((f"{n.name}/acc", TP.INT64, n.shape))
        if n.op == "neuron":
            specs += [(f"{n.name}/u", TP.INT64, n.shape), (f"{n.name}/v", TP.INT64, n.shape)]
        elif n.op == "integrator":
            specs.append((f"{n.name}/v", TP.INT64, n.shape))
        elif n.op == "recurrent":  # the cell's u / v and the previous step's spikes s[t-1]
            specs += [(f"{n.name}/u", TP.INT64, n.shape), (f"{n.name}/v", TP.INT64, n.shape),
                      (f"{n.name}/s", TP.INT8, n.shape)]
        elif n.op == "dense" and n.delay is not None:
            specs.append((f"{n.name}/buf", TP.INT8, (int(n.delay.max()) + 1, n.weight.shape[1])))
        elif n.op in ir.SDNN:
            specs += [(f"{n.name}/{k}", TP.INT64, n.shape) for k in _sdnn_states(n.integer)]
    return specs


def _sdnn_states(p) -> tuple[str, ...]:
    """The loop-carried states of a sigma-delta unit (:func:`neurokit.integer.sigma_delta_step`) that it uses."""
    if p.kind == "sigma":
        return ("sigma",)
    return (("sigma",) if p.kind == "sigma_delta" else ()) + ("act", "residue") + (("error",) if p.cum_error else ())


def _int8_terms(b: Builder, w: np.ndarray, op) -> str:
    """``sum_k c_k * op(w_k)`` over int8 parts ``w = sum_k c_k w_k`` (one part for int8 weights; netx's 9-bit
    weights as ``2 * (w >> 1) + (w & 1)``): ``op`` maps an int8 weight array to the name of its int32 product."""
    if np.abs(w).max(initial=0) <= 127:
        return op(w.astype(np.int8))
    if w.min() < -256 or w.max() > 255:
        raise CompileError(f"onnx_int: integer weights {int(w.min())}..{int(w.max())} exceed 9 bits (two int8 terms)")
    hi = op((w >> 1).astype(np.int8))
    return b.op("Add", [b.op("Mul", [hi, b.const(np.int32(2))]), op((w & 1).astype(np.int8))])


def _dense(b: Builder, n: ir.Dense, x: Sym, st: dict, new: dict) -> str:
    w = n.quant.weight
    if n.delay is None:
        return _int8_terms(b, w.T, lambda w8: b.op("MatMulInteger", [x.name, b.const(w8)]))
    depth = int(n.delay.max()) + 1
    buf = st[f"{n.name}/buf"]
    head = b.op("Unsqueeze", [x.name, b.const(np.array([1], np.int64))])
    tail = b.op("Slice", [buf.name, b.const(np.array([0], np.int64)), b.const(np.array([depth - 1], np.int64)),
                          b.const(np.array([1], np.int64))])
    line = b.op("Concat", [head, tail], axis=1)
    new[f"{n.name}/buf"] = Sym(b, line, TP.INT8)
    stacked = np.concatenate([(w * (n.delay == k)).T for k in range(depth)], axis=0)
    flat = b.op("Reshape", [line, b.const(np.array([0, -1], np.int64))])
    return _int8_terms(b, stacked, lambda w8: b.op("MatMulInteger", [flat, b.const(w8)]))


def _wide_synapse(b: Builder, n, x: Sym) -> str:
    """A synapse on graded (wide) integers, the messages of sigma-delta units (ORT's MatMulInteger / ConvInteger take
    8 bits only): int64 ``MatMul``; a conv as im2col (``Pad``, one strided ``Slice`` per kernel tap, ``Concat``) times
    the flattened weights ``[O, kh*kw*C]`` (groups as a block-diagonal kernel)."""
    w = n.quant.weight.astype(np.int64)
    x = x.cast(TP.INT64)
    if n.op == "dense":
        return b.op("MatMul", [x.name, b.const(w.T.copy())])
    cin, (kh, kw), (ho, wo) = w.shape[1] * n.groups, w.shape[2:], n.shape[1:]
    (ph, pw), (sh, sw), (dh, dw) = n.padding, n.stride, n.dilation
    full = np.zeros((w.shape[0], cin, kh, kw), np.int64)
    og, cg = w.shape[0] // n.groups, w.shape[1]
    for g in range(n.groups):
        full[g * og:(g + 1) * og, g * cg:(g + 1) * cg] = w[g * og:(g + 1) * og]
    i64 = lambda *v: b.const(np.array(v, np.int64))
    xp = b.op("Pad", [x.name, i64(0, 0, ph, pw, 0, 0, ph, pw), b.const(np.int64(0))], mode="constant")
    taps = [b.op("Slice", [xp, i64(i * dh, j * dw), i64(i * dh + sh * (ho - 1) + 1, j * dw + sw * (wo - 1) + 1),
                           i64(2, 3), i64(sh, sw)]) for i in range(kh) for j in range(kw)]
    cols = b.op("Reshape", [b.op("Concat", taps, axis=1), i64(0, kh * kw * cin, ho * wo)])
    acc = b.op("MatMul", [b.const(full.transpose(0, 2, 3, 1).reshape(w.shape[0], -1).copy()), cols])
    return b.op("Reshape", [acc, i64(0, w.shape[0], ho, wo)])


def _synapse(b: Builder, n, x: Sym, st: dict, new: dict, latency: int) -> Sym:
    q = n.quant
    if q.in_max > 127:  # graded messages (sigma-delta units): int64 arithmetic
        acc = Sym(b, _wide_synapse(b, n, x), TP.INT64)
    else:
        x = _int8(x, f"synapse {n.name!r}")
        if n.op == "dense":
            acc = _dense(b, n, x, st, new)
        else:
            (ph, pw) = n.padding
            acc = _int8_terms(b, q.weight, lambda w8: b.op(
                "ConvInteger", [x.name, b.const(w8)], pads=[ph, pw, ph, pw], strides=list(n.stride),
                dilations=list(n.dilation), group=n.groups))
        acc = Sym(b, acc, TP.INT32)
    bits = conv_wrap_bits(n)
    if bits is not None and q.acc_max.max(initial=0) >= 1 << (bits - 1):  # Lava's Conv wrap (identity below)
        acc = wrap(acc.cast(TP.INT64), bits)
    if latency:  # Lava's one-step synaptic latency: deliver the previous step's accumulation
        new[f"{n.name}/acc"], acc = acc.cast(TP.INT64), st[f"{n.name}/acc"]
    if q.bias is not None:
        bias = (q.bias.reshape(-1, 1, 1) if n.op == "conv" else q.bias).astype(_NP[acc.dtype])
        acc = Sym(b, b.op("Add", [acc.name, b.const(bias)]), acc.dtype)
    return emit_requant(acc, q.requant, n.op == "conv")


def _pool_wide(b: Builder, n: ir.Pool, x: Sym) -> Sym:
    """Pool of a wide integer tensor (a synapse's accumulator; ORT's MaxPool / ConvInteger take 8 bits only): pad
    (``int64`` min for max, 0 for sum), then ``Max`` / ``Add`` over the kernel's ``kh * kw`` strided slices."""
    x = x.cast(TP.INT64)
    (ph, pw), (kh, kw), (sh, sw), (ho, wo) = n.padding, n.kernel, n.stride, n.shape[1:]
    fill = np.iinfo(np.int64).min if n.kind == "max" else 0
    pads = b.const(np.array([0, 0, ph, pw, 0, 0, ph, pw], np.int64))
    xp = b.op("Pad", [x.name, pads, b.const(np.int64(fill))], mode="constant")
    i64 = lambda *v: b.const(np.array(v, np.int64))
    parts = [b.op("Slice", [xp, i64(i, j), i64(i + sh * (ho - 1) + 1, j + sw * (wo - 1) + 1), i64(2, 3), i64(sh, sw)])
             for i in range(kh) for j in range(kw)]
    if n.kind == "max":
        return Sym(b, b.op("Max", parts), TP.INT64, x.bound)
    out = parts[0]
    for p in parts[1:]:
        out = b.op("Add", [out, p])
    return Sym(b, out, TP.INT64, None if x.bound is None else x.bound * kh * kw)


def _pool(b: Builder, n: ir.Pool, x: Sym) -> Sym:
    if x.dtype != TP.INT8 and (x.bound is None or x.bound > 127):
        return _pool_wide(b, n, x)
    x8 = x.cast(TP.INT8)
    (ph, pw) = n.padding
    pads, k = [ph, pw, ph, pw], n.kernel[0] * n.kernel[1]
    if n.kind == "max":
        return Sym(b, b.op("MaxPool", [x8.name], kernel_shape=list(n.kernel), strides=list(n.stride), pads=pads),
                   TP.INT8, x.bound)
    c = n.shape[0]
    ones = b.const(np.ones((c, 1) + tuple(n.kernel), np.int8))
    out = b.op("ConvInteger", [x8.name, ones], strides=list(n.stride), pads=pads, group=c)
    return Sym(b, out, TP.INT32, None if x.bound is None else x.bound * k)


class _Step:
    """One time step being emitted: the builder, the graph, loop-carried state ``st`` (in) and ``new`` (out),
    and the :class:`Sym` of every node emitted so far (``vals``)."""

    def __init__(self, b: Builder, graph: ir.Graph, st: dict, latency: int = 0):
        self.b, self.graph, self.st, self.new, self.vals, self.latency = b, graph, st, {}, {}, latency

    def a(self, n: ir.Node) -> Sym:
        return self.vals[n.inputs[0]]


def _emit_synapse(n: ir.Dense | ir.Conv, e: _Step) -> Sym:
    return _synapse(e.b, n, e.a(n), e.st, e.new, e.latency)


def _emit_neuron(n: ir.Neuron, e: _Step) -> Sym:
    """:func:`neurokit.integer.integer_cuba_step` itself, on symbolic int64 state."""
    u, v, s = integer_cuba_step(e.st[f"{n.name}/u"], e.st[f"{n.name}/v"], e.a(n).cast(TP.INT64), n.integer)
    e.new[f"{n.name}/u"], e.new[f"{n.name}/v"] = u, v
    return Sym(e.b, e.b.op("Cast", [s.name], to=TP.INT8), TP.INT8, 1)


def _emit_recurrent(n: ir.Recurrent, e: _Step) -> Sym:
    """``requant(acc_ff + V s[t-1] + b_rec)`` (``MatMulInteger`` on the loop-carried int8 spikes ``s[t-1]``), then
    :func:`neurokit.integer.integer_cuba_step` itself; the new spikes are the next step's ``s[t-1]``."""
    b, q = e.b, n.quant
    rec = _int8_terms(b, np.asarray(q.weight, np.int64).T,  # a Lava dense_rec block's V may be 9-bit (netx)
                      lambda w8: b.op("MatMulInteger", [e.st[f"{n.name}/s"].name, b.const(w8)]))
    acc = b.op("Add", [e.a(n).cast(TP.INT32).name, rec])
    if q.bias is not None:
        acc = b.op("Add", [acc, b.const(q.bias.astype(np.int32))])
    a = emit_requant(Sym(b, acc, TP.INT32), q.requant)
    u, v, s = integer_cuba_step(e.st[f"{n.name}/u"], e.st[f"{n.name}/v"], a.cast(TP.INT64), n.cell.integer)
    e.new[f"{n.name}/u"], e.new[f"{n.name}/v"] = u, v
    out = e.new[f"{n.name}/s"] = Sym(b, b.op("Cast", [s.name], to=TP.INT8), TP.INT8, 1)
    return out


def _emit_integrator(n: ir.Integrator, e: _Step) -> Sym:
    out = e.new[f"{n.name}/v"] = integer_leaky_step(e.st[f"{n.name}/v"], e.a(n).cast(TP.INT64), n.integer)
    return out


def _emit_sdnn(n: ir.SigmaDelta | ir.Sigma, e: _Step) -> Sym:
    """:func:`neurokit.integer.sigma_delta_step` itself on the loop-carried int64 states; int64 messages out."""
    names = _sdnn_states(n.integer)
    state = tuple(e.st.get(f"{n.name}/{k}") if k in names else None for k in ("sigma", "act", "residue", "error"))
    state, out = sigma_delta_step(state, e.a(n).cast(TP.INT64), n.integer)
    for k, s in zip(("sigma", "act", "residue", "error"), state):
        if k in names:
            e.new[f"{n.name}/{k}"] = s
    bound = None if n.op == "sigma" else (1 << (n.integer.payload_bits - 1)) - 1
    return Sym(e.b, out.name, TP.INT64, bound)


def _emit_flatten(n: ir.Flatten, e: _Step) -> Sym:
    x = e.a(n)
    return Sym(e.b, e.b.op("Reshape", [x.name, e.b.const(np.array([0, -1], np.int64))]), x.dtype, x.bound)


def _emit_add(n: ir.Add, e: _Step) -> Sym:
    rescale = n.rescale or (None,) * len(n.inputs)
    ins = [emit_requant(e.vals[s], rq).cast(TP.INT32) for s, rq in zip(n.inputs, rescale)]
    bound = None if any(i.bound is None or rq for i, rq in zip(ins, rescale)) else sum(i.bound for i in ins)
    return Sym(e.b, e.b.op("Add", [i.name for i in ins]), TP.INT32, bound)


def _emit_token(n: ir.Node, e: _Step) -> Sym:
    return TOKEN_RULES[type(n)](e.b, n, [e.vals[s] for s in n.inputs], [e.graph.node(s).shape for s in n.inputs])


#: How each IR node type becomes ONNX nodes within one time step (module docstring).
RULES = Rules("onnx_int lowering", {
    ir.Input: lambda n, e: e.vals[n.name],   # the step's quantized input, set by emit_step
    ir.Dense: _emit_synapse,
    ir.Conv: _emit_synapse,
    ir.Pool: lambda n, e: _pool(e.b, n, e.a(n)),
    ir.Flatten: _emit_flatten,
    ir.Add: _emit_add,
    **{t: _emit_token for t in TOKEN_RULES},
    ir.Neuron: _emit_neuron,
    ir.Integrator: _emit_integrator,
    ir.Recurrent: _emit_recurrent,
    ir.SigmaDelta: _emit_sdnn,
    ir.Sigma: _emit_sdnn,
}, refusals={
    ir.BatchNorm: "a batch norm must be folded into the preceding synapse (fold_bn) before integer lowering",
})


def emit_step(b: Builder, graph: ir.Graph, x_t: Sym, st: dict, latency: int = 0) -> tuple[Sym, dict]:
    """Emit one time step into ``b.nodes``: ``x_t`` int8 ``[B, ...]`` (int64 ``a_in`` of Lava input neurons) ->
    (output, new loop-carried state)."""
    e = _Step(b, graph, st, latency)
    e.vals[graph.input.name] = x_t
    for n in graph.nodes:
        e.vals[n.name] = RULES.rule(n)(n, e)
    y = e.vals[graph.output]
    return (y if y.dtype == TP.INT8 else y.cast(TP.INT32)), e.new


def _quantized_input(b: Builder, graph: ir.Graph) -> Sym:
    node = graph.input
    if reads_input_neuron(graph):  # Lava input neurons' integer a_in (checked by the caller: int16 integers)
        return Sym(b, b.op("Cast", ["x"], to=TP.INT64), TP.INT64, LAVA_A_IN_MAX)
    if node.spikes:
        return Sym(b, b.op("Cast", ["x"], to=TP.INT8), TP.INT8, 1)
    q = b.op("QuantizeLinear", ["x", b.const(np.float32(node.scale)), b.const(np.int8(0))])
    return Sym(b, b.op("Clip", [q, b.const(np.int8(-INPUT_QMAX)), b.const(np.int8(INPUT_QMAX))]), TP.INT8, INPUT_QMAX)


def _initial_states(b: Builder, specs: list) -> list[str]:
    batch = b.op("Shape", ["x"], start=1, end=2)
    names = []
    for _, dtype, shape in specs:
        full = b.op("Concat", [batch, b.const(np.array(shape, np.int64))], axis=0)
        zero = onnx.numpy_helper.from_array(np.zeros(1, _NP[dtype]))
        names.append(b.op("ConstantOfShape", [full], value=zero))
    return names


def lower(graph: ir.Graph, time_loop: str = "loop", steps: int | None = None, latency: int = 0) -> onnx.ModelProto:
    """Quantized ``graph`` -> ONNX model with input ``x`` float ``[T, B, ...]`` and output ``y`` ``[T, B, ...]``
    (int8 spikes, or int32 readout accumulator). ``time_loop="unrolled"`` needs ``steps`` (T); ``latency=1``: Lava's
    synaptic latency (module docstring), equal to ``compile.integer_sim.run(graph, x, latency=1)``.

    Example: ``onnx.checker.check_model(lower(gq), full_check=True)``.
    """
    if time_loop not in ("loop", "unrolled"):
        raise ValueError(f"time_loop must be 'loop' or 'unrolled', got {time_loop!r}")
    b = Builder()
    xq = _quantized_input(b, graph)
    if latency not in (0, 1):
        raise ValueError(f"latency must be 0 or 1, got {latency!r}")
    specs = state_specs(graph, latency)
    init = _initial_states(b, specs)
    if time_loop == "loop":
        y_type = _emit_loop(b, graph, xq, init, specs, latency)
    else:
        if not steps or steps < 1:
            raise ValueError(f"time_loop='unrolled' needs steps >= 1 (T), got {steps!r}")
        y_type = _emit_unrolled(b, graph, xq, init, specs, steps, latency)
    in_dims = ["T", "B", *graph.input.shape]
    out_dims = ["T", "B", *graph.node(graph.output).shape]
    g = helper.make_graph(b.nodes, "neurokit_int", [helper.make_tensor_value_info("x", TP.FLOAT, in_dims)],
                          [helper.make_tensor_value_info("y", y_type, out_dims)], b.inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="neurokit")
    model.ir_version = 8
    return model


def _emit_loop(b, graph, xq, init, specs, latency) -> int:
    trip = b.op("Squeeze", [b.op("Shape", ["x"], start=0, end=1), b.const(np.array([0], np.int64))])
    outer = b.nodes
    b.nodes = []
    it, cond = b.fresh("iter"), b.fresh("cond")
    st = {name: Sym(b, b.fresh("state"), dtype) for name, dtype, _ in specs}
    x_t = Sym(b, b.op("Gather", [xq.name, it], axis=0), xq.dtype, xq.bound)
    y, new = emit_step(b, graph, x_t, st, latency)
    cond_out = b.op("Identity", [cond])
    outs = [new[name].cast(dtype).name for name, dtype, _ in specs]
    vi = helper.make_tensor_value_info
    body = helper.make_graph(
        b.nodes, "step",
        [vi(it, TP.INT64, []), vi(cond, TP.BOOL, [])]
        + [vi(st[name].name, dtype, ["B", *shape]) for name, dtype, shape in specs],
        [vi(cond_out, TP.BOOL, [])]
        + [vi(o, dtype, ["B", *shape]) for o, (_, dtype, shape) in zip(outs, specs)]
        + [vi(y.name, y.dtype, ["B", *graph.node(graph.output).shape])])
    b.nodes = outer
    finals = [b.fresh("final") for _ in specs]
    b.nodes.append(helper.make_node("Loop", [trip, ""] + init, finals + ["y"], body=body))
    return y.dtype


def _emit_unrolled(b, graph, xq, init, specs, steps, latency) -> int:
    st = {name: Sym(b, i, dtype) for (name, dtype, _), i in zip(specs, init)}
    ys = []
    for t in range(steps):
        x_t = Sym(b, b.op("Gather", [xq.name, b.const(np.int64(t))], axis=0), xq.dtype, xq.bound)
        y, new = emit_step(b, graph, x_t, st, latency)
        st = {name: new[name].cast(dtype) for name, dtype, _ in specs}
        ys.append(b.op("Unsqueeze", [y.name, b.const(np.array([0], np.int64))]))
    b.nodes.append(helper.make_node("Concat", ys, ["y"], axis=0))
    return y.dtype
