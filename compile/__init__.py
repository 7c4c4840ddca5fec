"""compile: capture a neurokit model into a typed IR, run passes, lower to a hardware target.

Public API: ``compile_model`` (model + a target object; ``nk.compile`` takes a target name and looks it up in
``hw_targets.registry``), ``CompiledModel``, ``CompileError``. ``compile`` imports nothing from ``hw_targets``.
Submodules: ``ir``, ``capture``, ``passes``, ``integer_sim``, ``compiled``, ``dispatch``, ``target``. The integer
arithmetic itself lives in :mod:`neurokit.integer` (``compile.integer_neuron`` re-exports the neuron).
Heavy imports are lazy so that ``neurokit`` can import :class:`CompileError` without an import cycle.

Example::

    from compile import compile_model
    from hw_targets.registry import get_target
    cm = compile_model(model, get_target("onnx_int"), example_input=x)
"""
from compile.ir import CompileError

__all__ = ["CompileError", "CompiledModel", "compile_model"]


def __getattr__(name):
    if name in ("compile_model", "CompiledModel"):
        from compile import compiled

        return getattr(compiled, name)
    raise AttributeError(f"module 'compile' has no attribute {name!r}")
