"""Data loaders: digits, synthetic delay tasks, SHD/SSC HDF5, N-MNIST binary events, time-major collate."""
import struct

import h5py
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader

import neurokit as nk
from neurokit.data import (NMNISTDataset, SequenceDataset, SpikeHDF5Dataset, coincidence_task, collate_time_major,
                           delay_task, delay_task_gaps, digits, read_events, shd, ssc, write_events)


# ---------------------------------------------------------------- collate / base

def test_collate_stacks_time_major():
    samples = [(torch.full((5, 3), float(i)), i) for i in range(4)]
    x, y = collate_time_major(samples)
    assert x.shape == (5, 4, 3) and y.dtype == torch.long
    for i in range(4):
        assert torch.equal(x[:, i], samples[i][0])
    assert y.tolist() == [0, 1, 2, 3]


def test_collate_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"batch\[1\].*\(4, 3\).*\(5, 3\)"):
        collate_time_major([(torch.zeros(5, 3), 0), (torch.zeros(4, 3), 1)])
    with pytest.raises(ValueError, match="empty"):
        collate_time_major([])


def test_sequence_dataset_validates():
    with pytest.raises(ValueError, match="y: expected a 1-D tensor of 3 labels"):
        SequenceDataset(torch.zeros(3, 4, 2), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="y: expected integer labels"):
        SequenceDataset(torch.zeros(3, 4, 2), torch.zeros(3))
    with pytest.raises(ValueError, match="x: expected a tensor"):
        SequenceDataset(torch.zeros(3), torch.zeros(3, dtype=torch.long))


# ---------------------------------------------------------------- digits

def test_digits_direct_matches_sklearn_images():
    train, test = digits(T=3, encoding="direct", seed=0)
    assert len(train) + len(test) == 1797 and train.num_classes == 10
    ref = load_digits()
    ref_images = torch.as_tensor(ref.images, dtype=torch.float32).reshape(1797, 64) / 16.0
    order = torch.randperm(1797, generator=torch.Generator().manual_seed(0))
    test_idx = order[:len(test)]
    for k in (0, 5, len(test) - 1):
        x, y = test[k]
        i = int(test_idx[k])
        assert x.shape == (3, 64)
        torch.testing.assert_close(x, ref_images[i].expand(3, 64), rtol=0, atol=0)
        assert y == int(ref.target[i])


def test_digits_rate_is_seeded_and_tracks_intensity():
    a_train, a_test = digits(T=64, encoding="rate", seed=3)
    b_train, _ = digits(T=64, encoding="rate", seed=3)
    c_train, _ = digits(T=64, encoding="rate", seed=4)
    assert torch.equal(a_train.x, b_train.x)
    assert not torch.equal(a_train.x, c_train.x)
    assert set(torch.unique(a_train.x).tolist()) <= {0.0, 1.0}
    direct_train, _ = digits(T=1, encoding="direct", seed=3)
    # spike frequency over 64 steps estimates the pixel intensity (Bernoulli; std <= 1/16 per pixel)
    err = (a_train.x.mean(1) - direct_train.x[:, 0]).abs().mean()
    assert err < 0.06
    # splits are disjoint: every image is either train or test
    assert len(a_train) + len(a_test) == 1797


def test_digits_latency_and_image_layout():
    train, _ = digits(T=6, encoding="latency", flatten=False)
    x, _ = train[0]
    assert x.shape == (6, 1, 8, 8)
    assert (x.sum(0) <= 1).all()          # latency code: at most one spike per pixel
    with pytest.raises(ValueError, match="encoding: expected one of"):
        digits(encoding="delta")
    with pytest.raises(ValueError, match="test_fraction"):
        digits(test_fraction=1.5)


# ---------------------------------------------------------------- synthetic tasks

def test_delay_task_gap_encodes_class():
    train, test = delay_task(n_train=64, n_test=16, T=24, n_classes=4, min_gap=2, gap_step=5, seed=7)
    gaps = delay_task_gaps(4, min_gap=2, gap_step=5)
    assert gaps.tolist() == [2, 7, 12, 17]
    for ds in (train, test):
        assert (ds.x.sum(1) == 1).all()                       # one spike per channel per sample
        t0 = ds.x[:, :, 0].argmax(1)
        t1 = ds.x[:, :, 1].argmax(1)
        assert torch.equal(t1 - t0, gaps[ds.y])
        assert (t0 < 24 - 17).all()
    assert torch.bincount(train.y).tolist() == [16, 16, 16, 16]
    again, _ = delay_task(n_train=64, n_test=16, T=24, n_classes=4, min_gap=2, gap_step=5, seed=7)
    assert torch.equal(again.x, train.x) and torch.equal(again.y, train.y)
    other, _ = delay_task(n_train=64, n_test=16, T=24, n_classes=4, min_gap=2, gap_step=5, seed=8)
    assert not torch.equal(other.x, train.x)


