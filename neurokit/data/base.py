"""Shared pieces of the data loaders: an in-memory time-major dataset and the time-major collate.

Every neurokit dataset yields ``(x, y)`` with ``x`` time-major per sample, ``[T, ...]``, and ``y`` an integer class.
:func:`collate_time_major` stacks a list of such samples into ``x [T, B, ...]`` and ``y [B]`` (int64), which is
what :func:`neurokit.train` and every model expect.

Example::

    >>> ds = SequenceDataset(torch.zeros(4, 10, 3), torch.tensor([0, 1, 0, 1]))
    >>> x, y = collate_time_major([ds[0], ds[1]])
    >>> x.shape, y.shape
    (torch.Size([10, 2, 3]), torch.Size([2]))
"""
from __future__ import annotations

from typing import Sequence, Tuple

import torch
from torch.utils.data import Dataset

__all__ = ["SequenceDataset", "collate_time_major"]


class SequenceDataset(Dataset):
    """In-memory dataset of time-major samples.

    Args:
        x: ``[N, T, ...]`` float tensor (sample-major storage; each item is ``x[i]`` of shape ``[T, ...]``).
        y: ``[N]`` integer labels in ``[0, num_classes)``.
        num_classes: number of classes (default ``y.max() + 1``).

    Example::

        >>> ds = SequenceDataset(torch.rand(8, 5, 2), torch.arange(8) % 2)
        >>> ds[3][0].shape    # [T, C]
        torch.Size([5, 2])
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, num_classes: int | None = None):
        if not isinstance(x, torch.Tensor) or x.dim() < 2:
            raise ValueError(f"x: expected a tensor [N, T, ...] with at least 2 dims, got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        if not isinstance(y, torch.Tensor) or y.dim() != 1 or y.shape[0] != x.shape[0]:
            raise ValueError(f"y: expected a 1-D tensor of {x.shape[0]} labels (one per sample of x), got "
                             f"{getattr(y, 'shape', type(y).__name__)}")
        if y.dtype.is_floating_point or y.dtype == torch.bool:
            raise ValueError(f"y: expected integer labels, got dtype {y.dtype}")
        if y.numel() and int(y.min()) < 0:
            raise ValueError(f"y: labels must be >= 0, got min {int(y.min())}")
        if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, int)
                                        or num_classes < 1 or (y.numel() and int(y.max()) >= num_classes)):
            raise ValueError(f"num_classes={num_classes!r}: expected an int >= 1 above every label of y "
                             f"(max label {int(y.max()) if y.numel() else None})")
        self.x = x
        self.y = y.long()
        self.num_classes = int(num_classes if num_classes is not None else (int(y.max()) + 1 if y.numel() else 0))

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        return self.x[index], int(self.y[index])


def collate_time_major(batch: Sequence[Tuple[torch.Tensor, int]]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Stack samples ``(x [T, ...], y)`` into ``x [T, B, ...]`` and ``y [B]`` (int64).

    Example::

        >>> x, y = collate_time_major([(torch.ones(4, 2), 1), (torch.zeros(4, 2), 0)])
        >>> x.shape, y.tolist()
        (torch.Size([4, 2, 2]), [1, 0])
    """
    if len(batch) == 0:
        raise ValueError("batch: expected at least one (x, y) sample, got an empty list")
    xs = [sample[0] for sample in batch]
    first = tuple(xs[0].shape)
    for i, x in enumerate(xs):
        if tuple(x.shape) != first:
            raise ValueError(f"batch[{i}]: sample x has shape {tuple(x.shape)}, expected {first} like batch[0] "
                             "(all samples of a batch must share [T, ...])")
    x = torch.stack(xs, dim=1)
    y = torch.as_tensor([int(sample[1]) for sample in batch], dtype=torch.long)
    return x, y
