"""Integer ONNX lowering of the spiking-transformer token ops (one time step, batch axis 0), for
:mod:`hw_targets.onnx_lower`. Semantics: :mod:`compile.passes.quantize_tokens` / :data:`compile.integer_sim.RULES`.

* ``reshape``: ``Reshape`` to ``[0, *shape]`` (0 keeps B); ``permute``: ``Transpose`` with ``[0, *(perm + 1)]``;
  both keep the dtype (int8 spikes stay int8) and the worst case.
* ``mean``: ``ReduceSum`` in int32 over ``axes + 1`` (the ``1/count`` is in the scale, never applied), then its
  optional requantization.
* ``matmul``: ``MatMulInteger`` (int8 x int8 -> int32; ORT has no int8 ``MatMul``) when both operands fit int8
  (spikes, small counts), else int64 ``MatMul`` (ORT's integer MatMul types are int32/int64); batched ``[B, H, N, K]``.
* ``mask``: int32 ``Mul`` (broadcast), with ``sum_tokens`` a ``ReduceSum`` over axis -2 (kept).
* then the product's optional requantization (:func:`hw_targets.onnx_sym.emit_requant`).

Example: ``TOKEN_RULES[ir.MatMul](b, graph.node("blocks.0.attn.kv_matmul"), [kT, v], shapes)`` -> a ``Sym`` (int32,
bound 16).
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto as TP

from compile import ir
from hw_targets.onnx_sym import Builder, Sym, emit_requant


def _i64(b: Builder, *v: int) -> str:
    return b.const(np.array(v, np.int64))


def _reshape(b: Builder, n: ir.Reshape, ins: list[Sym], shapes: list[tuple[int, ...]]) -> Sym:
    del shapes
    x = ins[0]
    return Sym(b, b.op("Reshape", [x.name, _i64(b, 0, *n.shape)]), x.dtype, x.bound)


def _permute(b: Builder, n: ir.Permute, ins: list[Sym], shapes: list[tuple[int, ...]]) -> Sym:
    del shapes
    x = ins[0]
    return Sym(b, b.op("Transpose", [x.name], perm=[0, *(p + 1 for p in n.perm)]), x.dtype, x.bound)


def _mean(b: Builder, n: ir.Mean, ins: list[Sym], shapes: list[tuple[int, ...]]) -> Sym:
    x = ins[0]
    out = b.op("ReduceSum", [x.cast(TP.INT32).name, _i64(b, *(a + 1 for a in n.axes))], keepdims=int(n.keepdim))
    count = int(np.prod([shapes[0][a] for a in n.axes]))
    return _requantized(Sym(b, out, TP.INT32), n, None if x.bound is None else x.bound * count)


def _requantized(out: Sym, n: ir.MatMul | ir.Mask | ir.Mean, bound: int | None) -> Sym:
    rq = n.requant
    out = emit_requant(out, rq)
    out.bound = bound if rq is None or bound is None else int((bound * rq.multiplier) >> rq.shift)
    return out


def _bound(x: Sym, y: Sym, k: int) -> int | None:
    return None if x.bound is None or y.bound is None else k * x.bound * y.bound


def _matmul(b: Builder, n: ir.MatMul, ins: list[Sym], shapes: list[tuple[int, ...]]) -> Sym:
    x, y = ins
    if all(v.bound is not None and v.bound <= 127 for v in (x, y)):
        out = Sym(b, b.op("MatMulInteger", [x.cast(TP.INT8).name, y.cast(TP.INT8).name]), TP.INT32)
    else:
        out = Sym(b, b.op("MatMul", [x.cast(TP.INT64).name, y.cast(TP.INT64).name]), TP.INT64)
    return _requantized(out, n, _bound(x, y, shapes[0][-1]))


def _mask(b: Builder, n: ir.Mask, ins: list[Sym], shapes: list[tuple[int, ...]]) -> Sym:
    x, y = ins
    k = max(shapes[0][-2], shapes[1][-2]) if n.sum_tokens else 1
    out = Sym(b, b.op("Mul", [x.cast(TP.INT32).name, y.cast(TP.INT32).name]), TP.INT32)
    if n.sum_tokens:
        out = Sym(b, b.op("ReduceSum", [out.name, _i64(b, -2)], keepdims=1), TP.INT32)
    return _requantized(out, n, _bound(x, y, k))


#: Token op class -> ``emit(b, n, ins, shapes) -> Sym`` on per-step inputs ``ins`` (``[B, *shape]``, ``shapes``
#: their per-step shapes); the output carries its worst-case bound (None if unknown).
TOKEN_RULES = {ir.Reshape: _reshape, ir.Permute: _permute, ir.Mean: _mean, ir.MatMul: _matmul, ir.Mask: _mask}
