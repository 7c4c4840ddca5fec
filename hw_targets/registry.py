"""Target registry: a target name -> a target object (what it supports, how it prepares and lowers the IR).

A target is any object with

* ``name``: str;
* ``supports``: :class:`compile.passes.Limits` (ops, neuron kinds, bit widths, delays, reset modes);
* ``prepare(graph, example_input, **options) -> graph``: the passes it needs (fold, round, quantize ...), ending
  with :func:`compile.passes.check_limits`;
* ``lower(graph, **options) -> artefact``: the artefact has ``run(x) -> torch.Tensor``, ``save(path)`` and
  ``report() -> dict`` (target-specific extras).

Adding a target = one module defining it + one entry in ``TARGETS`` (``name -> "module:attribute"``, imported
lazily on first use) or a call to :func:`register`. Example::

    register("mytarget", MyTarget())          # or TARGETS["mytarget"] = "hw_targets.mytarget:MyTarget"
    get_target("onnx_int").supports.weight_bits     # 8
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
