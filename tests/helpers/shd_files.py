"""SHD-format files for the data tests: ``spikes/times`` (vlen float seconds), ``spikes/units`` (vlen int) and
``labels``, one global heap collection, h5py's default layout (as the SHD release files use)."""
import h5py
import numpy as np


def write_shd(path, times, units, labels, times_dtype=np.float64, units_dtype=np.int32) -> None:
    """Write samples ``times[i]`` / ``units[i]`` (equal-length 1-D sequences) with ``labels`` to ``path``."""
    with h5py.File(path, "w") as f:
        t = f.create_dataset("spikes/times", (len(times),), dtype=h5py.vlen_dtype(times_dtype))
        u = f.create_dataset("spikes/units", (len(units),), dtype=h5py.vlen_dtype(units_dtype))
        for i, (ti, ui) in enumerate(zip(times, units)):
            t[i] = np.asarray(ti, times_dtype)
            u[i] = np.asarray(ui, units_dtype)
        f["labels"] = np.asarray(labels)


def write_small_shd(path) -> None:
    """The small file the reader tests damage: 3 samples, float64 times, int32 units, labels 0, 5, 19."""
    write_shd(path, [np.linspace(0.0, 0.9, 4 + i) for i in range(3)], [np.arange(4 + i) * 100 % 700 for i in range(3)],
              [0, 5, 19])
