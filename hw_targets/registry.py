"""Target registry: a target name -> a target object (what it declares, how it lowers the IR).

A target follows the protocol of :mod:`compile.target`:

* ``name``: str;
* ``Options``: a frozen dataclass of its options (checked in ``__post_init__``, an error naming the option and the
  target), parsed once per compile call; unknown names are refused;
* ``passes``: the ordered tuple of passes ``pass_(graph, ctx) -> graph`` (fold, round, quantize ..., ending with
  :func:`compile.passes.check_limits`), run by ``compile_model``;
* ``node_types``: the IR node classes it accepts, ``refusals``: ``op or neuron kind -> reason`` for the rest, and
  ``supports``: :class:`compile.passes.Limits` (bit widths, delays, resets; ``ops`` from ``node_types``);
* ``lower(graph, options) -> artefact``: the artefact has ``run(x) -> torch.Tensor``, ``save(path)`` and
  ``report() -> dict`` (target-specific extras).

A target keeps no state between compile calls (everything a lowering needs is in ``options``). An object with only
``prepare(graph, example_input, **options)`` and ``lower(graph)`` is accepted as well
(:func:`compile.target.as_target`).

Adding a target = one module defining it + one entry in ``TARGETS`` (``name -> "module:attribute"``, imported
lazily on first use) or a call to :func:`register`; its lowering's rule table (:class:`compile.dispatch.Rules`)
goes into ``hw_targets.interpreters.INTERPRETERS``. Example::

    register("mytarget", MyTarget())          # or TARGETS["mytarget"] = "hw_targets.mytarget:MyTarget"
    get_target("onnx_int").supports.weight_bits     # 8
    get_target("onnx_int").Options(weight_bits=4)   # OnnxIntOptions(weight_bits=4, per_channel=True, ...)
"""
from __future__ import annotations

import importlib

TARGETS: dict[str, object] = {
    "gpu": "hw_targets.gpu:GPUTarget",
    "onnx_int": "hw_targets.onnx_int:OnnxIntTarget",
    "loihi2": "hw_targets.loihi2:Loihi2Target",
    "nir": "hw_targets.nir.export:NIRTarget",
}


def register(name: str, target: object) -> None:
    """Register ``target`` (an object, a class, or a ``"module:attribute"`` string) under ``name``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"target name must be a non-empty string, got {name!r}")
    TARGETS[name] = target


def get_target(name: str):
    """The target object for ``name``; ``ValueError`` listing the known names if there is none."""
    if not isinstance(name, str) or name not in TARGETS:
        raise ValueError(f"unknown target {name!r}; known targets: {sorted(TARGETS)}")
    entry = TARGETS[name]
    if isinstance(entry, str):
        mod, _, attr = entry.partition(":")
        try:
            entry = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"target {name!r} is registered as {TARGETS[name]!r} but cannot be loaded: {err}") \
                from err
    return entry() if isinstance(entry, type) else entry
