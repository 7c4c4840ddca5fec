"""hw_targets: the targets the compiler lowers to (``gpu``, ``onnx_int``, ``loihi2``, ``nir``), their registry
and the energy models. Dependencies point one way: ``hw_targets`` -> ``compile`` -> ``neurokit``.

Public entry points: :func:`compile_model` (``nk.compile``: a target name -> the registered target object ->
:func:`compile.compiled.compile_model`) and :func:`load` (a saved integer ONNX model).

Example::

    from hw_targets import compile_model, load
    cm = compile_model(model, "onnx_int", example_input=x)      # == nk.compile(model, target="onnx_int", ...)
    cm.save("model.onnx"); load("model.onnx").run(x)
"""
from compile.compiled import CompiledModel
from compile.compiled import compile_model as _compile_with_target
from hw_targets.onnx_int import load
from hw_targets.registry import get_target

__all__ = ["compile_model", "load"]


def compile_model(model, target="gpu", example_input=None, **options) -> CompiledModel:
    """Compile ``model`` for ``target``, a registered name (``hw_targets.registry.TARGETS``: gpu, onnx_int, loihi2,
    nir) or a target object, on ``example_input [T, B, ...]``; ``options`` go to the target's ``Options``.
    Returns a :class:`compile.CompiledModel`. Example in the module docstring."""
    tgt = get_target(target) if isinstance(target, str) else target
    return _compile_with_target(model, tgt, example_input, **options)
