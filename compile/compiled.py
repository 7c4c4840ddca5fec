"""``compile_model`` and :class:`CompiledModel` (run / save / report), plus atomic file writing.

Example::

    cm = compile_model(model, get_target("onnx_int"), example_input=x)   # x [T, B, ...]; a target object
    # (by name: nk.compile(model, target="onnx_int", ...), which looks the name up in hw_targets.registry)
    y = cm.run(x)            # target outputs, [T, B, ...]
    cm.save("model.onnx")    # the target's artefact, written atomically
    cm.report()["layers"]    # ops / parameters / weight bytes per layer
"""
from __future__ import annotations

import os

import numpy as np
import torch

from compile import ir
from compile.dispatch import Rules
from neurokit.atomic import atomic_write  # noqa: F401  (re-exported for the targets)
from compile.capture import capture
from compile.target import PassContext, as_target, parse_any, run_passes


def _elements(n: ir.Node, shapes: dict) -> int:
    del shapes
    return int(np.prod(n.shape))


def _movement(n: ir.Node, shapes: dict) -> int:
    del n, shapes
    return 0


def _per_input_element(n: ir.Node, shapes: dict) -> int:
    return int(max(np.prod(shapes[i]) for i in n.inputs))


#: Operations per time step and sample of each IR node type: synaptic MACs/accumulates for synapses and activation
#: products, one update per element for neurons, integrators, pools, adds and batch norms, one product or sum term
#: per input element for masks and means; 0 for data movement (input, flatten, reshape, permute).
OPS_RULES = Rules("report", {
    ir.Dense: lambda n, _shapes: int(n.weight.size * np.prod(n.shape[:-1], dtype=np.int64)),
    ir.Conv: lambda n, _shapes: int(np.prod(n.shape) * n.weight[0].size),
    ir.MatMul: lambda n, shapes: int(np.prod(n.shape) * shapes[n.inputs[0]][-1]),  # K products per output
    ir.Mask: _per_input_element,
    ir.Mean: _per_input_element,
    ir.Recurrent: lambda n, _shapes: int(n.weight.size + np.prod(n.shape)),  # V s per step + the neuron update
    **{t: _elements for t in (ir.Neuron, ir.Integrator, ir.Pool, ir.Add, ir.BatchNorm, ir.SigmaDelta, ir.Sigma)},
    **{t: _movement for t in (ir.Input, ir.Flatten, ir.Reshape, ir.Permute)},
})


def report_graph(graph: ir.Graph) -> dict:
    """Per-layer ops, parameters and weight bytes by bit width of ``graph`` (float: 32-bit weights).

    Returns ``{"layers": [{name, op, shape, ops, params, weight_bits}], "params", "weight_bytes_by_bits",
    "ops_per_step", "warnings"}``. Example: ``report_graph(g)["params"]``.
    """
    layers, by_bits = [], {}
    shapes = {n.name: n.shape for n in graph}
    for n in graph:
        params, bits = 0, None
        if n.op in ir.SYNAPSES:
            params = n.weight.size + (0 if n.bias is None else n.bias.size)
            bits = n.quant.bits if n.quant is not None else 32
            wbytes = n.weight.size * bits / 8 + (0 if n.bias is None else n.bias.size * 4)
            by_bits[bits] = by_bits.get(bits, 0) + wbytes
        layers.append({"name": n.name, "op": n.op, "shape": n.shape, "ops": OPS_RULES.rule(n)(n, shapes),
                       "params": int(params), "weight_bits": bits})
    return {"layers": layers, "params": sum(layer["params"] for layer in layers),
            "ops_per_step": sum(layer["ops"] for layer in layers),
            "weight_bytes_by_bits": {b: float(v) for b, v in sorted(by_bits.items())},
            "warnings": list(graph.warnings)}


