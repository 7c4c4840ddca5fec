"""Fused neuron time loops: one recurrence for all families, run by a Numba CPU loop or a Triton kernel.

Entry point: :func:`neurokit.kernels.dispatch.run_neuron`; the neuron modules call it for ``backend="auto"`` and
``backend="triton"``. See ``docs/kernels.md``.
"""
from .dispatch import resolve_backend, run_neuron
from .spec import FAMILIES, saved_bytes_per_step

__all__ = ["run_neuron", "resolve_backend", "FAMILIES", "saved_bytes_per_step"]
