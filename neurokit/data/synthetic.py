"""Seeded synthetic temporal tasks that need synaptic delays to solve.

* :func:`delay_task` -- two input channels, one spike each; the class is the time gap between the spike on
  channel 0 and the spike on channel 1. Spike counts are identical for every class, so only timing carries the
  label; a network with learnable delays can align the two spikes into a coincidence, a network without delays has
  to rely on membrane leakage over the gap.
* :func:`coincidence_task` -- ``n_channels`` channels, one spike each, at class-specific relative offsets (a fixed
  random pattern per class, drawn from the seed). Again every channel fires exactly once in every class.

Both return ``(train, test)`` :class:`~neurokit.data.base.SequenceDataset` objects whose samples are
``x [T, C]`` (0/1 float32) and ``y`` (int). Optional background noise (``noise_rate``: Bernoulli probability per
step and channel) makes the tasks harder. The same ``seed`` always gives the same data; train and test share the
class definitions and are drawn from disjoint parts of one seeded stream.

Example::

    >>> train, test = delay_task(n_train=256, n_test=64, T=30, n_classes=4, seed=0)
    >>> x, y = train[0]
    >>> x.shape          # [T, 2]
    torch.Size([30, 2])
"""
from __future__ import annotations

from typing import Tuple

import torch

from .base import SequenceDataset

__all__ = ["delay_task", "coincidence_task", "delay_task_gaps"]


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return value


def _check_rate(noise_rate) -> float:
    rate = float(noise_rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"noise_rate: expected a probability in [0, 1), got {noise_rate!r}")
    return rate


def _balanced_labels(n: int, n_classes: int, gen: torch.Generator) -> torch.Tensor:
    labels = torch.arange(n) % n_classes
    return labels[torch.randperm(n, generator=gen)]


def _add_noise(x: torch.Tensor, noise_rate: float, gen: torch.Generator) -> torch.Tensor:
    if noise_rate == 0.0:
        return x
    noise = (torch.rand(x.shape, generator=gen) < noise_rate).to(x.dtype)
    return torch.maximum(x, noise)


def delay_task_gaps(n_classes: int, min_gap: int = 1, gap_step: int = 3) -> torch.Tensor:
    """The spike gap (in steps) of each class of :func:`delay_task`: ``min_gap + c * gap_step``, shape ``[n_classes]``.

    Example::

        >>> delay_task_gaps(3, min_gap=1, gap_step=3).tolist()
        [1, 4, 7]
    """
    _check_int(n_classes, "n_classes", 2)
    _check_int(min_gap, "min_gap", 0)
    _check_int(gap_step, "gap_step", 1)
    return min_gap + gap_step * torch.arange(n_classes)


def _gap_samples(n: int, T: int, gaps: torch.Tensor, noise_rate: float, gen: torch.Generator):
    n_classes = gaps.numel()
    y = _balanced_labels(n, n_classes, gen)
    max_gap = int(gaps.max())
    t0 = torch.randint(0, T - max_gap, (n,), generator=gen)
    x = torch.zeros(n, T, 2)
    rows = torch.arange(n)
    x[rows, t0, 0] = 1.0
    x[rows, t0 + gaps[y], 1] = 1.0
    return _add_noise(x, noise_rate, gen), y


def delay_task(n_train: int = 512, n_test: int = 128, T: int = 40, n_classes: int = 4, min_gap: int = 1,
               gap_step: int = 3, noise_rate: float = 0.0, seed: int = 0
               ) -> Tuple[SequenceDataset, SequenceDataset]:
    """Two-channel gap task: class ``c`` puts a spike on channel 1 exactly ``min_gap + c * gap_step`` steps after
    the spike on channel 0; the first spike time is uniform in ``[0, T - max_gap)``.

    Args:
        n_train, n_test: number of samples (labels are balanced across classes).
        T: time steps per sample; must exceed the largest gap.
        n_classes: number of classes (``>= 2``).
        min_gap, gap_step: gap of class ``c`` (see :func:`delay_task_gaps`).
        noise_rate: probability of an extra background spike per step and channel.
        seed: everything is drawn from ``torch.Generator().manual_seed(seed)``.

    Returns:
        ``(train, test)`` datasets of ``x [T, 2]`` float32 0/1 and ``y`` in ``[0, n_classes)``.

    Example::

        >>> train, _ = delay_task(n_train=8, n_test=4, T=20, n_classes=2, seed=1)
        >>> x, y = train[0]; int(x[:, 1].argmax() - x[:, 0].argmax()) == delay_task_gaps(2)[y]
        True
    """
    _check_int(n_train, "n_train", 1)
    _check_int(n_test, "n_test", 1)
    _check_int(T, "T", 2)
    gaps = delay_task_gaps(n_classes, min_gap, gap_step)
    if int(gaps.max()) >= T:
        raise ValueError(f"T: the largest gap is {int(gaps.max())} steps (min_gap={min_gap}, gap_step={gap_step}, "
                         f"n_classes={n_classes}); expected T > {int(gaps.max())}, got T={T}")
    rate = _check_rate(noise_rate)
    gen = torch.Generator().manual_seed(int(seed))
    x_train, y_train = _gap_samples(n_train, T, gaps, rate, gen)
    x_test, y_test = _gap_samples(n_test, T, gaps, rate, gen)
    return SequenceDataset(x_train, y_train, n_classes), SequenceDataset(x_test, y_test, n_classes)


