"""Pass: check a graph against a target's declared limits (:class:`Limits`).

Each hardware target declares what it supports as a :class:`Limits` (``target.supports``); this pass raises
:class:`CompileError` naming the node for anything outside them, so lowering code can assume a valid graph.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compile import ir
from neurokit.integer import SD_PAYLOAD_BITS, VTH_BITS
from compile.ir import CompileError

ALL_OPS = frozenset(t.op for t in ir.NODE_TYPES)  # the ``op`` of every IR node class


@dataclass(frozen=True)
class Limits:
    """What a target supports.

    ops: IR ops (default: all, ``ALL_OPS``); neuron_kinds: ``lif``/``if``/``cuba``/``alif``; integer: the target runs
    the quantized graph;
    weight_bits: widest integer weight; acc_bits: widest (requantized) accumulator fed to a neuron;
    act_bits: widest signed integer tensor feeding a synapse (int8 containers: 8); vth_bits: threshold
    mantissa bits; max_delay: largest synaptic delay (None: any); resets: integer reset modes;
    neuron_format: required ``(act_shift, vth_shift, uv_bits)`` of integer neurons (Lava: ``(6, 6, 24)``), or None;
    payload_bits: widest signed graded sigma-delta message a synapse may read (Lava: 24; None: no sigma-delta).
    Example: ``Limits(ops=ALL_OPS - {"batchnorm"}, weight_bits=8, max_delay=62, resets=frozenset({"hard"}))``.
    """

    ops: frozenset = ALL_OPS
    neuron_kinds: frozenset = frozenset({"lif", "if", "cuba"})
    integer: bool = True
    weight_bits: int = 8
    acc_bits: int = 16
    act_bits: int = 8
    vth_bits: int = VTH_BITS
    max_delay: int | None = 62
    resets: frozenset = frozenset({"hard", "soft"})
    neuron_format: tuple[int, int, int] | None = None
    payload_bits: int | None = SD_PAYLOAD_BITS


def check_supported(graph: ir.Graph, limits: Limits, target: str, reasons: dict[str, str]) -> ir.Graph:
    """Return ``graph`` if ``limits`` has every node's op and neuron kind; else one :class:`CompileError` naming
    every such node with ``reasons[op or kind]`` (why ``target`` cannot run it), grouped by reason.

    Run it first among an integer target's ``passes``, so the user sees why (not a quantization failure).
    Example: ``check_supported(g, Limits(ops=ALL_OPS - {"matmul"}), "loihi2", {"matmul": "a spike x spike product"})``
    raises ``loihi2: node 'attn.kv' (matmul): a spike x spike product`` for a graph with that node.
    """
    by_why: dict[str, list[str]] = {}
    for n in graph.nodes:
        if n.op not in limits.ops:
            key, what = n.op, f"node {n.name!r} ({n.op})"
        elif n.op in ("neuron", "recurrent") and _kind(n) not in limits.neuron_kinds:
            key, what = _kind(n), f"node {n.name!r} ({n.op}, kind {_kind(n)!r})"
        else:
            continue
        by_why.setdefault(reasons.get(key, f"{key!r} is not supported by this target"), []).append(what)
    if not by_why:
        return graph
    count = sum(len(v) for v in by_why.values())
    parts = "; ".join(f"{', '.join(where)}: {why}" for why, where in by_why.items())
    raise CompileError(f"{target}: {parts}" if count == 1 else f"{target}: {count} nodes cannot be compiled: {parts}")


def check_limits(graph: ir.Graph, limits: Limits) -> ir.Graph:
    """Return ``graph`` unchanged if it fits ``limits``; else raise :class:`CompileError` naming the node.

    Example: ``check_limits(quantized_graph, Limits(max_delay=8))`` raises if a delay exceeds 8 steps.
    """
    if limits.integer and not graph.quantized:
        raise CompileError("graph is not quantized; run the quantize pass before lowering to an integer target")
    for n in graph.nodes:
        where = f"node {n.name!r} ({n.op})"
        if n.op not in limits.ops:
            raise CompileError(f"{where}: op {n.op!r} is not supported by this target (supported: "
                               f"{sorted(limits.ops)})")
        if n.op == "neuron":
            _neuron(n, where, limits)
        if n.op == "recurrent":
            _neuron(n.cell, where, limits)
        if n.op == "dense" and n.delay is not None:
            _delay(n, where, limits)
        if limits.integer and n.op in ir.SYNAPSES and _feeds_sdnn(graph, n):
            _sdnn_synapse(n.quant, where, limits)
        elif limits.integer and (n.op in ir.SYNAPSES or n.op == "recurrent"):
            # a recurrent layer's feed-forward accumulator is part of the recurrent node's sum, checked there
            _synapse(n.quant, where, limits, acc=not _feeds_recurrent(graph, n))
    return graph


def _kind(n: ir.Node) -> str:
    """The neuron kind of a ``neuron`` node or of a ``recurrent`` node's cell."""
    return n.cell.kind if n.op == "recurrent" else n.kind


