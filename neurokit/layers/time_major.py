"""Time-major wrappers of the torch layers that need ``[N, C, ...]`` input.

Each wrapper folds time into batch (``[T, B, ...] -> [T*B, ...]``), applies the torch layer, and unfolds again, so
the weights, ``state_dict`` keys and numerics are exactly the wrapped torch layer's. They subclass the torch layer,
so ``isinstance(m, nn.Conv2d)`` holds and the compiler/energy hooks see a standard layer. ``nn.Linear`` needs no
wrapper (it already acts on the last dim of ``[T, B, F]``).

Example::

    >>> conv = nk.layers.Conv2d(2, 8, 3, padding=1)
    >>> conv(torch.rand(4, 3, 2, 16, 16)).shape        # [T, B, C, H, W]
    torch.Size([4, 3, 8, 16, 16])
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["Conv2d", "Conv1d", "BatchNorm1d", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "Flatten", "fold_time"]


def fold_time(module_forward, x: torch.Tensor, min_rank: int, name: str, channels: int | None = None) -> torch.Tensor:
    """Apply ``module_forward`` to ``x [T, B, *rest]`` as ``[T*B, *rest]`` and restore ``[T, B, ...]``.

    ``channels``: the number of channels ``x.shape[2]`` must have (``ValueError`` naming ``name`` otherwise)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: input must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != min_rank:
        raise ValueError(f"{name}: expected a time-major input of rank {min_rank} ([T, B, ...]); "
                         f"got shape {tuple(x.shape)}")
    if channels is not None and x.shape[2] != channels:
        raise ValueError(f"{name}: expected {channels} input channels at dim 2 of [T, B, C, ...], got "
                         f"{x.shape[2]} (input shape {tuple(x.shape)})")
    T, B = x.shape[:2]
    y = module_forward(x.reshape(T * B, *x.shape[2:]))
    return y.reshape(T, B, *y.shape[1:])


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` over ``[T, B, C, H, W]``."""

    def forward(self, x):
        return fold_time(super().forward, x, 5, "Conv2d", self.in_channels)


class Conv1d(nn.Conv1d):
    """``nn.Conv1d`` over ``[T, B, C, L]``."""

    def forward(self, x):
        return fold_time(super().forward, x, 4, "Conv1d", self.in_channels)


BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
"""The torch batch-norm classes every neurokit batch norm derives from (``isinstance(m, BATCH_NORMS)``)."""


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` over ``[T, B, C, H, W]`` (statistics over time, batch and space)."""

    def forward(self, x):
        return fold_time(super().forward, x, 5, "BatchNorm2d", self.num_features)


class BatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` over ``[T, B, C]`` (statistics over time and batch) or ``[T, B, C, L]``."""

    def forward(self, x):
        if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"BatchNorm1d: expected [T, B, C] or [T, B, C, L], got {shape}")
        return fold_time(super().forward, x, x.dim(), "BatchNorm1d", self.num_features)


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` over ``[T, B, C, H, W]``."""

    def forward(self, x):
        return fold_time(super().forward, x, 5, "MaxPool2d")


class AvgPool2d(nn.AvgPool2d):
    """``nn.AvgPool2d`` over ``[T, B, C, H, W]``."""

    def forward(self, x):
        return fold_time(super().forward, x, 5, "AvgPool2d")


class Flatten(nn.Flatten):
    """Flatten all dims after ``[T, B]``: ``[T, B, C, H, W] -> [T, B, C*H*W]``."""

    def __init__(self):
        super().__init__(start_dim=2, end_dim=-1)

    def forward(self, x):
        if not isinstance(x, torch.Tensor) or x.dim() < 3:
            raise ValueError(f"Flatten: expected [T, B, ...] with rank >= 3, got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        return super().forward(x)