def test_delay_task_noise_and_errors():
    clean, _ = delay_task(n_train=32, n_test=8, T=30, seed=0, noise_rate=0.0)
    noisy, _ = delay_task(n_train=32, n_test=8, T=30, seed=0, noise_rate=0.2)
    assert noisy.x.sum() > clean.x.sum()
    assert set(torch.unique(noisy.x).tolist()) == {0.0, 1.0}
    with pytest.raises(ValueError, match="T: the largest gap is 10"):
        delay_task(T=10, n_classes=4, min_gap=1, gap_step=3)
    with pytest.raises(ValueError, match="noise_rate"):
        delay_task(noise_rate=1.5)
    with pytest.raises(ValueError, match="n_classes"):
        delay_task(n_classes=1)


def test_coincidence_task_patterns():
    train, test = coincidence_task(n_train=40, n_test=12, T=30, n_channels=5, n_classes=3, max_offset=9, seed=2)
    patterns = train.patterns
    assert patterns.shape == (3, 5) and torch.unique(patterns, dim=0).shape[0] == 3
    assert (patterns.min(1).values == 0).all() and patterns.max() <= 9
    for ds in (train, test):
        assert (ds.x.sum(1) == 1).all()                       # every channel fires once, in every class
        times = ds.x.argmax(1)                                # [N, C]
        rel = times - times.min(1, keepdim=True).values
        assert torch.equal(rel, patterns[ds.y])
    with pytest.raises(ValueError, match="T: expected T > max_offset"):
        coincidence_task(T=8, max_offset=8)


# ---------------------------------------------------------------- SHD / SSC

def _write_shd(path, times, units, labels, skip=None, labels_dtype=np.uint8):
    """Write the official SHD layout: spikes/times (vlen float), spikes/units (vlen uint16), labels."""
    with h5py.File(path, "w") as f:
        spikes = f.create_group("spikes")
        if skip != "spikes/times":
            d = spikes.create_dataset("times", (len(times),), dtype=h5py.vlen_dtype(np.float32))
            for i, t in enumerate(times):
                d[i] = np.asarray(t, np.float32)
        if skip != "spikes/units":
            d = spikes.create_dataset("units", (len(units),), dtype=h5py.vlen_dtype(np.uint16))
            for i, u in enumerate(units):
                d[i] = np.asarray(u, np.uint16)
        if skip != "labels":
            f.create_dataset("labels", data=np.asarray(labels, labels_dtype))


