"""Pieces shared by the model builders: neuron construction by name and input checks.

Example:
    >>> make = neuron_factory("lif", tau=2.0, detach_reset=True)
    >>> make(v_threshold=0.5).v_threshold
    0.5
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..neurons import IF, LIF, PLIF

NEURON_TYPES = {"lif": LIF, "if": IF, "plif": PLIF}
_TIME_CONSTANT_ARG = {"lif": "tau", "plif": "init_tau", "if": None}


def neuron_factory(neuron: str, tau: float = 2.0, **defaults) -> Callable[..., nn.Module]:
    """A callable that builds a neuron of type ``neuron`` (``"lif" | "if" | "plif"``) with ``defaults``.

    ``tau`` becomes ``tau`` for LIF, ``init_tau`` for PLIF and is ignored for IF. Keyword arguments given to the
    returned callable override the defaults (e.g. ``make(v_threshold=0.5)``). Neurons map ``[T, B, ...]`` to spikes
    of the same shape.

    Example:
        >>> neuron_factory("if")().__class__.__name__
        'IF'
    """
    key = str(neuron).lower()
    if key not in NEURON_TYPES:
        raise ValueError(f"neuron must be one of {sorted(NEURON_TYPES)}, got {neuron!r}")
    cls, tau_arg = NEURON_TYPES[key], _TIME_CONSTANT_ARG[key]
    base = dict(defaults)
    if tau_arg is not None:
        base[tau_arg] = tau

    def make(**overrides) -> nn.Module:
        return cls(**{**base, **overrides})

    return make


def static_to_time_major(x: torch.Tensor, T: int, name: str, static_rank: int) -> torch.Tensor:
    """Repeat a static input ``[B, ...]`` (rank ``static_rank``) ``T`` times; pass ``[T, B, ...]`` through.

    Example:
        >>> static_to_time_major(torch.zeros(2, 3, 8, 8), 4, "x", 4).shape
        torch.Size([4, 2, 3, 8, 8])
    """
    if x.dim() == static_rank:
        return x.unsqueeze(0).expand(T, *x.shape)
    if x.dim() == static_rank + 1:
        return x
    raise ValueError(f"{name}: expected a static input of rank {static_rank} or a time-major input of rank "
                     f"{static_rank + 1} ([T, B, ...]), got shape {tuple(x.shape)}")
