"""scikit-learn's bundled 8x8 digits (1797 images, 10 classes; no download) as spike-encoded static images.

Pixels (integers 0..16) are scaled to ``[0, 1]`` and encoded once, at construction, with :mod:`neurokit.encode`
(``"rate"``: Bernoulli with a seeded private generator; ``"latency"``: time to first spike; ``"direct"``: the
analog image repeated every step). The train/test split is a fixed seeded permutation.

Example::

    >>> train, test = digits(T=8, encoding="rate", seed=0)
    >>> x, y = train[0]
    >>> x.shape          # [T, 64]
    torch.Size([8, 64])
"""
from __future__ import annotations

from typing import Tuple

import torch

from .. import encode
from .base import SequenceDataset

__all__ = ["digits", "DIGITS_ENCODINGS"]

DIGITS_ENCODINGS = ("rate", "latency", "direct")


def _load_images() -> Tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32) / 16.0       # [1797, 8, 8] in [0, 1]
    return images, torch.as_tensor(bunch.target, dtype=torch.long)


def digits(T: int = 8, encoding: str = "rate", seed: int = 0, test_fraction: float = 0.2, flatten: bool = True
           ) -> Tuple[SequenceDataset, SequenceDataset]:
    """Encoded sklearn digits split into ``(train, test)`` datasets.

    Args:
        T: time steps of the spike code (``>= 1``).
        encoding: ``"rate" | "latency" | "direct"`` (functions of :mod:`neurokit.encode`).
        seed: seeds the split permutation and the rate code.
        test_fraction: share of the 1797 images in the test split, in ``(0, 1)``.
        flatten: samples ``x [T, 64]`` if True, else ``x [T, 1, 8, 8]`` (for conv models).

    Returns:
        ``(train, test)`` :class:`~neurokit.data.base.SequenceDataset` (``num_classes = 10``).

    Example::

        >>> train, test = digits(T=4, encoding="direct", flatten=False)
        >>> train[0][0].shape, len(train) + len(test)
        (torch.Size([4, 1, 8, 8]), 1797)
    """
    if encoding not in DIGITS_ENCODINGS:
        raise ValueError(f"encoding: expected one of {DIGITS_ENCODINGS}, got {encoding!r}")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction: expected a fraction in (0, 1), got {test_fraction!r}")
    images, labels = _load_images()
    if encoding == "rate":
        spikes = encode.rate(images, T, seed=int(seed))
    else:
        spikes = getattr(encode, encoding)(images, T)                         # [T, N, 8, 8]
    x = spikes.transpose(0, 1).contiguous()                                   # [N, T, 8, 8]
    x = x.reshape(x.shape[0], T, 64) if flatten else x.unsqueeze(2)
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(int(seed)))
    n_test = max(1, int(round(float(test_fraction) * x.shape[0])))
    test_idx, train_idx = order[:n_test], order[n_test:]
    return (SequenceDataset(x[train_idx], labels[train_idx], 10),
            SequenceDataset(x[test_idx], labels[test_idx], 10))
