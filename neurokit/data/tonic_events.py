"""Event datasets from tonic (https://tonic.readthedocs.io) as neurokit's time-major tensors.

:func:`from_tonic` wraps any tonic dataset (or any sequence of ``(events, label)`` with ``events`` a NumPy
structured array with fields ``t``, ``x``, ``p`` and, for 2-D sensors, ``y``, as tonic's datasets return) and bins
each recording with tonic's own transforms (events are put in time order first, as tonic's slicers and filters
assume): optional event transforms (``tonic.transforms.Denoise``,
``Downsample``, ``CropTime``, ...), then ``tonic.transforms.ToFrame``. Two binnings:

* ``time_window=dt``: ``T`` frames of ``dt`` (the timestamps' unit, microseconds for tonic's datasets) from
  ``t = 0``; frame ``k`` counts the events with ``k * dt <= t < (k + 1) * dt``, later events are dropped. This is
  exactly neurokit's own binning (:func:`~neurokit.data.bin_events_2d`, :func:`~neurokit.data.bin_events_1d`), tested
  on N-MNIST and SHD files;
* ``time_window=None``: ``ToFrame(n_time_bins=T)``, ``T`` equal slices of each recording's own duration (tonic's
  slices end at the last timestamp, exclusive, so the events at that last timestamp are not counted).

Samples are ``x [T, P, H, W]`` (2-D sensors; ``sensor_size = (W, H, P)`` in tonic's order) or ``x [T, P, X]``
(1-D sensors such as SHD's 700 channels), float32 event counts (``binary=True``: 0/1), or ``[T, P*H*W]`` with
``flatten=True``; labels are ints. tonic is optional: ``pip install --no-deps tonic`` plus what it imports (see
``scripts/setup_env.sh``).

Example::

    >>> import tonic
    >>> events = tonic.datasets.NMNIST("data", train=False)                  # tonic's own download and reader
    >>> test = nk.data.from_tonic(events, T=30, time_window=10_000,
    ...                           transforms=[tonic.transforms.Denoise(filter_time=10_000)])
    >>> x, y = test[0]; x.shape
    torch.Size([30, 2, 34, 34])
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["from_tonic", "TonicFrames"]


def _import_tonic():
    try:
        import tonic.transforms
    except ImportError as e:
        raise ImportError("from_tonic: the tonic package is not installed; install it with `pip install --no-deps "
                          "tonic` plus importRosbag and requests (scripts/setup_env.sh does)") from e
    return tonic


def _check_args(dataset, T, time_window, sensor_size) -> tuple:
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(f"dataset: expected a tonic dataset or a sequence of (events, label), got "
                        f"{type(dataset).__name__}")
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T: expected an integer >= 1 (time steps), got {T!r}")
    if time_window is not None and (isinstance(time_window, bool) or not isinstance(time_window, (int, float))
                                    or not time_window > 0):
        raise ValueError(f"time_window: expected a bin length > 0 in the timestamps' unit, or None, got "
                         f"{time_window!r}")
    sensor_size = sensor_size if sensor_size is not None else getattr(dataset, "sensor_size", None)
    if sensor_size is None:
        raise ValueError(f"sensor_size: {type(dataset).__name__} has no sensor_size attribute; pass sensor_size="
                         "(width, height, polarities), e.g. (34, 34, 2) for N-MNIST or (700, 1, 1) for SHD")
    sensor_size = tuple(int(s) for s in sensor_size)
    if len(sensor_size) != 3 or min(sensor_size) < 1:
        raise ValueError(f"sensor_size: expected (width, height, polarities) of positive ints, got {sensor_size}")
    return sensor_size


class TonicFrames(Dataset):
    """The dataset :func:`from_tonic` returns: ``(x [T, ...] float32, label int)`` per recording, binned on access."""

    def __init__(self, dataset, T: int, time_window: Optional[float] = None, sensor_size=None,
                 transforms: Sequence = (), binary: bool = False, flatten: bool = False):
        tonic = _import_tonic()
        self.sensor_size = _check_args(dataset, T, time_window, sensor_size)
        self.dataset, self.T, self.binary, self.flatten = dataset, T, bool(binary), bool(flatten)
        if time_window is None:
            frame = tonic.transforms.ToFrame(sensor_size=self.sensor_size, n_time_bins=T)
        else:
            frame = tonic.transforms.ToFrame(sensor_size=self.sensor_size, time_window=time_window, start_time=0,
                                             end_time=T * time_window)
        self.events_transform = tonic.transforms.Compose(list(transforms)) if transforms else None
        self.frame = frame
        self.num_classes = len(getattr(dataset, "classes", ())) or None

    def __len__(self) -> int:
        return len(self.dataset)

    def _frames(self, events, index: int) -> np.ndarray:
        names = getattr(getattr(events, "dtype", None), "names", None) or ()
        if not {"t", "x", "p"} <= set(names):
            raise ValueError(f"dataset[{index}]: expected events as a structured array with fields t, x, p (and y), "
                             f"got {type(events).__name__} with fields {list(names)}; a tonic dataset given a "
                             "transform already returns frames: build it without transform=")
        if events.size > 1 and np.any(np.diff(events["t"]) < 0):    # tonic's slicing assumes time order
            events = events[np.argsort(events["t"], kind="stable")]
        if self.events_transform is not None:
            events = self.events_transform(events)
        width, height, _ = self.sensor_size
        for field, limit in (("x", width), ("y", height)):
            if field in names and events.size and int(events[field].max()) >= limit:
                raise ValueError(f"dataset[{index}]: field {field!r} reaches {int(events[field].max())}, outside "
                                 f"sensor_size {self.sensor_size} (a Downsample transform needs the downsampled "
                                 "sensor_size)")
        if events.size == 0:         # tonic cannot slice an empty recording by time bins
            shape = self.sensor_size[::-1] if "y" in names else (self.sensor_size[2], width)
            return np.zeros((self.T, *shape), np.int16)
        return self.frame(events)

    def __getitem__(self, index: int):
        events, label = self.dataset[index]
        frames = self._frames(events, index)
        if frames.shape[0] != self.T:
            raise ValueError(f"dataset[{index}]: tonic produced {frames.shape[0]} frames, expected T={self.T} (an "
                             "event transform that shifts timestamps below 0?)")
        x = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32))
        if self.binary:
            x = x.clamp_(max=1.0)
        if self.flatten:
            x = x.reshape(self.T, -1)
        return x, int(label)


def from_tonic(dataset, T: int, time_window: Optional[float] = None, *, sensor_size=None, transforms: Sequence = (),
               binary: bool = False, flatten: bool = False) -> TonicFrames:
    """Bin every recording of a tonic dataset into ``T`` frames with tonic's transforms (see the module docstring).

    Args:
        dataset: a tonic dataset (``tonic.datasets.NMNIST``, ``SHD``, ...) built without ``transform=``, or any
            sequence of ``(structured events, label)``.
        T: time steps. time_window: bin length in the timestamps' unit (µs for tonic), frames from t = 0; ``None``
            splits each recording's duration into ``T`` bins.
        sensor_size: ``(W, H, P)`` (default ``dataset.sensor_size``); give the reduced size after a ``Downsample``.
        transforms: tonic event transforms applied before ``ToFrame`` (``Denoise``, ``Downsample``, ...).
        binary: clamp counts to 0/1 spikes. flatten: ``x [T, P*H*W]`` (e.g. SHD as ``[T, 700]``).

    Returns:
        :class:`TonicFrames`: ``x [T, P, H, W]`` or ``[T, P, X]`` (1-D sensors) float32, ``y`` int;
        batch with :func:`~neurokit.data.collate_time_major` (``nk.train`` does).

    Example::

        >>> ds = nk.data.from_tonic(tonic.datasets.SHD("data"), T=100, time_window=10_000, flatten=True)
        >>> ds[0][0].shape
        torch.Size([100, 700])
    """
    return TonicFrames(dataset, T, time_window, sensor_size, transforms, binary, flatten)