def _distinct_patterns(n_classes: int, n_channels: int, max_offset: int, gen: torch.Generator) -> torch.Tensor:
    """``[n_classes, n_channels]`` integer offsets in ``[0, max_offset]``; rows pairwise distinct, each row has 0."""
    for _ in range(100):
        offsets = torch.randint(0, max_offset + 1, (n_classes, n_channels), generator=gen)
        offsets = offsets - offsets.min(dim=1, keepdim=True).values
        if torch.unique(offsets, dim=0).shape[0] == n_classes:
            return offsets
    raise ValueError(f"max_offset: could not draw {n_classes} distinct offset patterns over {n_channels} channels "
                     f"with offsets in [0, {max_offset}]; increase max_offset or n_channels")


def _pattern_samples(n: int, T: int, patterns: torch.Tensor, max_offset: int, noise_rate: float,
                     gen: torch.Generator):
    n_classes, n_channels = patterns.shape
    y = _balanced_labels(n, n_classes, gen)
    t0 = torch.randint(0, T - max_offset, (n, 1), generator=gen)
    times = t0 + patterns[y]                                        # [n, C]
    x = torch.zeros(n, T, n_channels)
    x.scatter_(1, times.unsqueeze(1), 1.0)                          # x[i, times[i, c], c] = 1
    return _add_noise(x, noise_rate, gen), y


def coincidence_task(n_train: int = 512, n_test: int = 128, T: int = 40, n_channels: int = 8, n_classes: int = 4,
                     max_offset: int = 12, noise_rate: float = 0.0, seed: int = 0
                     ) -> Tuple[SequenceDataset, SequenceDataset]:
    """Spike-pattern task: every channel spikes once, at ``t0 + offsets[class, channel]``.

    The class patterns ``offsets [n_classes, n_channels]`` (integers in ``[0, max_offset]``, pairwise distinct, the
    earliest channel at 0) are drawn first from the seeded generator and are stored as ``train.patterns``;
    ``t0`` is uniform in ``[0, T - max_offset)``. Delays of ``max_offset - offsets[c]`` turn class ``c``'s pattern
    into a coincidence.

    Returns:
        ``(train, test)`` datasets of ``x [T, n_channels]`` float32 0/1 and ``y`` in ``[0, n_classes)``.

    Example::

        >>> train, test = coincidence_task(n_train=16, n_test=8, T=24, n_channels=4, n_classes=2, max_offset=6)
        >>> x, y = train[0]; (x.sum(0) == 1).all().item()     # one spike per channel
        True
    """
    _check_int(n_train, "n_train", 1)
    _check_int(n_test, "n_test", 1)
    _check_int(n_classes, "n_classes", 2)
    _check_int(n_channels, "n_channels", 2)
    _check_int(max_offset, "max_offset", 1)
    _check_int(T, "T", 2)
    if max_offset >= T:
        raise ValueError(f"T: expected T > max_offset={max_offset}, got T={T}")
    rate = _check_rate(noise_rate)
    gen = torch.Generator().manual_seed(int(seed))
    patterns = _distinct_patterns(n_classes, n_channels, max_offset, gen)
    train = SequenceDataset(*_pattern_samples(n_train, T, patterns, max_offset, rate, gen), n_classes)
    test = SequenceDataset(*_pattern_samples(n_test, T, patterns, max_offset, rate, gen), n_classes)
    train.patterns = test.patterns = patterns
    return train, test