def check_run_input(x, shape: tuple, who: str = "run") -> None:
    """``ValueError`` naming ``who`` unless ``x`` is a finite float tensor ``[T >= 1, B >= 1, *shape]``.

    Example: ``check_run_input(torch.rand(8, 2, 16), (16,))`` passes; ``torch.rand(0, 2, 16)`` raises (T=0).
    """
    want = f"[T, B, {', '.join(map(str, shape))}]"
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{who}: x must be a float torch.Tensor of shape {want}, got {type(x).__name__}")
    if x.dim() != len(shape) + 2 or tuple(x.shape[2:]) != tuple(shape):
        raise ValueError(f"{who}: x must be a float tensor of shape {want}, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{who}: x must be a float tensor of shape {want}, got dtype {x.dtype}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{who}: x of shape {tuple(x.shape)} has T={x.shape[0]} steps and B={x.shape[1]} samples; "
                         "expected T >= 1 and B >= 1")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{who}: x contains NaN or Inf values (shape {tuple(x.shape)}); expected finite inputs")


class CompiledModel:
    """A model lowered to one target: ``graph`` (the final IR), ``target`` (its name), ``artefact``."""

    def __init__(self, graph: ir.Graph, target: str, artefact):
        self.graph, self.target, self.artefact = graph, target, artefact

    def run(self, x: torch.Tensor) -> torch.Tensor:
        """Run the lowered model on ``x [T, B, *input_shape]`` (float); returns ``[T, B, ...]``.

        Integer targets return integer tensors (spikes, or a readout accumulator whose real unit is
        ``graph.scales[graph.output]``). Example: ``cm.run(torch.rand(8, 2, 16))``.
        """
        check_run_input(x, self.graph.input.shape, f"run ({self.target})")
        return self.artefact.run(x)

    def save(self, path: str | os.PathLike) -> None:
        """Write the target's artefact to ``path`` (atomically; missing folders are created). ``ValueError`` naming
        ``path`` when it is a folder or lies under a file. Example: ``cm.save("net.onnx")``."""
        path = os.fspath(path)
        if os.path.isdir(path):
            raise ValueError(f"save: path {path!r} is a folder; expected a file name (e.g. {path!r}/model.onnx)")
        parent = os.path.dirname(os.path.abspath(path))
        while parent and not os.path.exists(parent):
            parent = os.path.dirname(parent) if os.path.dirname(parent) != parent else ""
        if parent and not os.path.isdir(parent):
            raise ValueError(f"save: cannot write {path!r}: {parent!r} is a file, not a folder")
        self.artefact.save(path)

    def report(self) -> dict:
        """Dict: target, per-layer ops / params / bit widths, weight bytes by bit width, warnings, extras."""
        rep = {"target": self.target, **report_graph(self.graph)}
        rep.update(self.artefact.report())
        return rep


def compile_model(model: torch.nn.Module, target, example_input: torch.Tensor | None = None,
                  **options) -> CompiledModel:
    """Capture ``model`` on ``example_input [T, B, ...]``, run the target's passes and lower it.

    ``target``: a target object (protocol: :mod:`compile.target`); the targets and their names live in
    ``hw_targets`` (``nk.compile`` / :func:`hw_targets.compile_model` take a name). ``options`` are parsed once into the
    target's
    ``Options`` dataclass (e.g. ``weight_bits=4`` for integer targets; unknown or bad options: ``ValueError`` /
    ``TypeError`` naming the option and the target). Then ``target.passes`` run in order and
    ``target.lower(graph, options)`` builds the artefact (protocol: :mod:`compile.target`). Raises ``ValueError``
    for an unknown target or a bad example input and ``CompileError`` for what the IR/target cannot express.
    Example in the module docstring.
    """
    if isinstance(target, str):
        raise TypeError(f"compile_model: target must be a target object, got the name {target!r}; compile by name "
                        f"with nk.compile(model, target={target!r}, ...) (hw_targets.compile_model)")
    tgt = as_target(target)
    if example_input is None:
        raise ValueError("compile: example_input [T, B, ...] is required (it fixes shapes and input scale)")
    graph = capture(model, example_input)
    opts = parse_any(tgt, options, example_input)
    graph = run_passes(tgt, graph, PassContext(example_input, opts))
    return CompiledModel(graph, tgt.name, tgt.lower(graph, opts))
