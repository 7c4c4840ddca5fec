"""tonic's transforms (https://tonic.readthedocs.io) as the binning of the SHD and N-MNIST loaders, where they give
exactly the tensors of neurokit's own binning (:func:`~neurokit.data.bin_events_1d`,
:func:`~neurokit.data.bin_events_2d`, which stay the reference and bin what tonic cannot).

tonic is optional (the ``events`` extra; ``scripts/setup_env.sh`` installs it with ``--no-deps``): without it the
loaders bin with neurokit's code, same tensors. ``tonic.transforms.ToFrame`` counts into ``int16`` frames
(``np.add.at``), which wrap silently above 32767, so a recording of more than ``INT16_MAX`` events is binned by
neurokit's code.
"""
from __future__ import annotations

import numpy as np

__all__ = ["INT16_MAX", "optional_tonic", "exact_downsample", "tonic_frames", "structured_events"]

#: Most events tonic's ``int16`` frames hold without a count wrapping (every event in one cell).
INT16_MAX = np.iinfo(np.int16).max


def optional_tonic():
    """The ``tonic`` module with its transforms imported, or ``None`` when tonic is not installed.

    Example:
        >>> tonic = optional_tonic()
        >>> tonic is None or hasattr(tonic.transforms, "ToFrame")
        True
    """
    try:
        import tonic.transforms
    except ImportError:
        return None
    return tonic


def structured_events(**fields) -> np.ndarray:
    """A tonic event array (int64 fields named as given, e.g. ``t``, ``x``, ``y``, ``p``) of the given columns.

    Example:
        >>> structured_events(t=[0, 5], x=[1, 2], p=[0, 0])["x"].tolist()
        [1, 2]
    """
    cols = {k: np.asarray(v).reshape(-1) for k, v in fields.items()}
    ev = np.zeros(len(next(iter(cols.values()))), dtype=[(k, np.int64) for k in cols])
    for k, v in cols.items():
        ev[k] = v
    return ev


def exact_downsample(tonic, n_units: int, pool: int) -> bool:
    """Whether ``tonic.transforms.Downsample(spatial_factor=1 / pool)`` maps every unit ``0..n_units-1`` to
    ``u // pool``. It stores ``u * (1 / pool)`` in the integer field, truncating, and that product falls just below
    an integer for some units (``49 * (1 / 49) = 0.9999999999999999``): those pools keep ``u // pool``.

    Example:
        >>> tonic = optional_tonic()
        >>> tonic is None or (exact_downsample(tonic, 700, 5), exact_downsample(tonic, 700, 49)) == (True, False)
        True
    """
    units = np.arange(n_units)
    down = tonic.transforms.Downsample(spatial_factor=1 / pool)(structured_events(t=units * 0, x=units, p=units * 0))
    return bool(np.array_equal(down["x"], units // pool))


def tonic_frames(tonic, events: np.ndarray, sensor_size: tuple[int, int, int], time_window, T: int) -> np.ndarray:
    """``tonic.transforms.ToFrame(sensor_size, time_window, start_time=0, end_time=T * time_window)`` of ``events``
    (put in time order first, stably, as tonic's slicing assumes): ``T`` frames, frame ``k`` counting the events with
    ``k * time_window <= t < (k + 1) * time_window``; int16 ``[T, P, H, W]`` (``[T, P, W]`` without a ``y`` field).
    An empty recording gives zeros (tonic slices nothing out of it).

    Example:
        >>> tonic = optional_tonic()
        >>> ev = structured_events(t=[25, 3], x=[1, 0], p=[0, 0])
        >>> tonic is None or tonic_frames(tonic, ev, (2, 1, 1), 10, 3)[:, 0].tolist() == [[1, 0], [0, 0], [0, 1]]
        True
    """
    if events.size == 0:
        shape = sensor_size[::-1] if "y" in events.dtype.names else (sensor_size[2], sensor_size[0])
        return np.zeros((T, *shape), np.int16)
    events = events[np.argsort(events["t"], kind="stable")]
    frame = tonic.transforms.ToFrame(sensor_size=sensor_size, time_window=time_window, start_time=0,
                                     end_time=T * time_window)
    return frame(events)