def _reference_bins(times, units, T, dt, pool, n_channels):
    out = np.zeros((T, n_channels), np.float32)
    for t, u in zip(times, units):
        step = int(np.floor(float(np.float32(t)) / dt))     # stored float32 seconds, binned in float64
        if step < T:
            out[step, u // pool] += 1
    return out


@pytest.fixture
def shd_file(tmp_path):
    rng = np.random.default_rng(0)
    times, units = [], []
    for n in (50, 0, 13):
        times.append(np.sort(rng.uniform(0, 1.2, n)).astype(np.float32))
        units.append(rng.integers(0, 700, n))
    path = tmp_path / "shd_train.h5"
    _write_shd(path, times, units, [3, 19, 0])
    return path, times, units


def test_shd_bins_and_pools_like_reference(shd_file):
    path, times, units = shd_file
    ds = shd(path, T=50, dt=0.02, pool=7)
    assert len(ds) == 3 and ds.n_channels == 100
    for i in range(3):
        x, y = ds[i]
        assert x.shape == (50, 100) and x.dtype == torch.float32
        ref = _reference_bins(times[i], units[i], 50, 0.02, 7, 100)
        np.testing.assert_array_equal(x.numpy(), ref)
        assert y == [3, 19, 0][i]
    # spikes after T * dt (1.0 s) are dropped: counts equal the number of spikes before 1.0 s
    assert ds[0][0].sum() == (times[0] < 1.0).sum()
    loader = DataLoader(ds, batch_size=3, collate_fn=collate_time_major)
    xb, yb = next(iter(loader))
    assert xb.shape == (50, 3, 100) and yb.tolist() == [3, 19, 0]


def test_ssc_uses_35_classes(tmp_path):
    path = tmp_path / "ssc.h5"
    _write_shd(path, [[0.001, 0.5]], [[699, 0]], [34])
    ds = ssc(path, T=10, dt=0.1, pool=700)
    x, y = ds[0]
    assert y == 34 and x.shape == (10, 1) and x[0, 0] == 1 and x[5, 0] == 1
    with pytest.raises(ValueError, match=r"'labels' has values in \[34, 34\], expected \[0, 20\)"):
        shd(path)


@pytest.mark.parametrize("field", ["spikes/times", "spikes/units", "labels"])
def test_shd_missing_field_is_named(tmp_path, field):
    path = tmp_path / "broken.h5"
    _write_shd(path, [[0.1]], [[1]], [0], skip=field)
    with pytest.raises(ValueError, match=f"missing field '{field}'"):
        shd(path)


def test_shd_corrupt_fields_are_named(tmp_path):
    path = tmp_path / "lengths.h5"
    _write_shd(path, [[0.1], [0.2]], [[1], [2]], [0])
    with pytest.raises(ValueError, match=r"field 'spikes/times' has shape \(2,\), expected \(1,\)"):
        shd(path)
    path = tmp_path / "units.h5"
    _write_shd(path, [[0.1, 0.2]], [[1, 800]], [0])
    with pytest.raises(ValueError, match=r"sample 0: field 'spikes/units' has values in \[1, 800\]"):
        shd(path)[0]
    path = tmp_path / "pairs.h5"
    _write_shd(path, [[0.1, 0.2]], [[1]], [0])
    with pytest.raises(ValueError, match=r"sample 0: field 'spikes/units' has shape \(1,\) but 'spikes/times'"):
        shd(path)[0]
    path = tmp_path / "neg.h5"
    _write_shd(path, [[-0.1]], [[1]], [0])
    with pytest.raises(ValueError, match="field 'spikes/times' must be finite and >= 0"):
        shd(path)[0]
    path = tmp_path / "float_labels.h5"
    _write_shd(path, [[0.1]], [[1]], [0.5], labels_dtype=np.float32)
    with pytest.raises(ValueError, match="field 'labels' has dtype float32"):
        shd(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        shd(tmp_path / "nope.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        shd(tmp_path / "junk.h5")
    with pytest.raises(ValueError, match="dt: expected a bin size"):
        SpikeHDF5Dataset(path, dt=0.0)


# ---------------------------------------------------------------- N-MNIST

def _pack_event(x, y, p, t):
    """Spec: 40 bits big-endian; x (8) | y (8) | polarity (1) | timestamp us (23)."""
    word = (x << 32) | (y << 24) | (p << 23) | t
    return struct.pack(">Q", word)[3:]


def test_nmnist_reader_decodes_spec_bytes(tmp_path):
    events = [(0, 33, 1, 0), (17, 2, 0, 123456), (33, 0, 1, (1 << 23) - 1)]
    path = tmp_path / "s.bin"
    path.write_bytes(b"".join(_pack_event(*e) for e in events))
    ev = read_events(path)
    for key, col in zip("xypt", zip(*events)):
        assert ev[key].tolist() == list(col)
    write_events(tmp_path / "w.bin", *[list(c) for c in zip(*events)])
    assert (tmp_path / "w.bin").read_bytes() == path.read_bytes()


def test_nmnist_reader_and_writer_errors(tmp_path):
    (tmp_path / "bad.bin").write_bytes(b"\x00" * 7)
    with pytest.raises(ValueError, match="file size 7 bytes is not a multiple of 5"):
        read_events(tmp_path / "bad.bin")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_events(tmp_path / "missing.bin")
    with pytest.raises(ValueError, match=r"t: values must lie in \[0, 8388607\]"):
        write_events(tmp_path / "x.bin", [0], [0], [0], [1 << 23])
    with pytest.raises(ValueError, match="y: expected 2 events"):
        write_events(tmp_path / "x.bin", [0, 1], [0], [0, 0], [0, 1])


def test_nmnist_dataset_bins_folder_layout(tmp_path):
    rng = np.random.default_rng(1)
    samples = {}
    for label in (3, 7):
        folder = tmp_path / "Train" / str(label)
        folder.mkdir(parents=True)
        n = 40
        ev = dict(x=rng.integers(0, 34, n), y=rng.integers(0, 34, n), p=rng.integers(0, 2, n),
                  t=np.sort(rng.integers(0, 60_000, n)))
        write_events(folder / "00001.bin", ev["x"], ev["y"], ev["p"], ev["t"])
        samples[label] = ev
    ds = NMNISTDataset(tmp_path, split="Train", T=5, dt_us=10_000)
    assert len(ds) == 2 and ds.num_classes == 8
    for i, label in enumerate((3, 7)):
        x, y = ds[i]
        assert y == label and x.shape == (5, 2, 34, 34)
        ev = samples[label]
        ref = np.zeros((5, 2, 34, 34), np.float32)
        for xx, yy, pp, tt in zip(ev["x"], ev["y"], ev["p"], ev["t"]):
            if tt // 10_000 < 5:
                ref[tt // 10_000, pp, yy, xx] += 1
        np.testing.assert_array_equal(x.numpy(), ref)
    xb, _ = collate_time_major([ds[0], ds[1]])
    assert xb.shape == (5, 2, 2, 34, 34)


def test_nmnist_dataset_errors(tmp_path):
    write_events(tmp_path / "wide.bin", [40], [0], [1], [5])
    ds = NMNISTDataset(files=[(str(tmp_path / "wide.bin"), 0)], T=2, dt_us=10)
    with pytest.raises(ValueError, match="field 'x' has max 40, expected < 34"):
        ds[0]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        NMNISTDataset(tmp_path / "none", split="Train")
    with pytest.raises(ValueError, match="T: expected an integer >= 1"):
        NMNISTDataset(files=[("a.bin", 0)], T=0)


def test_nk_data_namespace():
    assert nk.data.digits is digits and nk.data.delay_task is delay_task
