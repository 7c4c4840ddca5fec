"""Spiking Heidelberg Digits (SHD) and Spiking Speech Commands (SSC) HDF5 loaders.

File layout (the official release, Cramer et al. 2020, zenkelab.org/datasets): one HDF5 file per split with

* ``spikes/times`` -- per-sample variable-length float arrays, spike times in **seconds**;
* ``spikes/units`` -- per-sample variable-length integer arrays, the input channel of each spike (``0..699``);
* ``labels``       -- ``[N]`` integer class labels (20 classes for SHD, 35 for SSC).

Each sample is binned into ``T`` steps of ``dt`` seconds (spike at time ``t`` goes to step ``floor(t / dt)``; spikes
at or after ``T * dt`` are dropped) and channels are pooled by ``pool`` (unit ``u`` goes to channel ``u // pool``,
``ceil(700 / pool)`` channels); values are spike counts per bin. ``dt=0.01, pool=5`` is the DCLS delay paper's
setting (140 channels, 10 ms bins).

With tonic installed (:mod:`neurokit.data.event_bins`) the counting is tonic's: ``tonic.transforms.Downsample(
spatial_factor=1 / pool)`` pools the units and ``tonic.transforms.ToFrame(time_window=1, start_time=0, end_time=T)``
counts the spikes of each step (``SpikeHDF5Dataset.tonic_transforms`` names the transforms used). Two parts stay
neurokit's, where tonic does not give the same numbers:

* the time step ``floor(t / dt)`` of a spike, computed here and handed to ``ToFrame`` as the event's time. tonic's
  ``ToFrame(time_window=dt)`` on the times in seconds compares them with the float window bounds ``k * dt`` and
  ``k * dt + dt`` instead: ``t = 0.06`` with ``dt = 0.01`` is step 6 by ``floor(t / dt)``, but tonic's window 5
  ends at ``5 * 0.01 + 0.01 = 0.060000000000000005`` and counts it there;
* ``u // pool`` for the pools where ``Downsample``'s truncated ``u * (1 / pool)`` misses it for some unit (49, 98,
  103, ...: :func:`~neurokit.data.event_bins.exact_downsample`, checked over all units when the dataset is built).

Edges: a spike exactly on a bin border ``t = k * dt`` is in step ``k``; the last step is ``T - 1`` (spikes at or
after ``T * dt`` are dropped, ``ToFrame``'s ``end_time=T``); an empty sample is all zeros (``ToFrame`` is not
called on it). Tested against the real ``tonic.transforms.ToFrame`` in ``tests/neurokit/data/test_loader_tonic.py``.

Without tonic, and for a recording of more than 32767 spikes (tonic's int16 frames), :func:`bin_events_1d` bins
the same counts.

libhdf5 reads the file's metadata and ``labels``; the per-sample arrays are read from the file's bytes by
:mod:`neurokit.data.hdf5_vlen`, which bounds every length and heap address before reading (libhdf5's own vlen read
can loop forever on a damaged global heap). The file is opened lazily (once per process, so ``DataLoader`` workers
each get their own handle). Missing fields, mismatched lengths, damaged bytes, out-of-range units and bad times
(negative, not finite, or above ``MAX_SECONDS``: times in milliseconds) raise ``ValueError`` naming the file, the
field and the sample; the first sample is checked when the dataset is built.

Example::

    >>> train = shd("shd_train.h5", T=100, dt=0.01, pool=5)
    >>> x, y = train[0]
    >>> x.shape            # [T, 140]
    torch.Size([100, 140])
"""
from __future__ import annotations

import math
import os
from typing import Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from .event_bins import INT16_MAX, exact_downsample, optional_tonic, structured_events, tonic_frames
from .hdf5_vlen import VlenField

__all__ = ["SpikeHDF5Dataset", "shd", "ssc", "bin_events_1d"]

_FIELDS = ("spikes/times", "spikes/units", "labels")
#: Longest spike time accepted, in seconds. SHD/SSC recordings last about 1 s (Cramer et al. 2020); a time above
#: this is taken as a unit mistake (milliseconds would put almost every spike past ``T * dt`` and drop it silently).
MAX_SECONDS = 60.0
#: What h5py / numpy raise on a damaged file or a field of the wrong dtype; reported as ``ValueError`` with the file.
CORRUPT_CONTENT = (OSError, KeyError, RuntimeError, TypeError, ValueError, AttributeError, IndexError)


