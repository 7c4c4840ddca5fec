"""Capture of tensor methods / functions (not modules) into IR nodes: residual adds, per-step layout changes and means.

:func:`convert_op` is called by :mod:`compile.capture` for every ``call_method`` / ``call_function`` fx node.
Layout ops must leave ``[T, B]`` in place (checked on the example's shapes):

* ``flatten`` / ``reshape`` / ``view`` / ``unflatten`` / ``squeeze`` / ``unsqueeze`` -> ``flatten`` (to one axis) or
  ``reshape`` (a row-major reshape of every step, e.g. ``[T, B, C, H, W] -> [T, B, C, H*W]``);
* ``transpose`` / ``permute`` -> ``permute`` over the per-step axes;
* ``mean`` over per-step axes (``x.mean(2)`` on tokens ``[T, B, N, C]``) -> ``mean``;
* ``x + y`` of two equal-shape tensors -> ``add``.

Example::

    node = convert_op(fx_node, ("conv",), (16, 32), {"conv": (32, 4, 4)})   # x.flatten(3).transpose(-1, -2)
"""
from __future__ import annotations

import operator

import numpy as np
import torch
from torch import fx

from compile import ir
from compile.ir import CompileError
from compile.tracing import op_name

RESHAPE_OPS = ("flatten", "reshape", "view", "unflatten", "squeeze", "unsqueeze")
PERMUTE_OPS = ("transpose", "permute")


def _step_axes(n: fx.Node, dims, rank: int) -> tuple[int, ...]:
    """Full-rank dims (negative allowed) -> per-step axes; CompileError if one is T (0) or B (1)."""
    full = tuple(int(d) % rank for d in dims)
    if any(d < 2 for d in full):
        raise CompileError(f"{n.name!r} ({op_name(n)}): dims {tuple(dims)} touch the time or batch axis of "
                           f"[T, B, ...]; only per-step axes can be moved or reduced")
    return tuple(d - 2 for d in full)


def _permute(n: fx.Node, srcs, shape, in_shape) -> ir.Permute:
    rank = len(in_shape) + 2
    args = n.args[1:]
    if op_name(n) == "transpose":
        a, b = _step_axes(n, args, rank)
        perm = list(range(rank - 2))
        perm[a], perm[b] = b, a
    else:
        dims = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
        full = tuple(int(d) % rank for d in dims)
        if full[:2] != (0, 1):
            raise CompileError(f"{n.name!r} (permute): dims {tuple(dims)} move the time or batch axis of [T, B, ...]")
        perm = [d - 2 for d in full[2:]]
    return ir.Permute(n.name, srcs, shape, perm=tuple(perm))


def _mean(n: fx.Node, srcs, shape, in_shape) -> ir.Mean:
    args = dict(zip(("dim", "keepdim"), n.args[1:]), **n.kwargs)
    if args.get("dim") is None or set(args) - {"dim", "keepdim"}:
        raise CompileError(f"{n.name!r} (mean): only a mean over given per-step dims (dim=..., keepdim=...) is "
                           f"supported, got {args}")
    dims = args["dim"] if isinstance(args["dim"], (tuple, list)) else (args["dim"],)
    return ir.Mean(n.name, srcs, shape, axes=_step_axes(n, dims, len(in_shape) + 2),
                   keepdim=bool(args.get("keepdim", False)))


def convert_op(n: fx.Node, srcs: tuple[str, ...], shape: tuple, shapes: dict) -> ir.Node:
    """IR node for the ``call_method``/``call_function`` fx node ``n`` (module docstring); ``srcs``: IR names of its
    tensor inputs, ``shape``: its per-step output shape, ``shapes``: per-step shapes by IR name."""
    name = op_name(n)
    if n.target in (operator.add, torch.add) or name in ("add", "__add__"):
        if len(srcs) != 2 or len(n.args) != 2 or shapes[srcs[0]] != shapes[srcs[1]]:
            raise CompileError(f"{n.name!r} (add): only the sum of two tensors of equal shape is supported")
        return ir.Add(n.name, srcs, shape)
    if name in RESHAPE_OPS + PERMUTE_OPS + ("mean",) and len(srcs) != 1:
        raise CompileError(f"{n.name!r} ({name}): expected one tensor input, got {len(srcs)}")
    in_shape = shapes[srcs[0]] if srcs else None
    if name in RESHAPE_OPS:
        if np.prod(in_shape, dtype=np.int64) != np.prod(shape, dtype=np.int64):
            raise CompileError(f"{n.name!r} ({name}): per-step shape {in_shape} -> {shape} changes the element count")
        return ir.Flatten(n.name, srcs, shape) if len(shape) == 1 else ir.Reshape(n.name, srcs, shape)
    if name in PERMUTE_OPS:
        return _permute(n, srcs, shape, in_shape)
    if name == "mean":
        return _mean(n, srcs, shape, in_shape)
    raise CompileError(f"{n.name!r} ({name}): unsupported op {n.op} {name!r}; write it as a neurokit layer")
