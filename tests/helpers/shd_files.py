"""The small SHD-format file the reader tests damage: 3 samples, vlen float64 ``spikes/times`` and int32
``spikes/units`` (one global heap collection), labels 0, 5, 19."""
import h5py
import numpy as np


def write_small_shd(path) -> None:
    """Write the file to ``path`` (h5py's default layout, as the SHD release files use)."""
    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (3,), dtype=h5py.vlen_dtype(np.float64))
        units = f.create_dataset("spikes/units", (3,), dtype=h5py.vlen_dtype(np.int32))
        for i in range(3):
            times[i] = np.linspace(0.0, 0.9, 4 + i)
            units[i] = np.arange(4 + i) * 100 % 700
        f["labels"] = np.array([0, 5, 19])
