"""Concrete tracing: ``torch.fx`` symbolic tracing that carries the example input's values alongside.

Models validate their input in ``forward`` (``if x.dim() != 3 or x.shape[-1] != n: raise ValueError(...)``).
Plain ``torch.fx`` cannot trace that: a Proxy has no truth value. :class:`ConcreteTracer` runs every node it
records on the example input at once, so Python control flow on shapes or values takes the branch the example
takes (the check runs on the example exactly as in eager mode, and raises the model's own error if the example
does not fit). Shape queries (``x.shape``, ``x.dim()``, ``len(x)``) return the example's concrete values; nodes
that only fed control flow (comparisons) are dead afterwards and removed.
Every recorded node keeps the shape of its example value in ``node.meta["nk_shape"]``.

The graph is specialised to the example's control flow; the IR built from it is per step (no ``[T, B]``), so
it holds for any T and B that take the same branches.

Example::

    tracer = ConcreteTracer(lambda m: isinstance(m, nn.Linear), torch.rand(5, 2, 4))   # [T, B, F]
    graph = tracer.trace(model)        # model.forward may test x.dim(), x.shape[-1], ...
    [n.meta["nk_shape"] for n in graph.nodes if n.op == "call_module"]
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Iterator

import torch
from torch import fx, nn

from compile.ir import CompileError


def op_name(n: fx.Node) -> str:
    """The op of an fx node as text (``"add"``, ``"flatten"``, a module path for ``call_module``)."""
    t = n.target
    return t if isinstance(t, str) else getattr(t, "__name__", repr(t))


class _ConcreteProxy(fx.Proxy):
    """A proxy whose shape queries (``.shape``, ``.ndim``, ``.size()``, ``.dim()``, ``len``) return the example's
    concrete values, so ``tuple(x.shape)`` and ``T, B = x.shape[:2]`` work as in eager mode."""

    def __getattr__(self, k):
        value = self.tracer.values.get(self.node)
        if isinstance(value, torch.Tensor) and k in ("shape", "ndim", "size", "dim"):
            return getattr(value, k)
        return super().__getattr__(k)

    def __len__(self) -> int:
        return len(self.tracer.values[self.node])


class ConcreteTracer(fx.Tracer):
    """``fx.Tracer`` with leaves chosen by ``leaf(module)`` and the example value of every node (module docstring).

    Raises ``ValueError`` naming the node when the example does not fit the model, and :class:`CompileError`
    for a second ``forward`` argument (capture takes one input).
    """

    def __init__(self, leaf: Callable[[nn.Module], bool], example: torch.Tensor):
        # No autowrapping of ``math``: fx would swap ``math.*`` for wrappers while tracing, and the leaves really
        # run (on the example values) -- a Numba kernel compiled in that window registers its lowerings against
        # the wrappers and breaks later compilations ("No definition for lowering fabs").
        super().__init__(autowrap_modules=())
        self._leaf, self._example = leaf, example
        self.values: dict[fx.Node, object] = {}
        self._concrete = 0  # > 0 while real code runs on example values (no proxies are made then)

    def trace(self, root, concrete_args=None) -> fx.Graph:
        with torch.no_grad():
            graph = super().trace(root, concrete_args)
        graph.owning_module = root  # the dead-code pass looks modules up to know they are pure
        graph.eliminate_dead_code()
        return graph

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return self._leaf(m) or super().is_leaf_module(m, qualname)

    def call_module(self, m, forward, args, kwargs):
        return forward(*args, **kwargs) if self._concrete else super().call_module(m, forward, args, kwargs)

    def getattr(self, attr, attr_val, parameter_proxy_cache):
        return attr_val if self._concrete else super().getattr(attr, attr_val, parameter_proxy_cache)

    def proxy(self, node: fx.Node) -> fx.Proxy:
        return _ConcreteProxy(node, self)

    def to_bool(self, obj: fx.Proxy) -> bool:
        return bool(self.values[obj.node])

    def iter(self, obj: fx.Proxy) -> Iterator:
        return iter([obj[i] for i in range(len(self.values[obj.node]))])

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None, proxy_factory_fn=None):
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
        value = self._evaluate(proxy.node, args, kwargs)
        self.values[proxy.node] = value
        if isinstance(value, torch.Tensor):
            proxy.node.meta["nk_shape"] = tuple(value.shape)
        return proxy

    def _evaluate(self, node: fx.Node, args, kwargs):
        if node.op == "placeholder":
            if any(n.op == "placeholder" for n in self.values):
                raise CompileError(f"model forward takes more than one input ({node.name!r}); only one is supported")
            return self._example
        args, kwargs = fx.node.map_aggregate(
            (args, kwargs), lambda v: self.values[v.node] if isinstance(v, fx.Proxy) else v)
        self._concrete += 1
        try:
            if node.op == "get_attr":
                return operator.attrgetter(node.target)(self.root)
            if node.op == "call_module":
                return self.root.get_submodule(node.target)(*args, **kwargs)
            if node.op == "call_method":
                return getattr(args[0], node.target)(*args[1:], **kwargs)
            return node.target(*args, **kwargs)
        except CompileError:
            raise
        except Exception as err:  # re-raised with the module path / op
            where = node.target if node.op == "call_module" else f"{node.name} ({op_name(node)})"
            msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f"example_input of shape {tuple(self._example.shape)} does not fit the model at "
                             f"{where!r}: {msg}") from err
        finally:
            self._concrete -= 1
