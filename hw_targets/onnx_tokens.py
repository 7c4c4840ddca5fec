"""Integer ONNX lowering of the spiking-transformer token ops (one time step, batch axis 0), for
:mod:`hw_targets.onnx_lower`. Semantics: :mod:`compile.passes.quantize_tokens` / :func:`compile.integer_sim._token_op`.

* ``reshape``: ``Reshape`` to ``[0, *shape]`` (0 keeps B); ``permute``: ``Transpose`` with ``[0, *(perm + 1)]``;
  both keep the dtype (int8 spikes stay int8) and the worst case.
* ``mean``: ``ReduceSum`` in int32 over ``axes + 1`` (the ``1/count`` is in the scale, never applied).
* ``matmul``: ``MatMulInteger`` (int8 x int8 -> int32; ORT has no int8 ``MatMul``) when both operands fit int8
  (spikes, small counts), else int64 ``MatMul`` (ORT's integer MatMul types are int32/int64); batched ``[B, H, N, K]``.
* ``mask``: int32 ``Mul`` (broadcast), with ``sum_tokens`` a ``ReduceSum`` over axis -2 (kept).
* then the product's optional requantization (:func:`hw_targets.onnx_sym.emit_requant`).

Example: ``emit_token_op(b, graph.node("blocks.0.attn.kv_matmul"), [kT, v])`` -> a ``Sym`` (int32, bound 16).
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto as TP

from compile import ir
from hw_targets.onnx_sym import Builder, Sym, emit_requant


def _i64(b: Builder, *v: int) -> str:
    return b.const(np.array(v, np.int64))


def emit_token_op(b: Builder, n: ir.Node, ins: list[Sym], shapes: list[tuple[int, ...]]) -> Sym:
    """Emit token op ``n`` on per-step inputs ``ins`` (``[B, *shape]``, ``shapes`` their per-step shapes); returns the
    output :class:`Sym` with its worst-case bound (None if unknown)."""
    x = ins[0]
    if n.op == "reshape":
        return Sym(b, b.op("Reshape", [x.name, _i64(b, 0, *n.shape)]), x.dtype, x.bound)
    if n.op == "permute":
        return Sym(b, b.op("Transpose", [x.name], perm=[0, *(p + 1 for p in n.perm)]), x.dtype, x.bound)
    if n.op == "mean":
        out = b.op("ReduceSum", [x.cast(TP.INT32).name, _i64(b, *(a + 1 for a in n.axes))], keepdims=int(n.keepdim))
        count = int(np.prod([shapes[0][a] for a in n.axes]))
        return Sym(b, out, TP.INT32, None if x.bound is None else x.bound * count)
    y = ins[1]
    if n.op == "matmul":
        k = shapes[0][-1]
        if all(v.bound is not None and v.bound <= 127 for v in (x, y)):
            out = Sym(b, b.op("MatMulInteger", [x.cast(TP.INT8).name, y.cast(TP.INT8).name]), TP.INT32)
        else:
            out = Sym(b, b.op("MatMul", [x.cast(TP.INT64).name, y.cast(TP.INT64).name]), TP.INT64)
    else:
        k = max(shapes[0][-2], shapes[1][-2]) if n.sum_tokens else 1
        out = Sym(b, b.op("Mul", [x.cast(TP.INT32).name, y.cast(TP.INT32).name]), TP.INT32)
        if n.sum_tokens:
            out = Sym(b, b.op("ReduceSum", [out.name, _i64(b, -2)], keepdims=1), TP.INT32)
    bound = None if x.bound is None or y.bound is None else k * x.bound * y.bound
    rq = n.requant
    out = emit_requant(out, rq)
    out.bound = bound if rq is None or bound is None else int((bound * rq.multiplier) >> rq.shift)
    return out