def bin_events_1d(times: np.ndarray, units: np.ndarray, T: int, dt: float, n_channels: int,
                  pool: int = 1) -> torch.Tensor:
    """Bin spike events into counts ``[T, n_channels]`` (float32).

    Spike ``k`` adds 1 at ``[floor(times[k] / dt), units[k] // pool]``; spikes with step ``>= T`` are dropped.
    ``times`` are in the same unit as ``dt``; ``units`` must already be validated to lie in ``[0, n_channels*pool)``.

    Example::

        >>> bin_events_1d(np.array([0.0, 0.015]), np.array([3, 4]), T=2, dt=0.01, n_channels=2, pool=3)
        tensor([[0., 1.],
                [0., 1.]])
    """
    steps = np.floor(np.asarray(times, dtype=np.float64) / dt).astype(np.int64)
    channels = np.asarray(units, dtype=np.int64) // pool
    if channels.size and (channels.min() < 0 or channels.max() >= n_channels or steps.min() < 0):
        raise ValueError(f"units: values must lie in [0, {n_channels * pool}) and times must be >= 0; got units "
                         f"[{units.min()}, {units.max()}], times min {np.min(times)}")
    keep = steps < T
    flat = steps[keep] * n_channels + channels[keep]
    counts = np.bincount(flat, minlength=T * n_channels).astype(np.float32)
    return torch.from_numpy(counts.reshape(T, n_channels))


