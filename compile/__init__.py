"""compile: capture a neurokit model into a typed IR, run passes, lower to a hardware target.

Public API: ``compile_model`` (re-exported as ``nk.compile``), ``CompiledModel``, ``CompileError``, ``load``.
Submodules: ``ir``, ``capture``, ``passes``, ``integer_sim``, ``compiled``, ``dispatch``, ``target``. The integer
arithmetic itself lives in :mod:`neurokit.integer` (``compile.integer_neuron`` re-exports the neuron).
Heavy imports are lazy so that ``neurokit`` can import :class:`CompileError` without an import cycle.

Example::

    from compile import compile_model
    cm = compile_model(model, target="onnx_int", example_input=x)
"""
from compile.ir import CompileError

__all__ = ["CompileError", "CompiledModel", "compile_model", "load"]


def __getattr__(name):
    if name in ("compile_model", "CompiledModel"):
        from compile import compiled

        return getattr(compiled, name)
    if name == "load":
        from hw_targets.onnx_int import load

        return load
    raise AttributeError(f"module 'compile' has no attribute {name!r}")
