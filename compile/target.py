"""The target protocol: what a hardware target declares, and how :func:`compile.compiled.compile_model` drives it.

A target is an object (no state between compile calls) with

* ``name``: str, the registry name;
* ``Options``: a frozen dataclass of its options; its fields are the option names, its ``__post_init__`` checks
  them (``ValueError`` / ``TypeError`` naming the option and the target), an optional ``resolve(example_input)``
  fills defaults that depend on the example input. :func:`parse_options` builds it once per compile call,
  refusing unknown names;
* ``passes``: the ordered tuple of passes, each ``pass_(graph, ctx: PassContext) -> graph``; a plain
  ``Graph -> Graph`` pass is adapted with :func:`graph_pass`;
* ``node_types``: the IR node classes (``compile.ir.NODE_TYPES``) it accepts before its passes, and
  ``refusals``: ``op or neuron kind -> why not`` for what it refuses (``compile.passes.check_supported``);
* ``supports``: its :class:`compile.passes.Limits` (bit widths, delays, resets, sizes; ``ops`` is the ``op`` set
  of ``node_types``);
* ``lower(graph, options) -> artefact`` with ``run(x)``, ``save(path)`` and ``report() -> dict``.

``compile_model`` parses the options, runs ``passes`` in order on the captured graph and calls
``lower(graph, options)``. An object with only ``prepare(graph, example_input, **options)`` and ``lower(graph)``
is accepted too (:func:`as_target` wraps it), so a quick experiment needs no dataclass.

Example::

    @dataclass(frozen=True)
    class EchoOptions:
        scale: float = 1.0

    class Echo:
        name, Options, node_types, refusals = "echo", EchoOptions, frozenset(ir.NODE_TYPES), {}
        supports = Limits(integer=False, max_delay=None)
        passes = (graph_pass(round_delays),)
        def lower(self, graph, options): ...
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from compile import ir


@dataclass(frozen=True)
class PassContext:
    """What a pass may read besides the graph: the example input ``[T, B, ...]`` and the parsed options."""

    example_input: torch.Tensor
    options: Any


Pass = Callable[[ir.Graph, PassContext], ir.Graph]


class Target(Protocol):
    """Structural type of a target (module docstring)."""

    name: str
    Options: type
    passes: tuple[Pass, ...]
    node_types: frozenset
    refusals: dict[str, str]

    def lower(self, graph: ir.Graph, options: Any) -> Any: ...


def graph_pass(fn: Callable[[ir.Graph], ir.Graph]) -> Pass:
    """Adapt a ``Graph -> Graph`` pass to the ``(graph, ctx)`` form. Example: ``graph_pass(fold_bn)``."""

    @functools.wraps(fn)
    def run(graph: ir.Graph, ctx: PassContext) -> ir.Graph:
        del ctx
        return fn(graph)

    return run


def ops_of(node_types) -> frozenset[str]:
    """The ``op`` strings of IR node classes (``Limits.ops``). Example: ``ops_of({ir.Dense}) == {"dense"}``."""
    return frozenset(t.op for t in node_types)


def parse_options(target: Target, options: dict, example_input: torch.Tensor | None = None) -> Any:
    """``target.Options(**options)``, once; ``ValueError`` naming unknown options and the target's options. If the
    options define ``resolve(example_input)`` (defaults that depend on the example, e.g. ``onnx_int``'s ``steps``
    = T) and an example is given, its result is returned.

    Example: ``parse_options(get_target("onnx_int"), {"weight_bits": 4}).weight_bits == 4``.
    """
    names = [f.name for f in dataclasses.fields(target.Options) if f.init]
    unknown = sorted(set(options) - set(names))
    if unknown and not names:
        raise ValueError(f"target {target.name!r} takes no options, got {unknown}")
    if unknown:
        raise ValueError(f"target {target.name!r}: unknown option(s) {unknown}; its options: {', '.join(names)}")
    opts = target.Options(**options)
    resolve = getattr(opts, "resolve", None)
    return resolve(example_input) if callable(resolve) and example_input is not None else opts


def run_passes(target: Target, graph: ir.Graph, ctx: PassContext) -> ir.Graph:
    """Run ``target.passes`` in order (each returns a new graph). Example: ``run_passes(tgt, g, ctx)``."""
    for pass_ in target.passes:
        graph = pass_(graph, ctx)
    return graph


@dataclass(frozen=True)
class PrepareOptions:
    """Options of a ``prepare``/``lower`` target: every keyword, handed to its ``prepare`` as given."""

    values: dict


class PrepareLowerTarget:
    """A target given as ``prepare(graph, example_input, **options) -> graph`` + ``lower(graph)`` (module docstring),
    seen through the protocol: one pass (its ``prepare``), options passed through, every node type accepted."""

    node_types = frozenset(ir.NODE_TYPES)
    refusals: dict[str, str] = {}
    Options = PrepareOptions

    def __init__(self, obj: Any):
        self.obj, self.name = obj, getattr(obj, "name", type(obj).__name__)
        self.supports = getattr(obj, "supports", None)
        self.passes = (self._prepare,)

    def _prepare(self, graph: ir.Graph, ctx: PassContext) -> ir.Graph:
        return self.obj.prepare(graph, ctx.example_input, **ctx.options.values)

    def lower(self, graph: ir.Graph, options: PrepareOptions) -> Any:
        del options  # already given to prepare
        return self.obj.lower(graph)


def as_target(obj: Any) -> Target:
    """``obj`` if it follows the protocol (has ``passes`` and ``Options``), else a :class:`PrepareLowerTarget`;
    ``TypeError`` if it is neither."""
    if hasattr(obj, "passes") and hasattr(obj, "Options"):
        return obj
    if callable(getattr(obj, "prepare", None)) and callable(getattr(obj, "lower", None)):
        return PrepareLowerTarget(obj)
    raise TypeError(f"{type(obj).__name__} is not a target: it needs passes, Options and lower(graph, options) "
                    "(or prepare(graph, example_input, **options) and lower(graph))")


def parse_any(target: Target, options: dict, example_input: torch.Tensor) -> Any:
    """Options for any target: pass-through for a :class:`PrepareLowerTarget`, else :func:`parse_options`."""
    if isinstance(target, PrepareLowerTarget):
        return PrepareOptions(dict(options))
    return parse_options(target, options, example_input)
