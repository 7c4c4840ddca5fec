"""Integer reference simulator: runs a quantized IR in integer arithmetic. THE DEFINITION integer targets match.

Everything is NumPy int64 (values stay within int32 where the hardware accumulates in int32; the decay product
needs int64 exactly as in Lava). Per node, over the whole sequence ``[T, B, ...]``:

* input: ``q = clip(round_half_even(float32(x) / float32(scale)), -127, 127)`` (0/1 spikes are used as is; the
  integer ``a_in`` of Lava input neurons, ``nk.from_netx``'s ``LavaInput``, as is: integers in Lava's int16 range);
* dense: ``acc[t] = W_int x[t] + b`` (delayed: ``acc[t, o] = sum_j W[o, j] x[t - d[o, j], j] + b[o]``);
  conv: integer cross-correlation (im2col; a Lava conv, ``nk.from_netx``, wraps it to 24 bits as Lava's ``Conv``
  does: :func:`compile.capture_lava.conv_wrap_bits`); then optional requantization ``trunc(acc * M / 2**shift)``
  (``floor`` instead of ``trunc`` for a QAT accumulator shift);
* pool: max, or **sum** (avg pool; its ``1/(kh*kw)`` lives in the scale); flatten; add: integer sum (after each input's
``rescale``, if any);
* token ops (:mod:`compile.passes.quantize_tokens`): reshape / permute move integers; mean is the integer **sum**;
  matmul / mask are integer products (``a @ b``, ``a * b`` [summed over tokens]), then their optional requantization;
* neuron: :func:`neurokit.integer.integer_cuba_run` (Lava's bit-accurate CUBA-LIF), from rest;
* integrator: :func:`neurokit.integer.integer_leaky_run` (leaky readout trace, same decay convention);
* sigma_delta / sigma: :func:`neurokit.integer.sigma_delta_run` (Lava's fixed-point ``Delta`` / ``SigmaDelta`` /
  ``Sigma``): graded messages, every state and message range-checked per step (``IntegerOverflowError`` naming the
  node, step and neuron index);
* recurrent: per step ``a[t] = requant(acc_ff[t] + V_int s[t-1] + b_rec)`` (``s[-1] = 0``; ``acc_ff`` the
  feed-forward dense's raw accumulator, the requantization the sum's, :mod:`compile.passes.quantize_recurrent`),
  then :func:`neurokit.integer.integer_cuba_step`: the recurrent input is the previous step's integer spikes.

``latency=1`` is Lava's timing, which the ``loihi2`` target reproduces bit for bit (``cm.run(x) ==
run(cm.graph, x, latency=1)``, biases included), and ``onnx_int`` for a graph of Lava layers (``nk.from_netx``:
:func:`compile.capture_lava.lava_latency`); every other target uses ``latency=0``. Per synapse::

    acc[t] = W_int x[t - 1] + b      (x[-1] = 0; delayed: x[t - 1 - d[o, j]])

i.e. a Dense sends the previous step's weighted spikes (a recurrent synapse's ``V s[t-1]`` has that one-step latency in
both modes: it is the layer's definition), while the bias (Lava adds ``bias_mant << 6`` to ``v``)
is applied at every step from ``t = 0``. A layer's spikes therefore reach layer ``l`` only after ``l`` steps, but
a biased neuron integrates its bias (and may spike) before that.

Example::

    spikes = run(quantized_graph, x)                  # x [T, B, ...] float -> int64 [T, B, ...]
    out, acts = run(quantized_graph, x, record=True)  # acts: node name -> integer tensor (activity counts)
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from compile import ir
from compile.capture_lava import LAVA_A_IN_MAX, conv_wrap_bits, reads_input_neuron
from compile.dispatch import Rules
from neurokit.integer import (
    INPUT_QMAX,
    integer_cuba_run,
    integer_cuba_step,
    integer_leaky_run,
    requantize,
    sigma_delta_run,
    wrap,
)


def quantize_input(node: ir.Input, x, a_in: bool = False) -> np.ndarray:
    """Integer input ``[T, B, ...]`` int64 for a float ``x`` (see module docstring); ``a_in=True``: ``x`` is the
    integer ``a_in`` of Lava input neurons (:func:`compile.capture_lava.reads_input_neuron`), taken as is
    (``ValueError`` for non-integers or beyond Lava's int16).
    Example: ``quantize_input(g.input, torch.rand(4, 2, 8))``."""
    x = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float32)
    if tuple(x.shape[2:]) != tuple(node.shape) or x.ndim != len(node.shape) + 2:
        raise ValueError(f"input x must have shape [T, B, {', '.join(map(str, node.shape))}], got {x.shape}")
    if a_in:
        check_a_in(x)
        return x.astype(np.int64)
    if node.spikes:
        if not np.isin(x, (0.0, 1.0)).all():
            raise ValueError("input x: this model was compiled for 0/1 spike input; got other values")
        return x.astype(np.int64)
    q = np.rint(x / np.float32(node.scale))
    return np.clip(q, -INPUT_QMAX, INPUT_QMAX).astype(np.int64)


def check_a_in(x: np.ndarray) -> None:
    """``ValueError`` unless ``x`` holds integers in Lava's int16 ``a_in`` range (what drives a Lava input neuron).
    Example: ``check_a_in(np.array([3.0, -200.0]))`` passes."""
    if x.size and (not np.all(x == np.round(x)) or np.abs(x).max() > LAVA_A_IN_MAX):
        raise ValueError(f"input x: this model's input drives Lava input neurons: their a_in must be integers in "
                         f"-{LAVA_A_IN_MAX}..{LAVA_A_IN_MAX} (Lava's int16), got values in "
                         f"{float(x.min())}..{float(x.max())}")


def _dense(n: ir.Dense, x: np.ndarray) -> np.ndarray:
    w = n.quant.weight
    if n.delay is None:
        return x @ w.T
    acc = np.zeros(x.shape[:-1] + (w.shape[0],), np.int64)
    T = x.shape[0]
    for k in np.unique(n.delay):
        if k < T:
            acc[k:] += x[:T - k] @ (w * (n.delay == k)).T
    return acc


def _windows(x: np.ndarray, kernel, stride, padding, dilation, fill) -> np.ndarray:
    """``x [N, C, H, W]`` -> windows ``[N, C, Ho, Wo, kh, kw]`` (zero/fill padded, strided, dilated)."""
    (ph, pw), (sh, sw), (dh, dw) = padding, stride, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    span = ((kernel[0] - 1) * dh + 1, (kernel[1] - 1) * dw + 1)
    win = sliding_window_view(xp, span, axis=(2, 3))
    return win[:, :, ::sh, ::sw, ::dh, ::dw]


def _conv(n: ir.Conv, x: np.ndarray) -> np.ndarray:
    T, B = x.shape[:2]
    w = n.quant.weight
    win = _windows(x.reshape(T * B, *x.shape[2:]), w.shape[2:], n.stride, n.padding, n.dilation, 0)
    og, cg = w.shape[0] // n.groups, w.shape[1]
    outs = [np.tensordot(win[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og], axes=([1, 4, 5], [1, 2, 3]))
            for g in range(n.groups)]
    out = np.concatenate(outs, axis=-1).transpose(0, 3, 1, 2)
    return out.reshape(T, B, *out.shape[1:])


def _pool(n: ir.Pool, x: np.ndarray) -> np.ndarray:
    T, B = x.shape[:2]
    fill = np.iinfo(np.int64).min if n.kind == "max" else 0
    win = _windows(x.reshape(T * B, *x.shape[2:]), n.kernel, n.stride, n.padding, (1, 1), fill)
    out = win.max(axis=(4, 5)) if n.kind == "max" else win.sum(axis=(4, 5))
    return out.reshape(T, B, *out.shape[1:])


def _synapse(n, x: np.ndarray, latency: int) -> np.ndarray:
    q = n.quant
    acc = _dense(n, x) if n.op == "dense" else _conv(n, x)
    bits = conv_wrap_bits(n)
    if bits is not None:  # Lava's Conv wraps its accumulation (before the latency and the neuron's bias)
        acc = wrap(acc, bits)
    if latency:  # the weighted spikes arrive one step later; the bias is a constant input from t = 0 (Lava)
        acc = np.concatenate([np.zeros_like(acc[:1]), acc[:-1]])
    if q.bias is not None:
        acc = acc + (q.bias.reshape(-1, 1, 1) if n.op == "conv" else q.bias)
    return _requant(acc, q.requant, n.op == "conv")


def _requant(acc: np.ndarray, rq: ir.Requant | None, conv: bool = False) -> np.ndarray:
    """:func:`neurokit.integer.requantize` of ``acc`` by ``rq`` (None: unchanged); ``M`` per channel (``conv``: axis
    -3) or 0-d."""
    if rq is None:
        return acc
    return requantize(acc, rq.multiplier.reshape(-1, 1, 1) if conv else rq.multiplier, rq.shift, rq.floor)


def _add(n: ir.Add, env: _Env) -> np.ndarray:
    rescale = n.rescale or (None,) * len(n.inputs)
    return sum(_requant(a, rq) for a, rq in zip(env.ins(n), rescale))


def _product(n: ir.MatMul | ir.Mask, env: _Env) -> np.ndarray:
    """matmul / mask: integer products of two activation tensors (mask: summed over tokens), then requantization."""
    a, b = env.ins(n)
    out = np.matmul(a, b) if n.op == "matmul" else a * b
    if n.op == "mask" and n.sum_tokens:
        out = out.sum(axis=-2, keepdims=True)
    return _requant(out, n.requant)


def _recurrent(n: ir.Recurrent, a_ff: np.ndarray) -> np.ndarray:
    """The recurrent loop in integers (module docstring): ``a_ff [T, B, O]`` -> spikes int64 ``[T, B, O]``."""
    q, p = n.quant, n.cell.integer
    w_t = q.weight.T.astype(np.int64)
    u = v = s = np.zeros(a_ff.shape[1:], np.int64)
    out = np.empty(a_ff.shape, np.int64)
    for t in range(a_ff.shape[0]):
        acc = a_ff[t] + s @ w_t
        if q.bias is not None:
            acc = acc + q.bias
        u, v, s = integer_cuba_step(u, v, _requant(acc, q.requant), p)
        out[t] = s
    return out


class _Env:
    """What a rule reads: the values computed so far, the float input ``x`` and the synaptic ``latency``."""

    def __init__(self, x, latency: int, a_in: bool = False):
        self.x, self.latency, self.a_in, self.vals = x, latency, a_in, {}

    def ins(self, n: ir.Node) -> list[np.ndarray]:
        return [self.vals[s] for s in n.inputs]

    def a(self, n: ir.Node) -> np.ndarray:
        return self.vals[n.inputs[0]]


#: The integer semantics of each IR node type (module docstring).
RULES = Rules("integer_sim", {
    ir.Input: lambda n, env: quantize_input(n, env.x, env.a_in),
    ir.Dense: lambda n, env: _synapse(n, env.a(n), env.latency),
    ir.Conv: lambda n, env: _synapse(n, env.a(n), env.latency),
    ir.Pool: lambda n, env: _pool(n, env.a(n)),
    ir.Flatten: lambda n, env: env.a(n).reshape(env.a(n).shape[:2] + (-1,)),
    ir.Reshape: lambda n, env: env.a(n).reshape(env.a(n).shape[:2] + tuple(n.shape)),
    ir.Permute: lambda n, env: env.a(n).transpose((0, 1) + tuple(p + 2 for p in n.perm)),
    ir.Mean: lambda n, env: _requant(env.a(n).sum(axis=tuple(x + 2 for x in n.axes), keepdims=n.keepdim),
                                     n.requant),  # integer sum, then its optional requantization
    ir.Add: _add,
    ir.MatMul: _product,
    ir.Mask: _product,
    ir.Neuron: lambda n, env: integer_cuba_run(env.a(n), n.integer),
    ir.Integrator: lambda n, env: integer_leaky_run(env.a(n), n.integer),
    ir.Recurrent: lambda n, env: _recurrent(n, env.a(n)),
    ir.SigmaDelta: lambda n, env: sigma_delta_run(env.a(n), n.integer, f"sigma_delta {n.name!r}"),
    ir.Sigma: lambda n, env: sigma_delta_run(env.a(n), n.integer, f"sigma {n.name!r}"),
}, refusals={
    ir.BatchNorm: "a quantized graph holds no batch norm (fold_bn folds it into the preceding synapse)",
})


def run(graph: ir.Graph, x, latency: int = 0, record: bool = False):
    """Run the quantized ``graph`` on ``x [T, B, *input_shape]`` (float, torch or NumPy) in integers (``latency``:
    module docstring).

    Returns the output node's int64 tensor ``[T, B, ...]`` (spikes, a readout synapse's accumulator or an
    integrator's trace; real value ``graph.scales[graph.output] * out``),
    and with ``record=True`` also a dict ``node name -> int64 tensor``. Example in the module docstring.
    """
    if not graph.quantized:
        raise ValueError("integer_sim.run needs a quantized graph (run compile.passes.quantize first)")
    if latency not in (0, 1):
        raise ValueError(f"latency must be 0 or 1, got {latency}")
    env = _Env(x, latency, reads_input_neuron(graph))
    for n in graph.nodes:
        env.vals[n.name] = RULES.rule(n)(n, env)
    vals = env.vals
    return (vals[graph.output], vals) if record else vals[graph.output]
