"""``nk.data.from_tonic``: tonic's own reader and ToFrame give exactly neurokit's binning on N-MNIST and SHD-layout
events the test writes (nothing is downloaded); tonic event transforms run before the binning."""
import numpy as np
import pytest
import tonic
import torch

import neurokit as nk

T, DT = 6, 10_000


def _nmnist_files(tmp_path, n=3, seed=0):
    rng = np.random.default_rng(seed)
    files = []
    for i in range(n):
        e = 400
        t = np.sort(rng.integers(0, int(1.3 * T * DT), e))          # some events fall after T * DT: dropped
        t[:3] = [0, DT, T * DT]                          # bin edges, out of time order: from_tonic sorts
        path = tmp_path / f"{i}.bin"
        nk.data.write_events(path, rng.integers(0, 34, e), rng.integers(0, 34, e), rng.integers(0, 2, e), t)
        files.append((path, i % 10))
    return files


def test_nmnist_files_binned_by_tonic_equal_neurokit(tmp_path):
    files = _nmnist_files(tmp_path)
    events = [(tonic.io.read_mnist_file(str(p), dtype=tonic.datasets.NMNIST.dtype), y) for p, y in files]
    ds = nk.data.from_tonic(events, T=T, time_window=DT, sensor_size=tonic.datasets.NMNIST.sensor_size)
    assert len(ds) == 3
    for (path, label), (x, y) in zip(files, ds):
        expected = nk.data.bin_events_2d(nk.data.read_events(path), T, DT, 34, 34)
        assert x.dtype == torch.float32 and x.shape == (T, 2, 34, 34) and y == label
        assert torch.equal(x, expected) and 0 < x.sum() < 400
    x, _ = nk.data.from_tonic(events, T=T, time_window=DT, sensor_size=(34, 34, 2), binary=True, flatten=True)[0]
    assert x.shape == (T, 2 * 34 * 34) and set(x.unique().tolist()) <= {0.0, 1.0}
    batch, labels = nk.data.collate_time_major([ds[0], ds[1]])
    assert batch.shape == (T, 2, 2, 34, 34) and labels.tolist() == [0, 1]


def test_shd_layout_events_equal_neurokit_1d_binning():
    rng = np.random.default_rng(1)
    times_s = np.sort(rng.uniform(0, 1.2 * T * DT * 1e-6, 300))       # SHD stores seconds
    units = rng.integers(0, 700, 300)
    ev = np.zeros(300, dtype=tonic.datasets.SHD.dtype)               # what tonic's SHD reader returns: t in µs
    ev["t"], ev["x"], ev["p"] = np.round(times_s * 1e6), units, 0
    ds = nk.data.from_tonic([(ev, 4)], T=T, time_window=DT, sensor_size=tonic.datasets.SHD.sensor_size,
                            flatten=True)
    x, y = ds[0]
    expected = nk.data.bin_events_1d(ev["t"].astype(np.float64), units, T, DT, 700)
    assert x.shape == (T, 700) and y == 4 and torch.equal(x, expected)


def test_event_transforms_and_time_bins(tmp_path):
    files = _nmnist_files(tmp_path, n=1)
    ev = tonic.io.read_mnist_file(str(files[0][0]), dtype=tonic.datasets.NMNIST.dtype)
    ev = ev[np.argsort(ev["t"], kind="stable")]                      # recordings are in time order
    down = tonic.transforms.Downsample(spatial_factor=0.5)
    x, _ = nk.data.from_tonic([(ev, 0)], T=T, time_window=DT, sensor_size=(17, 17, 2), transforms=[down])[0]
    reference = tonic.transforms.ToFrame(sensor_size=(17, 17, 2), time_window=DT, start_time=0,
                                         end_time=T * DT)(down(ev.copy()))
    assert x.shape == (T, 2, 17, 17) and np.array_equal(x.numpy(), reference)
    denoise = tonic.transforms.Denoise(filter_time=DT)
    x, _ = nk.data.from_tonic([(ev, 0)], T=T, time_window=DT, sensor_size=(34, 34, 2), transforms=[denoise])[0]
    assert 0 < x.sum() < (ev["t"] < T * DT).sum()                    # isolated events removed
    x, _ = nk.data.from_tonic([(ev, 0)], T=4, sensor_size=(34, 34, 2))[0]      # T bins over the recording
    # tonic's time bins end at the last timestamp, exclusive: that last event is not counted
    assert x.shape == (4, 2, 34, 34) and x.sum() == (ev["t"] < ev["t"].max()).sum()
    empty = np.zeros(0, dtype=tonic.datasets.NMNIST.dtype)
    assert nk.data.from_tonic([(empty, 1)], T=3, sensor_size=(34, 34, 2))[0][0].shape == (3, 2, 34, 34)


def test_bad_inputs_name_the_argument():
    ev = np.zeros(2, dtype=tonic.datasets.NMNIST.dtype)
    with pytest.raises(ValueError, match="T: expected an integer >= 1"):
        nk.data.from_tonic([(ev, 0)], T=0, sensor_size=(34, 34, 2))
    with pytest.raises(ValueError, match="sensor_size: list has no sensor_size"):
        nk.data.from_tonic([(ev, 0)], T=3)
    with pytest.raises(ValueError, match="time_window: expected a bin length > 0"):
        nk.data.from_tonic([(ev, 0)], T=3, time_window=-1, sensor_size=(34, 34, 2))
    with pytest.raises(ValueError, match=r"dataset\[0\]: expected events as a structured array"):
        nk.data.from_tonic([(np.zeros((3, 4)), 0)], T=3, sensor_size=(34, 34, 2))[0]
    ev["x"] = 40
    with pytest.raises(ValueError, match=r"dataset\[0\]: field 'x' reaches 40, outside sensor_size"):
        nk.data.from_tonic([(ev, 0)], T=3, sensor_size=(34, 34, 2))[0]
