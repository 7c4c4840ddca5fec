"""Spiking MLP with HLOP lateral subspace neurons on every layer (:func:`hlop_mlp`).

Example::

    >>> model = hlop_mlp(64, hidden=(128,), num_classes=10)
    >>> model(torch.rand(4, 2, 64)).shape          # [T, B, F] -> [T, B, classes]
    torch.Size([4, 2, 10])
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..continual.hlop import HebbianSubspace
from ..neurons import LIF

__all__ = ["HLOPLayers", "HLOPMLP", "hlop_mlp"]


class HLOPLayers(nn.Module):
    """What :func:`~neurokit.continual.train_tasks` needs of an HLOP model: ``self.subspaces`` (one
    :class:`~neurokit.continual.HebbianSubspace` per synaptic layer), ``self._activity`` (the presynaptic activity
    ``[S, N]`` per layer, kept by the forward while ``self.recording``), ``self.subspace_first/next`` (sizes per layer)
    and :meth:`synapse_weights` (the weights the subspaces protect, in layer order).

    Example::

        >>> m = hlop_mlp(8, (16,), 3, (4, 4), (2, 2)); m.add_subspaces(0); [s.size for s in m.subspaces]
        [4, 4]
    """

    def hebbian_update(self) -> None:
        """Update every layer's trainable subspace neurons from the activity of the last recorded forward."""
        if len(self._activity) != len(self.subspaces):
            raise RuntimeError("hebbian_update needs a forward pass with model.recording = True first")
        for sub, activity in zip(self.subspaces, self._activity):
            sub.hebbian_update(activity)

    def add_subspaces(self, task_index: int, generator: torch.Generator | None = None) -> None:
        """Add the subspace neurons for task ``task_index`` (``subspace_first`` for 0, else ``subspace_next``)."""
        sizes = self.subspace_first if task_index == 0 else self.subspace_next
        for sub, k in zip(self.subspaces, sizes):
            sub.add_subspace(k, generator)

    def merge_subspaces(self) -> None:
        """Freeze all subspace neurons into the old-task subspace (after a task)."""
        for sub in self.subspaces:
            sub.merge()

    def hlop_pairs(self) -> list:
        """``(weight, subspace)`` per synaptic layer, for :func:`~neurokit.continual.projected_step` (a conv weight
        ``[C_out, C_in, k, k]`` is projected as ``[C_out, C_in*k*k]``, the layout of its unfolded input patches)."""
        return list(zip(self.synapse_weights(), self.subspaces))


class HLOPMLP(HLOPLayers):
    """Bias-free spiking MLP (``nn.Linear`` + LIF per hidden layer, linear readout) whose linear layers each own a
    :class:`~neurokit.continual.HebbianSubspace` over their presynaptic activity.

    Args:
        sizes: ``(in_features, *hidden, num_classes)``.
        subspace_first / subspace_next: subspace neurons added per layer for the first task / each later task
            (one int per linear layer).
        tau, v_threshold, surrogate: LIF parameters. hebbian_lr: rate of every :class:`HebbianSubspace`.

    While ``self.recording`` is True the forward pass keeps each layer's presynaptic activity (detached) for
    :meth:`hebbian_update`. Shapes: ``x [T, B, in_features]`` -> ``[T, B, num_classes]``.

    Parameters: the linear weights only. ``hlop_mlp(784, (800, 800), 10)`` has 1,275,200, the synapses of HLOP's
    PMNIST network (``models/spiking_mlp_hlop.py`` of ``pkuxmq/HLOP-SNN``, bias-free). The subspace neurons are
    buffers: HLOP's code holds them (and a momentum copy) as ``nn.Parameter`` that only its Hebbian rule updates.

    Example::

        >>> m = HLOPMLP((8, 16, 3), (4, 4), (2, 2)); m.add_subspaces(0); [s.size for s in m.subspaces]
        [4, 4]
    """

    def __init__(self, sizes: Sequence[int], subspace_first: Sequence[int], subspace_next: Sequence[int],
                 tau: float = 2.0, v_threshold: float = 1.0, surrogate: str = "atan", hebbian_lr: float = 0.05):
        super().__init__()
        sizes = tuple(sizes)
        if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
            raise ValueError(f"sizes={sizes!r}: expected (in_features, *hidden, num_classes) positive ints")
        n_layers = len(sizes) - 1
        for name, value in (("subspace_first", subspace_first), ("subspace_next", subspace_next)):
            if len(tuple(value)) != n_layers:
                raise ValueError(f"{name}={tuple(value)!r}: expected one size per linear layer ({n_layers})")
        self.subspace_first, self.subspace_next = tuple(subspace_first), tuple(subspace_next)
        self.linears = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(sizes[:-1], sizes[1:]))
        self.neurons = nn.ModuleList(LIF(tau=tau, v_threshold=v_threshold, surrogate=surrogate)
                                     for _ in sizes[1:-1])
        self.subspaces = nn.ModuleList(HebbianSubspace(n, lr=hebbian_lr) for n in sizes[:-1])
        self.recording = False
        self._activity: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._activity = []
        for i, linear in enumerate(self.linears):
            if self.recording:
                self._activity.append(x.detach().reshape(-1, x.shape[-1]))
            x = linear(x)
            if i < len(self.neurons):
                x = self.neurons[i](x)
        return x

    def synapse_weights(self) -> list:
        """The linear layers' weights ``[out, in]``."""
        return [linear.weight for linear in self.linears]

def hlop_mlp(in_features: int = 64, hidden: Sequence[int] = (128,), num_classes: int = 10,
             subspace_first: Sequence[int] | None = None, subspace_next: Sequence[int] | None = None,
             tau: float = 2.0, v_threshold: float = 1.0, surrogate: str = "atan", hebbian_lr: float = 0.05
             ) -> HLOPMLP:
    """Build an :class:`HLOPMLP`. Default subspace sizes per layer: a quarter of the presynaptic size for the first
    task and an eighth for each later one (HLOP's PMNIST code uses [80, 200, 100] then [70, 70, 70]).

    Shapes: ``x [T, B, in_features]`` -> ``[T, B, num_classes]``.

    Example::

        >>> hlop_mlp(64, (32,), 10).subspace_first
        (16, 8)
    """
    sizes = (in_features, *tuple(hidden), num_classes)
    first = tuple(max(1, n // 4) for n in sizes[:-1]) if subspace_first is None else tuple(subspace_first)
    nxt = tuple(max(1, n // 8) for n in sizes[:-1]) if subspace_next is None else tuple(subspace_next)
    return HLOPMLP(sizes, first, nxt, tau=tau, v_threshold=v_threshold, surrogate=surrogate, hebbian_lr=hebbian_lr)
