"""Comparing netx HDF5 files dataset by dataset (what "written back identically" means in the netx tests)."""
from __future__ import annotations

import h5py
import numpy as np


def netx_datasets(path, skip=()) -> dict:
    """Every dataset of the HDF5 file at ``path`` as ``{name: (dtype, shape, values)}``, leaving out names that
    start with one of ``skip`` (a string or a tuple of strings)."""
    out = {}
    skip = (skip,) if isinstance(skip, str) else tuple(skip)
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, (o.dtype, o.shape, np.asarray(o[()])))
                     if isinstance(o, h5py.Dataset) and not (skip and n.startswith(skip)) else None)
    return out


def assert_netx_identical(a, b, skip=(), label=None) -> None:
    """The files ``a`` and ``b`` hold the same datasets with the same dtypes, shapes and values (``skip``: names
    left out, as :func:`netx_datasets`); ``label`` names the case in the failure message."""
    da, db = netx_datasets(a, skip), netx_datasets(b, skip)
    assert sorted(da) == sorted(db), (label, set(da) ^ set(db))
    for k in da:
        assert da[k][:2] == db[k][:2], (label, k, da[k][:2], db[k][:2])
        assert np.array_equal(da[k][2], db[k][2]), (label, k)