def _feeds_recurrent(graph: ir.Graph, n: ir.Node) -> bool:
    return any(c.op == "recurrent" for c in graph.consumers(n.name))


def _feeds_sdnn(graph: ir.Graph, n: ir.Node) -> bool:
    return any(c.op in ir.SDNN for c in graph.consumers(n.name))


def _sdnn_synapse(q: ir.QuantSynapse, where: str, limits: Limits) -> None:
    """A synapse into a sigma-delta unit reads graded messages (up to ``payload_bits``) and accumulates in int64."""
    if limits.payload_bits is None:
        raise CompileError(f"{where}: this target has no graded (sigma-delta) messages")
    _weights(q, where, limits)
    if q.in_max > 2 ** (limits.payload_bits - 1) - 1:
        raise CompileError(f"{where}: graded input may reach {q.in_max}, beyond the {limits.payload_bits}-bit payload")


def _neuron(n: ir.Neuron, where: str, limits: Limits) -> None:
    if n.kind not in limits.neuron_kinds:
        raise CompileError(f"{where}: neuron kind {n.kind!r} not supported (supported: {sorted(limits.neuron_kinds)})")
    if limits.integer:
        p = n.integer
        if p.reset not in limits.resets:
            raise CompileError(f"{where}: {p.reset} reset not supported (supported: {sorted(limits.resets)})")
        fmt = (p.act_shift, p.vth_shift, p.uv_bits)
        if limits.neuron_format is not None and fmt != limits.neuron_format:
            raise CompileError(f"{where}: integer neuron format (act_shift, vth_shift, uv_bits) = {fmt}; this target "
                               f"needs {limits.neuron_format}")
        if p.vth.max() > 2 ** limits.vth_bits - 1:
            raise CompileError(f"{where}: integer threshold {int(p.vth.max())} exceeds {limits.vth_bits} bits")


def _delay(n: ir.Dense, where: str, limits: Limits) -> None:
    if n.delay.dtype.kind != "i":
        raise CompileError(f"{where}: delays are not rounded to integers; run round_delays first")
    if n.delay.min() < 0 or (limits.max_delay is not None and n.delay.max() > limits.max_delay):
        raise CompileError(f"{where}: delays span {int(n.delay.min())}..{int(n.delay.max())}; this target supports "
                           f"0..{limits.max_delay}")


def _weights(q: ir.QuantSynapse, where: str, limits: Limits) -> None:
    if q.bits > limits.weight_bits or np.abs(q.weight).max(initial=0) > 2 ** (limits.weight_bits - 1) - 1:
        raise CompileError(f"{where}: {q.bits}-bit weights (max |w| {int(np.abs(q.weight).max())}) exceed "
                           f"{limits.weight_bits} bits")


def _synapse(q: ir.QuantSynapse, where: str, limits: Limits, acc: bool = True) -> None:
    _weights(q, where, limits)
    if acc and q.acc_max.max(initial=0) > 2 ** (limits.acc_bits - 1) - 1:
        raise CompileError(f"{where}: accumulator may reach {int(q.acc_max.max())}, beyond {limits.acc_bits} bits")
    if q.in_max > 2 ** (limits.act_bits - 1) - 1:
        raise CompileError(f"{where}: integer input may reach {q.in_max}, beyond signed {limits.act_bits} bits")
