"""The dead-neuron check of :func:`neurokit.train`: a neuron layer that emits no spike during a whole epoch is
reported once, by name, as a ``RuntimeWarning``.

Example::

    >>> monitor = DeadLayerMonitor()
    >>> with SpikeRecorder(model) as rec:
    ...     model(x)
    >>> monitor.add(rec)
    >>> monitor.end_epoch(0, ctx)          # warns about every layer of ``model`` that stayed silent
"""
from __future__ import annotations

import warnings
from typing import Optional

import torch

from .distributed import DistContext, all_reduce_sum
from .metrics import SpikeRecorder

__all__ = ["DeadLayerMonitor", "warn_dead_layers"]


def warn_dead_layers(names, layer_counts: torch.Tensor, epoch: int, warned: set) -> list:
    """Warn (``RuntimeWarning``, once per layer name in ``warned``) about every neuron layer that ran but emitted no
    spike during ``epoch`` (0-based); ``layer_counts [L, 2]`` is ``(spikes, neuron-steps)`` per layer as in
    :class:`SpikeRecorder`. Returns the names warned about now.

    A layer that never spikes passes no signal on, and its surrogate gradient is (almost) zero wherever the membrane
    is far below threshold, so the layers before it stop learning: the "dead neuron problem".

    Example::

        >>> warn_dead_layers(["1", "3"], torch.tensor([[0., 640.], [12., 80.]]), epoch=0, warned=set())
        ['1']
    """
    dead = []
    for name, (spikes, steps) in zip(names, layer_counts.tolist()):
        if steps > 0 and spikes == 0 and name not in warned:
            warned.add(name)
            dead.append(name)
            warnings.warn(f"nk.train: neuron layer {name!r} emitted no spike during epoch {epoch + 1} "
                          f"({int(steps)} neuron-steps): a dead layer passes nothing on and its surrogate gradient "
                          "vanishes, so the layers before it stop learning. Raise the input scale or lower "
                          "v_threshold, add BatchNorm after conv/linear layers, or use a wider surrogate",
                          RuntimeWarning, stacklevel=4)
    return dead


class DeadLayerMonitor:
    """Sums :class:`SpikeRecorder` per-layer counts over an epoch (all ranks) and warns once per dead layer."""

    def __init__(self):
        self.warned: set = set()
        self._names: list = []
        self._counts: Optional[torch.Tensor] = None

    def add(self, rec: SpikeRecorder) -> None:
        """Add one step's per-layer counts."""
        self._names = rec.names
        self._counts = rec.layer_counts.clone() if self._counts is None else self._counts + rec.layer_counts

    def end_epoch(self, epoch: int, ctx: DistContext) -> list:
        """Reduce the epoch's counts over processes, warn on rank 0, reset; returns the names warned about now."""
        counts, self._counts = self._counts, None
        if counts is None:
            return []
        counts = all_reduce_sum(counts.to(ctx.device), ctx).cpu()
        return warn_dead_layers(self._names, counts, epoch, self.warned) if ctx.is_main else []
