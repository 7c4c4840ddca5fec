"""N-MNIST-style binary event files (also N-Caltech101): reader, writer and a binned dataset.

Format (Orchard et al. 2015, garrickorchard.com/datasets): one ``.bin`` file per sample, a flat list of 40-bit
(5-byte) events, big-endian:

* bits 39-32: x address (pixels), bits 31-24: y address,
* bit 23: polarity (0 = OFF, 1 = ON),
* bits 22-0: timestamp in microseconds.

The dataset layout is ``root/<split>/<label>/*.bin`` (``split`` = ``Train``/``Test``, ``label`` = digit folder).
Samples are binned into ``T`` steps of ``dt_us`` microseconds (events at or after ``T * dt_us`` are dropped) and
two polarity channels: ``x [T, 2, height, width]`` spike counts (channel 0 = OFF, 1 = ON). N-MNIST's sensor is
34x34 and a saccade sequence lasts about 300 ms.

With tonic installed (:mod:`neurokit.data.event_bins`), :class:`NMNISTDataset` bins with
``tonic.transforms.ToFrame(sensor_size=(width, height, 2), time_window=dt_us, start_time=0, end_time=T * dt_us)``
when ``dt_us`` is a whole number of microseconds (``NMNISTDataset.tonic_transforms == ("ToFrame",)``): the window
bounds ``k * dt_us`` are then exact integers, so tonic's ``k * dt_us <= t < (k + 1) * dt_us`` is ``t // dt_us == k``.
A fractional ``dt_us`` keeps :func:`bin_events_2d` (tonic's float bounds ``k * dt_us + dt_us`` round away from the
floor division at some window edges), as do a recording of more than 32767 events (tonic's int16 frames) and an
environment without tonic: the same counts.
Edges: an event at ``t = k * dt_us`` is in step ``k``; events at or after ``T * dt_us`` are dropped
(``end_time``); an empty recording is all zeros (``ToFrame`` is not called on it).

Example::

    >>> ds = NMNISTDataset("N-MNIST", split="Train", T=30, dt_us=10_000)
    >>> x, y = ds[0]
    >>> x.shape          # [T, 2, 34, 34]
    torch.Size([30, 2, 34, 34])
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from .event_bins import INT16_MAX, optional_tonic, structured_events, tonic_frames

__all__ = ["read_events", "write_events", "bin_events_2d", "NMNISTDataset"]

_EVENT_BYTES = 5
_MAX_TIMESTAMP = (1 << 23) - 1


def read_events(path) -> Dict[str, np.ndarray]:
    """Decode an N-MNIST binary event file into ``{"x", "y", "p", "t"}`` arrays of length E (int64; t in us).

    Example::

        >>> ev = read_events("N-MNIST/Train/3/00003.bin")
        >>> ev["x"].shape == ev["t"].shape
        True
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"path: event file {path!r} does not exist")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % _EVENT_BYTES:
        raise ValueError(f"{path}: file size {raw.size} bytes is not a multiple of {_EVENT_BYTES}; expected "
                         "40-bit N-MNIST events (x, y, polarity + 23-bit timestamp)")
    ev = raw.reshape(-1, _EVENT_BYTES).astype(np.int64)
    return {
        "x": ev[:, 0],
        "y": ev[:, 1],
        "p": ev[:, 2] >> 7,
        "t": ((ev[:, 2] & 0x7F) << 16) | (ev[:, 3] << 8) | ev[:, 4],
    }


def write_events(path, x, y, p, t) -> None:
    """Encode events into an N-MNIST binary file (atomic: temp file then rename).

    ``x, y`` in ``[0, 255]``, ``p`` in ``{0, 1}``, ``t`` in ``[0, 2**23)`` microseconds, equal lengths.

    Example::

        >>> write_events("s.bin", x=[1, 2], y=[3, 4], p=[0, 1], t=[10, 20])
        >>> read_events("s.bin")["t"].tolist()
        [10, 20]
    """
    cols = {name: np.asarray(v, dtype=np.int64).reshape(-1) for name, v in (("x", x), ("y", y), ("p", p), ("t", t))}
    n = cols["x"].size
    limits = {"x": 255, "y": 255, "p": 1, "t": _MAX_TIMESTAMP}
    for name, arr in cols.items():
        if arr.size != n:
            raise ValueError(f"{name}: expected {n} events like x, got {arr.size}")
        if arr.size and (arr.min() < 0 or arr.max() > limits[name]):
            raise ValueError(f"{name}: values must lie in [0, {limits[name]}], got [{arr.min()}, {arr.max()}]")
    raw = np.empty((n, _EVENT_BYTES), dtype=np.uint8)
    raw[:, 0] = cols["x"]
    raw[:, 1] = cols["y"]
    raw[:, 2] = (cols["p"] << 7) | (cols["t"] >> 16)
    raw[:, 3] = (cols["t"] >> 8) & 0xFF
    raw[:, 4] = cols["t"] & 0xFF
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    raw.tofile(tmp)
    os.replace(tmp, path)


def _check_sensor(events: Dict[str, np.ndarray], height: int, width: int, source: str) -> None:
    for name, limit in (("x", width), ("y", height)):
        arr = events[name]
        if arr.size and arr.max() >= limit:
            raise ValueError(f"{source}: field {name!r} has max {arr.max()}, expected < {limit} for a "
                             f"{height}x{width} sensor")