class SpikeHDF5Dataset(Dataset):
    """SHD/SSC-layout HDF5 file as a dataset of binned spike counts ``x [T, ceil(n_units / pool)]`` and labels.

    Args:
        path: the ``.h5`` file (fields ``spikes/times``, ``spikes/units``, ``labels``).
        T: number of time steps; dt: bin size in seconds (``> 0``).
        pool: channel pooling factor (``>= 1``); n_units: input channels in the file (700 for SHD/SSC).
        num_classes: labels must lie in ``[0, num_classes)``.

    ``tonic_transforms``: the tonic transforms that bin the samples (module docstring): ``("Downsample", "ToFrame")``,
    ``("ToFrame",)`` (``pool == 1``, or a pool ``Downsample`` misses), or ``()`` without tonic.

    Example::

        >>> ds = SpikeHDF5Dataset("shd_test.h5", T=50, dt=0.02, pool=10, num_classes=20)
        >>> ds[0][0].shape
        torch.Size([50, 70])
    """

    def __init__(self, path, T: int = 100, dt: float = 0.01, pool: int = 5, n_units: int = 700,
                 num_classes: int = 20):
        for name, value in (("T", T), ("pool", pool), ("n_units", n_units), ("num_classes", num_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt: expected a bin size in seconds > 0, got {dt!r}")
        self.path = os.fspath(path)
        self.T, self.dt, self.pool, self.n_units, self.num_classes = T, float(dt), pool, n_units, num_classes
        self.n_channels = -(-n_units // pool)
        self._tonic = optional_tonic()
        self.tonic_transforms: Tuple[str, ...] = ()
        if self._tonic is not None:
            pooled = pool > 1 and exact_downsample(self._tonic, n_units, pool)
            self.tonic_transforms = ("Downsample", "ToFrame") if pooled else ("ToFrame",)
        self._handle = None
        self._pid = None
        self._fields: Tuple[VlenField, VlenField] = ()
        self.labels = self._read_index()

    def _open(self):
        import h5py

        if not os.path.exists(self.path):
            raise FileNotFoundError(f"path: spike HDF5 file {self.path!r} does not exist")
        try:
            return h5py.File(self.path, "r")
        except CORRUPT_CONTENT as err:
            raise ValueError(f"path: {self.path!r} is not a readable HDF5 file ({err})") from err

    def _read_index(self) -> torch.Tensor:
        import h5py

        with self._open() as f:
            try:
                missing = [field for field in _FIELDS if field not in f or not isinstance(f[field], h5py.Dataset)]
            except CORRUPT_CONTENT as err:
                raise ValueError(f"{self.path}: unreadable fields (truncated or corrupt?): {type(err).__name__}: "
                                 f"{err}") from err
            if missing:
                raise ValueError(f"{self.path}: missing field {missing[0]!r}; expected the SHD/SSC layout with "
                                 f"fields {', '.join(_FIELDS)}")
            try:
                lengths = {field: f[field].shape for field in _FIELDS}
                labels = np.asarray(f["labels"][()])
            except CORRUPT_CONTENT as err:
                raise ValueError(f"{self.path}: unreadable fields (truncated or corrupt?): {type(err).__name__}: "
                                 f"{err}") from err
        n = labels.shape[0] if labels.ndim == 1 else -1
        for field, shape in lengths.items():
            if len(shape) != 1 or shape[0] != n:
                raise ValueError(f"{self.path}: field {field!r} has shape {shape}, expected ({n},) (one entry per "
                                 f"sample, like 'labels' {lengths['labels']})")
        try:
            with self._open() as f:
                self._fields = tuple(VlenField.from_dataset(f, field) for field in _FIELDS[:2])
        except ValueError as err:
            raise ValueError(f"{self.path}: {err}") from err
        except CORRUPT_CONTENT as err:
            raise ValueError(f"{self.path}: unreadable fields (truncated or corrupt?): {type(err).__name__}: "
                             f"{err}") from err
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{self.path}: field 'labels' has dtype {labels.dtype}, expected integers")
        if n and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"{self.path}: field 'labels' has values in [{labels.min()}, {labels.max()}], "
                             f"expected [0, {self.num_classes})")
        self.labels = torch.from_numpy(labels.astype(np.int64))
        if n:
            self.events(0)  # validates the first sample now (a file in milliseconds is refused before training)
        return self.labels

    def _file(self) -> int:
        """The raw file (descriptor) of this process, opened on first use."""
        if self._handle is None or self._pid != os.getpid():
            self._handle, self._pid = open(self.path, "rb"), os.getpid()  # noqa: SIM115 - lives with the dataset
        return self._handle.fileno()

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_handle"], state["_pid"], state["_tonic"] = None, None, None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._tonic = optional_tonic() if self.tonic_transforms else None

    def __len__(self) -> int:
        return self.labels.shape[0]

    def events(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        """Validated raw events of sample ``index``: ``(times [E] seconds float64, units [E] int64)``."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index: {index} out of range for {len(self)} samples in {self.path}")
        index = index % len(self)
        fd = self._file()
        try:
            times = self._fields[0].read(fd, index).astype(np.float64)
            units = self._fields[1].read(fd, index)
        except CORRUPT_CONTENT as err:
            raise ValueError(f"{self.path}: sample {index}: unreadable 'spikes/times' / 'spikes/units' (truncated, "
                             f"corrupt or of the wrong dtype): {type(err).__name__}: {err}") from err
        if times.ndim != 1 or units.shape != times.shape:
            raise ValueError(f"{self.path}: sample {index}: field 'spikes/units' has shape {units.shape} but "
                             f"'spikes/times' has shape {times.shape}; expected two 1-D arrays of equal length")
        if units.size and not np.issubdtype(units.dtype, np.integer):
            raise ValueError(f"{self.path}: sample {index}: field 'spikes/units' has dtype {units.dtype}, "
                             "expected integers")
        if units.size and (units.min() < 0 or units.max() >= self.n_units):
            raise ValueError(f"{self.path}: sample {index}: field 'spikes/units' has values in "
                             f"[{units.min()}, {units.max()}], expected [0, {self.n_units})")
        if times.size and not (np.isfinite(times).all() and times.min() >= 0):
            raise ValueError(f"{self.path}: sample {index}: field 'spikes/times' must be finite and >= 0 "
                             f"(seconds), got min {times.min()}")
        if times.size and times.max() > MAX_SECONDS:
            raise ValueError(f"{self.path}: sample {index}: field 'spikes/times' has max {times.max():g}, but times "
                             f"are in seconds and no SHD/SSC recording lasts more than {MAX_SECONDS:g} s; these look "
                             "like milliseconds (divide them by 1000)")
        return times, units.astype(np.int64)

    def bin(self, times: np.ndarray, units: np.ndarray) -> torch.Tensor:
        """Validated events of one sample (:meth:`events`) -> spike counts ``[T, n_channels]`` float32, with tonic's
        transforms where they are exact (module docstring), else :func:`bin_events_1d`.

        Example::

            >>> ds.bin(np.array([0.0, 0.06]), np.array([3, 699])).sum().item()
            2.0
        """
        if not self.tonic_transforms or units.size > INT16_MAX:
            return bin_events_1d(times, units, self.T, self.dt, self.n_channels, self.pool)
        steps = np.floor(np.asarray(times, dtype=np.float64) / self.dt)  # neurokit's step rule (module docstring)
        ev = structured_events(t=steps.astype(np.int64), x=units, p=np.zeros_like(units))
        if "Downsample" in self.tonic_transforms:
            ev = self._tonic.transforms.Downsample(spatial_factor=1 / self.pool)(ev)
        else:
            ev["x"] //= self.pool
        frames = tonic_frames(self._tonic, ev, (self.n_channels, 1, 1), 1, self.T)   # [T, 1, n_channels]
        return torch.from_numpy(frames[:, 0].astype(np.float32))

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        times, units = self.events(index)
        return self.bin(times, units), int(self.labels[index])


def shd(path, T: int = 100, dt: float = 0.01, pool: int = 5) -> SpikeHDF5Dataset:
    """Spiking Heidelberg Digits split file (700 units, 20 classes) -> ``x [T, ceil(700 / pool)]``, ``y``.

    Example::

        >>> train = shd("shd_train.h5")          # 10 ms bins, 100 steps, 140 channels
    """
    return SpikeHDF5Dataset(path, T=T, dt=dt, pool=pool, n_units=700, num_classes=20)


def ssc(path, T: int = 100, dt: float = 0.01, pool: int = 5) -> SpikeHDF5Dataset:
    """Spiking Speech Commands split file (700 units, 35 classes) -> ``x [T, ceil(700 / pool)]``, ``y``.

    Example::

        >>> valid = ssc("ssc_valid.h5", T=100, dt=0.01, pool=5)
    """
    return SpikeHDF5Dataset(path, T=T, dt=dt, pool=pool, n_units=700, num_classes=35)
