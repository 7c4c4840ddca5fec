"""The SHD and N-MNIST loaders bin with tonic's transforms: their tensors equal the REAL tonic's ToFrame run
directly on the same events, on small files written here, including the edges (events on a bin border, at the
window end, empty samples)."""
import numpy as np
import tonic.transforms as tt
import torch

import neurokit as nk
from tests.helpers.shd_files import write_shd


def _to_frame(ev, sensor_size, time_window, T):
    if ev.size == 0:
        return None
    return tt.ToFrame(sensor_size=sensor_size, time_window=time_window, start_time=0, end_time=T * time_window)(ev)


def test_shd_loader_equals_tonic_toframe(tmp_path):
    T, dt, pool = 10, 0.01, 5
    times = [np.array([0.0, 0.01, 0.06, 0.0999, 0.1, 0.5]),   # bin borders, last bin, at and after T*dt
             np.array([]), np.sort(np.random.default_rng(0).uniform(0, 0.12, 200))]
    units = [np.array([0, 4, 5, 699, 3, 3]), np.array([], np.int64),
             np.random.default_rng(1).integers(0, 700, 200)]
    path = tmp_path / "s.h5"
    write_shd(path, times, units, [0, 1, 2])
    ds = nk.data.shd(path, T=T, dt=dt, pool=pool)
    assert ds.tonic_transforms == ("Downsample", "ToFrame")
    for i in range(3):
        x, _ = ds[i]
        assert x.shape == (T, 140) and x.dtype == torch.float32
        steps = np.floor(times[i] / dt).astype(np.int64)   # documented step rule floor(t / dt)
        ev = np.zeros(len(steps), dtype=[("t", np.int64), ("x", np.int64), ("p", np.int64)])
        ev["t"], ev["x"] = steps, units[i] // pool
        ref = _to_frame(ev, (140, 1, 1), 1, T)
        if ref is None:   # empty sample: all zeros (documented)
            assert x.sum().item() == 0
        else:
            assert torch.equal(x, torch.from_numpy(ref[:, 0].astype(np.float32)))
    x0 = ds[0][0]
    assert x0[6, 1].item() == 1 and x0[1, 0].item() == 1 and x0.sum().item() == 4  # 0.06 in step 6; t >= T*dt dropped


def test_nmnist_loader_equals_tonic_toframe(tmp_path):
    T, dt_us = 5, 1000
    rng = np.random.default_rng(2)
    n = 300
    t = np.sort(np.concatenate([rng.integers(0, 6000, n - 4), [0, 1000, 4999, 5000]]))   # borders, last, end
    x, y, p = rng.integers(0, 34, n), rng.integers(0, 34, n), rng.integers(0, 2, n)
    path = tmp_path / "a.bin"
    nk.data.write_events(path, x, y, p, t)
    ds = nk.data.NMNISTDataset(files=[(str(path), 3)], T=T, dt_us=dt_us)
    assert ds.tonic_transforms == ("ToFrame",)
    got, label = ds[0]
    ev = np.zeros(n, dtype=[("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
    ev["x"], ev["y"], ev["t"], ev["p"] = x, y, t, p
    ref = _to_frame(ev, (34, 34, 2), dt_us, T)
    assert label == 3 and got.shape == (T, 2, 34, 34)
    assert torch.equal(got, torch.from_numpy(ref.astype(np.float32)))
    assert got.sum().item() == int((t < T * dt_us).sum())   # events at or after T * dt_us dropped
    empty = tmp_path / "e.bin"
    nk.data.write_events(empty, [], [], [], [])
    assert nk.data.NMNISTDataset(files=[(str(empty), 0)], T=T, dt_us=dt_us)[0][0].sum().item() == 0
