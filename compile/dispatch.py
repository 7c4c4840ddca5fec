"""Dispatch on IR node type: every interpreter of the IR has one rule table.

An interpreter (the integer simulator, the quantize pass, a target's lowering, the report, energy counting...) is
a :class:`Rules`: ``rules`` maps IR node classes (:data:`compile.ir.NODE_TYPES`) to the function that handles that
node, and ``refusals`` maps every node class it does not handle to the reason why. Lookup is by exact class, so a
new node class (even a subclass of an existing one) has no rule anywhere until one is written;
:meth:`Rules.missing` lists the classes with neither a rule nor a refusal, and a test walks every interpreter
(``hw_targets.interpreters.INTERPRETERS``) over every node class.

Example::

    rules = Rules("echo", {ir.Input: lambda n: n.shape}, refusals={ir.Dense: "echo has no weights"})
    rules.rule(g.input)(g.input)          # the input's shape
    rules.rule(g.node("fc"))              # CompileError: echo: node 'fc' (dense): echo has no weights
    rules.missing()                       # every other node class (Conv, BatchNorm, ...)
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from compile import ir
from neurokit.errors import CompileError


@dataclass(frozen=True)
class Rules:
    """One interpreter's rule table.

    name: what runs the rules (``"integer_sim"``, ``"onnx_int lowering"``), used in error messages;
    rules: node class -> handler (the interpreter decides the handler's signature);
    refusals: node class -> why this interpreter has no rule for it (shown to the user).
    ``ValueError`` if a class has both a rule and a refusal or is not an ``ir.Node`` subclass.
    """

    name: str
    rules: Mapping[type, Callable]
    refusals: Mapping[type, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in (*self.rules, *self.refusals):
            if not (isinstance(key, type) and issubclass(key, ir.Node)):
                raise ValueError(f"Rules {self.name!r}: key {key!r} is not an IR node class")
        both = sorted(t.__name__ for t in set(self.rules) & set(self.refusals))
        if both:
            raise ValueError(f"Rules {self.name!r}: {both} have both a rule and a refusal")
        empty = sorted(t.__name__ for t, why in self.refusals.items() if not (isinstance(why, str) and why.strip()))
        if empty:
            raise ValueError(f"Rules {self.name!r}: refusals for {empty} give no reason")

    def rule(self, node: ir.Node) -> Callable:
        """The handler for ``node``'s class; :class:`CompileError` naming the node and the reason if refused."""
        fn = self.rules.get(type(node))
        if fn is not None:
            return fn
        why = self.refusals.get(type(node), f"no rule for IR node type {type(node).__name__}")
        raise CompileError(f"{self.name}: node {node.name!r} ({node.op}): {why}")

    def refusal(self, node_type: type) -> str | None:
        """The stated reason this interpreter refuses ``node_type`` (None if it has a rule or no reason)."""
        return self.refusals.get(node_type)

    @property
    def node_types(self) -> frozenset[type]:
        """The node classes this interpreter has a rule for."""
        return frozenset(self.rules)

    def missing(self, node_types: Iterable[type] | None = None) -> list[type]:
        """Classes of ``node_types`` (default: :data:`compile.ir.NODE_TYPES`, read at call time) with neither a rule
        nor a stated refusal (empty when complete)."""
        types = ir.NODE_TYPES if node_types is None else node_types
        return [t for t in types if t not in self.rules and t not in self.refusals]