def bin_events_2d(events: Dict[str, np.ndarray], T: int, dt_us: float, height: int, width: int,
                  source: str = "events") -> torch.Tensor:
    """Bin events into counts ``[T, 2, height, width]`` (float32): event k adds 1 at
    ``[t_k // dt_us, p_k, y_k, x_k]``; events with step ``>= T`` are dropped. Out-of-sensor addresses raise.

    Example::

        >>> ev = {"x": np.array([1]), "y": np.array([0]), "p": np.array([1]), "t": np.array([25])}
        >>> bin_events_2d(ev, T=3, dt_us=10, height=2, width=2)[2, 1, 0, 1].item()
        1.0
    """
    _check_sensor(events, height, width, source)
    steps = (events["t"] // dt_us).astype(np.int64)
    keep = steps < T
    flat = ((steps[keep] * 2 + events["p"][keep]) * height + events["y"][keep]) * width + events["x"][keep]
    counts = np.bincount(flat, minlength=T * 2 * height * width).astype(np.float32)
    return torch.from_numpy(counts.reshape(T, 2, height, width))


class NMNISTDataset(Dataset):
    """Binned N-MNIST-style event dataset.

    Args:
        root: folder with ``<split>/<label>/*.bin``; or pass ``files`` instead.
        split: sub-folder name (``"Train"`` or ``"Test"`` for N-MNIST).
        T: time steps; dt_us: bin size in microseconds.
        sensor: ``(height, width)``; N-MNIST is ``(34, 34)``.
        files: explicit ``[(path, label), ...]`` list (then ``root``/``split`` are ignored).

    Samples: ``x [T, 2, height, width]`` float32 counts, ``y`` int. ``tonic_transforms``: ``("ToFrame",)`` when
    tonic bins them (a whole ``dt_us`` and tonic installed, module docstring), else ``()``.

    Example::

        >>> ds = NMNISTDataset(files=[("a.bin", 3)], T=10, dt_us=1000)
        >>> ds[0][0].shape
        torch.Size([10, 2, 34, 34])
    """

    def __init__(self, root=None, split: str = "Train", T: int = 30, dt_us: float = 10_000,
                 sensor: Tuple[int, int] = (34, 34), files: Sequence[Tuple[str, int]] | None = None):
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T: expected an integer >= 1, got {T!r}")
        if isinstance(dt_us, bool) or not isinstance(dt_us, (int, float)) or not dt_us > 0:
            raise ValueError(f"dt_us: expected a bin size in microseconds > 0, got {dt_us!r}")
        if not (isinstance(sensor, (tuple, list)) and len(sensor) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in sensor)):
            raise ValueError(f"sensor: expected (height, width) >= 1, got {sensor!r}")
        self.T, self.dt_us, self.sensor = T, dt_us, (int(sensor[0]), int(sensor[1]))
        self.samples = list(files) if files is not None else self._scan(root, split)
        if not self.samples:
            raise ValueError(f"root: no .bin files found under {os.path.join(str(root), split)!r} "
                             "(expected <root>/<split>/<label>/*.bin)")
        for i, sample in enumerate(self.samples):
            label = sample[1] if isinstance(sample, (tuple, list)) and len(sample) == 2 else None
            if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or label < 0:
                raise ValueError(f"files[{i}]: expected (path, label) with an integer label >= 0, got {sample!r}")
        self.num_classes = max(int(label) for _, label in self.samples) + 1
        whole = float(dt_us).is_integer()
        self.tonic_transforms: Tuple[str, ...] = ("ToFrame",) if whole and optional_tonic() is not None else ()

    @staticmethod
    def _scan(root, split: str) -> List[Tuple[str, int]]:
        if root is None:
            raise ValueError("root: expected a dataset folder (or pass files=[(path, label), ...])")
        base = Path(root) / split
        if not base.is_dir():
            raise FileNotFoundError(f"root: folder {str(base)!r} does not exist (expected <root>/<split>/<label>/)")
        samples = []
        for label_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            if not label_dir.name.isdigit():
                raise ValueError(f"root: label folder {str(label_dir)!r} is not an integer class name")
            samples += [(str(f), int(label_dir.name)) for f in sorted(label_dir.glob("*.bin"))]
        return samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        return self.bin(read_events(path), source=path), int(label)

    def bin(self, events: Dict[str, np.ndarray], source: str = "events") -> torch.Tensor:
        """Events of one recording (:func:`read_events`) -> counts ``[T, 2, height, width]`` float32, with tonic's
        ``ToFrame`` where it is exact (module docstring), else :func:`bin_events_2d`.

        Example::

            >>> ds.bin(read_events("N-MNIST/Test/0/00004.bin")).shape
            torch.Size([30, 2, 34, 34])
        """
        if not self.tonic_transforms or events["t"].size > INT16_MAX:
            return bin_events_2d(events, self.T, self.dt_us, *self.sensor, source=source)
        height, width = self.sensor
        _check_sensor(events, height, width, source)
        ev = structured_events(t=events["t"], x=events["x"], y=events["y"], p=events["p"])
        frames = tonic_frames(optional_tonic(), ev, (width, height, 2), int(self.dt_us), self.T)
        return torch.from_numpy(frames.astype(np.float32))
