"""Symbolic integer ONNX tensors for the integer lowering (:mod:`hw_targets.onnx_lower`, :mod:`hw_targets.onnx_tokens`).

:class:`Builder` collects nodes and de-duplicated constants; :class:`Sym` wraps a tensor name so Python operators emit
ONNX nodes, which is how :func:`neurokit.integer.integer_cuba_step` becomes the ONNX neuron update;
:func:`emit_requant` is the integer-only accumulator rescaling shared by synapses and attention products.

Example::

    b = Builder()
    v = Sym(b, "v", TP.INT64)
    s = (v > 5) * 1            # emits Greater, Cast, Mul into b.nodes
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto as TP
from onnx import helper

from compile import ir
from neurokit.integer import requantize


class Builder:
    """Collects ONNX nodes (``nodes``, swappable for a subgraph) and de-duplicated constant initializers."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.inits: list = []
        self._consts: dict = {}
        self._n = 0

    def fresh(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, arr: np.ndarray) -> str:
        arr = np.asarray(arr)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self._consts:
            name = self.fresh("c")
            self.inits.append(onnx.numpy_helper.from_array(arr, name))
            self._consts[key] = name
        return self._consts[key]

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        out = self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out


class Sym:
    """A symbolic integer tensor: Python operators emit ONNX nodes (int64 arithmetic; comparisons give bool).

    Lets :func:`neurokit.integer.integer_cuba_step` build the ONNX neuron update from its own code.
    Example: ``(Sym(b, "v", TP.INT64) > 5) * 1`` emits ``Greater``, ``Cast`` and ``Mul``.
    """

    def __init__(self, b: Builder, name: str, dtype: int, bound: int | None = None):
        self.b, self.name, self.dtype, self.bound = b, name, dtype, bound

    def cast(self, dtype: int) -> Sym:
        return self if dtype == self.dtype else Sym(self.b, self.b.op("Cast", [self.name], to=dtype), dtype, self.bound)

    def const(self, a) -> Sym:
        return Sym(self.b, self.b.const(np.asarray(a, np.int64)), TP.INT64)

    def _other(self, o) -> Sym:
        return (o if isinstance(o, Sym) else self.const(o)).cast(TP.INT64)

    def _bin(self, op: str, a: Sym, c: Sym, dtype: int = TP.INT64) -> Sym:
        return Sym(self.b, self.b.op(op, [a.cast(TP.INT64).name, c.name]), dtype)

    def __add__(self, o):
        return self._bin("Add", self, self._other(o))

    def __sub__(self, o):
        return self._bin("Sub", self, self._other(o))

    def __rsub__(self, o):
        return self._bin("Sub", self._other(o), self.cast(TP.INT64))

    def __mul__(self, o):
        return self._bin("Mul", self, self._other(o))

    def __mod__(self, o):  # floor modulo (ONNX Mod, fmod=0: the result has the divisor's sign, as Python's %)
        return self._bin("Mod", self, self._other(o))

    __radd__, __rmul__ = __add__, __mul__

    def __gt__(self, o):
        return self._bin("Greater", self, self._other(o), TP.BOOL)

    def __lt__(self, o):
        return self._bin("Less", self, self._other(o), TP.BOOL)

    def __le__(self, o):
        return self._bin("LessOrEqual", self, self._other(o), TP.BOOL)

    def trunc_div(self, d: int) -> Sym:
        return self._bin("Div", self, self.const(d))

    def clip(self, lo: int, hi: int) -> Sym:
        x = self.cast(TP.INT64)
        return Sym(self.b, self.b.op("Clip", [x.name, self.b.const(np.int64(lo)), self.b.const(np.int64(hi))]),
                   TP.INT64)


def emit_requant(acc: Sym, rq: ir.Requant | None, conv: bool = False) -> Sym:
    """:func:`neurokit.integer.requantize` on a symbolic tensor (int64 ``Mul`` then ``Div``; ``floor`` for a QAT
    shift), as :func:`compile.integer_sim._requant`; ``M`` per output channel (``conv``: ``[C, 1, 1]``) or 0-d.
    ``rq=None`` returns ``acc`` unchanged."""
    if rq is None:
        return acc
    return requantize(acc.cast(TP.INT64), rq.multiplier.reshape(-1, 1, 1) if conv else rq.multiplier, rq.shift,
                      rq.floor)
