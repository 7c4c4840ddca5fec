"""Spiking CNN with HLOP subspace neurons on its convolutions (:func:`hlop_cnn`), HLOP's convolutional setting.

HLOP on a convolution (Xiao et al., ICLR 2024, arXiv 2402.11984, section 4 / appendix: the conv layer is the linear
map ``W [C_out, C_in*k*k]`` applied to every unfolded input patch): the layer's
:class:`~neurokit.continual.HebbianSubspace` spans ``N = C_in*k*k`` and learns from the unfolded patches of its
input (``torch.nn.functional.unfold``: every position of every sample and step is one presynaptic vector), and the
weight update, reshaped to ``[C_out, C_in*k*k]``, is projected off the frozen subspace. A protected conv therefore
keeps its response to every patch of earlier tasks' activity, at every position.

Layout: per stage ``Conv3x3 (bias-free, zero padding 1) -> LIF -> AvgPool2d(2)``, then a bias-free linear readout
(its own subspace over the flattened spikes).

Example::

    >>> model = hlop_cnn(1, 8, channels=(8, 16), num_classes=10)
    >>> model(torch.rand(4, 2, 64)).shape                # [T, B, C*H*W] (flattened images, as tasks hold them)
    torch.Size([4, 2, 10])
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..continual.hlop import HebbianSubspace
from ..layers.time_major import AvgPool2d, Conv2d, Flatten
from ..neurons import LIF
from .hlop import HLOPLayers

__all__ = ["HLOPCNN", "hlop_cnn", "unfold_patches"]


def unfold_patches(x: torch.Tensor, kernel_size: int, padding: int) -> torch.Tensor:
    """Presynaptic vectors of a ``kernel_size`` conv: ``x [..., C, H, W]`` -> ``[S, C*k*k]``, one row per patch
    position of every leading index (the row layout matches ``weight.reshape(C_out, -1)``).

    Example::

        >>> unfold_patches(torch.rand(2, 3, 1, 8, 8), 3, 1).shape         # 2*3 images x 64 positions
        torch.Size([384, 9])
    """
    images = x.reshape(-1, *x.shape[-3:])
    cols = F.unfold(images, kernel_size, padding=padding)               # [n, C*k*k, L]
    return cols.transpose(1, 2).reshape(-1, cols.shape[1])


class HLOPCNN(HLOPLayers):
    """Bias-free spiking CNN whose convolutions and readout each own a :class:`~neurokit.continual.HebbianSubspace`
    (module docstring).

    Args:
        in_channels, image_size: input images (``image_size`` divisible by ``2 ** len(channels)``).
        channels: output channels per conv stage. num_classes: readout width.
        subspace_first / subspace_next: subspace neurons per synaptic layer (each conv, then the readout) for the
            first task / each later task.
        tau, v_threshold, surrogate: LIF parameters. hebbian_lr: rate of every subspace.

    Shapes: ``x [T, B, in_channels*image_size**2]`` (flattened, as :mod:`neurokit.continual.tasks` holds digits) or
    ``[T, B, in_channels, image_size, image_size]`` -> ``[T, B, num_classes]``.

    Example::

        >>> m = HLOPCNN(1, 8, (4,), 3, (3, 8), (1, 2)); [s.in_features for s in m.subspaces]
        [9, 64]
    """

    kernel_size, padding = 3, 1

    def __init__(self, in_channels: int, image_size: int, channels: Sequence[int], num_classes: int,
                 subspace_first: Sequence[int], subspace_next: Sequence[int], tau: float = 2.0,
                 v_threshold: float = 1.0, surrogate: str = "atan", hebbian_lr: float = 0.05):
        super().__init__()
        channels = tuple(channels)
        sizes = (in_channels, image_size, num_classes, *channels)
        if not channels or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
            raise ValueError(f"in_channels={in_channels!r}, image_size={image_size!r}, channels={channels!r}, "
                             f"num_classes={num_classes!r}: expected positive ints and at least one conv stage")
        if image_size % 2 ** len(channels):
            raise ValueError(f"image_size={image_size} must be divisible by 2**{len(channels)} (one 2x2 pool per "
                             f"stage)")
        n_layers = len(channels) + 1
        for name, value in (("subspace_first", subspace_first), ("subspace_next", subspace_next)):
            if len(tuple(value)) != n_layers:
                raise ValueError(f"{name}={tuple(value)!r}: expected one size per synaptic layer ({n_layers}: "
                                 f"{len(channels)} convs and the readout)")
        self.subspace_first, self.subspace_next = tuple(subspace_first), tuple(subspace_next)
        k = self.kernel_size
        c_in = (in_channels, *channels[:-1])
        self.convs = nn.ModuleList(Conv2d(a, b, k, padding=self.padding, bias=False) for a, b in zip(c_in, channels))
        self.neurons = nn.ModuleList(LIF(tau=tau, v_threshold=v_threshold, surrogate=surrogate) for _ in channels)
        self.pools, self.flatten = nn.ModuleList(AvgPool2d(2) for _ in channels), Flatten()
        side = image_size // 2 ** len(channels)
        features = channels[-1] * side * side
        self.readout = nn.Linear(features, num_classes, bias=False)
        self.subspaces = nn.ModuleList([*(HebbianSubspace(a * k * k, lr=hebbian_lr) for a in c_in),
                                        HebbianSubspace(features, lr=hebbian_lr)])
        self.image_shape = (in_channels, image_size, image_size)
        self.recording = False
        self._activity: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = self.image_shape[0] * self.image_shape[1] * self.image_shape[2]
        if x.dim() == 3 and x.shape[-1] == flat:
            x = x.reshape(*x.shape[:2], *self.image_shape)
        elif x.dim() != 5 or tuple(x.shape[2:]) != self.image_shape:
            shape = ", ".join(map(str, self.image_shape))
            raise ValueError(f"HLOPCNN input x: expected [T, B, {flat}] or [T, B, {shape}], got {tuple(x.shape)}")
        self._activity = []
        for conv, neuron, pool in zip(self.convs, self.neurons, self.pools):
            if self.recording:
                self._activity.append(unfold_patches(x.detach(), self.kernel_size, self.padding))
            x = pool(neuron(conv(x)))
        x = self.flatten(x)
        if self.recording:
            self._activity.append(x.detach().reshape(-1, x.shape[-1]))
        return self.readout(x)

    def synapse_weights(self) -> list:
        """The conv weights ``[C_out, C_in, 3, 3]`` and the readout weight ``[classes, features]``."""
        return [conv.weight for conv in self.convs] + [self.readout.weight]


def hlop_cnn(in_channels: int = 1, image_size: int = 8, channels: Sequence[int] = (8, 16), num_classes: int = 10,
             subspace_first: Sequence[int] | None = None, subspace_next: Sequence[int] | None = None,
             tau: float = 2.0, v_threshold: float = 1.0, surrogate: str = "atan", hebbian_lr: float = 0.05
             ) -> HLOPCNN:
    """Build an :class:`HLOPCNN`. Default subspace sizes per synaptic layer: half of the presynaptic size
    (``C_in*9`` for a conv) for the first task and an eighth for each later one.

    Shapes: ``x [T, B, in_channels*image_size**2]`` or ``[T, B, in_channels, image_size, image_size]`` ->
    ``[T, B, num_classes]``.

    Example::

        >>> hlop_cnn(1, 8, (8, 16), 10).subspace_first
        (4, 36, 32)
    """
    k2 = HLOPCNN.kernel_size ** 2
    side = image_size // 2 ** len(tuple(channels)) if isinstance(image_size, int) else 0
    n_in = (*(c * k2 for c in (in_channels, *tuple(channels)[:-1])), tuple(channels)[-1] * side * side) \
        if channels else ()
    first = tuple(max(1, n // 2) for n in n_in) if subspace_first is None else tuple(subspace_first)
    nxt = tuple(max(1, n // 8) for n in n_in) if subspace_next is None else tuple(subspace_next)
    return HLOPCNN(in_channels, image_size, channels, num_classes, first, nxt, tau=tau, v_threshold=v_threshold,
                   surrogate=surrogate, hebbian_lr=hebbian_lr)
