"""The SHD/SSC reader's own vlen reader (``neurokit/data/hdf5_vlen.py``).

* Reference: on valid files of every handled storage (contiguous, user block, chunked, deflate + shuffle, unwritten
  elements, empty elements, objects larger than a heap collection, int/uint/float16/32/64) it returns exactly what
  h5py (libhdf5) returns; for a big-endian base type it returns the written values (h5py returns the raw
  big-endian bytes as native floats there, so it is no reference for that case).
* The file that made libhdf5 loop forever (a flipped bit that leaves a zero-size free-space block at the end of the
  global heap collection) loads through the dataset with the right arrays; the libhdf5 read of it is not attempted.
* Every byte of the heap collection's headers and of the vlen descriptors, set to 0x00, 0xFF or with its top bit
  flipped: the dataset loads with a usable result or raises ``ValueError`` (exhaustive, deterministic).
* Storage it does not handle (lzf chunks, compact layout) is refused naming the field and the layout / filter.
"""
from __future__ import annotations

import struct

import h5py
import numpy as np
import pytest

import neurokit as nk
from neurokit.data.hdf5_vlen import VlenField
from tests.helpers.shd_files import write_small_shd


def _write(path, arrays, dtype, userblock=0, **dataset_kwargs):
    with h5py.File(path, "w", **({"userblock_size": userblock} if userblock else {})) as f:
        d = f.create_dataset("a", (len(arrays),), dtype=h5py.vlen_dtype(dtype), **dataset_kwargs)
        for i, a in enumerate(arrays):
            if a is not None:                      # None: element never written (fill value, maybe no storage)
                d[i] = np.asarray(a, dtype)
    return path


def _arrays(dtype, n=30, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        size = 0 if i % 7 == 3 else int(rng.integers(1, 1500 if i % 9 == 0 else 25))   # some above 4 KiB
        out.append((rng.uniform(0, 100, size)).astype(dtype))
    return out


def _read_all(path):
    with h5py.File(path, "r") as f:
        field = VlenField.from_dataset(f, "a")
    with open(path, "rb") as raw:
        return [field.read(raw.fileno(), i) for i in range(len(field))]


STORAGES = {
    "contiguous": {},
    "userblock": {"userblock": 1024},
    "chunked": {"chunks": (7,)},
    "deflate-shuffle": {"chunks": (8,), "compression": "gzip", "shuffle": True},
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int32, np.uint16, np.int8])
@pytest.mark.parametrize("storage", list(STORAGES))
def test_reads_what_libhdf5_reads(tmp_path, storage, dtype):
    arrays = _arrays(dtype)
    arrays[5] = None
    path = _write(tmp_path / "v.h5", arrays, dtype, **STORAGES[storage])
    with h5py.File(path, "r") as f:
        expected = [f["a"][i] for i in range(len(arrays))]
    got = _read_all(path)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g.dtype == e.dtype and np.array_equal(g, e), (storage, i)
    assert got[3].size == 0 and got[5].size == 0


def test_unwritten_dataset_reads_as_empty(tmp_path):
    assert [a.size for a in _read_all(_write(tmp_path / "e.h5", [None] * 4, np.float64))] == [0] * 4
    assert [a.size for a in _read_all(_write(tmp_path / "c.h5", [None] * 4, np.float64, chunks=(2,)))] == [0] * 4


def test_big_endian_values_are_the_written_ones(tmp_path):
    arrays = _arrays(np.float64, n=6)
    got = _read_all(_write(tmp_path / "be.h5", arrays, np.dtype(">f4")))
    for g, a in zip(got, arrays):
        np.testing.assert_array_equal(g, a.astype(">f4"))


def test_lzf_chunks_and_compact_layout_are_refused_naming_them(tmp_path):
    path = _write(tmp_path / "lzf.h5", _arrays(np.float64, n=4), np.float64, chunks=(2,), compression="lzf")
    with pytest.raises(ValueError, match=r"field 'a' chunk 0: chunks use HDF5 filter 32000.*h5repack -f NONE"):
        _read_all(path)
    with h5py.File(tmp_path / "compact.h5", "w") as f:
        space = h5py.h5s.create_simple((2,))
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        h5py.h5d.create(f.id, b"a", h5py.h5t.vlen_create(h5py.h5t.NATIVE_DOUBLE), space, dcpl=dcpl)
    with pytest.raises(ValueError, match=r"field 'a': storage layout .*compact.*h5repack -l CONTI"):
        _read_all(tmp_path / "compact.h5")


# ---------------------------------------------------------------- damaged SHD files
def _shd(path):
    """The fuzzer's SHD file: 3 samples, vlen float64 times and int32 units in one global heap collection."""
    write_small_shd(path)
    with h5py.File(path, "r") as f:
        descriptors = [f[n].id.get_offset() for n in ("spikes/times", "spikes/units")]
    data = bytearray(path.read_bytes())
    heap = data.index(b"GCOL")
    return data, heap, descriptors


def _objects(data, heap):
    """Byte offsets of the object headers in the collection at ``heap`` (8-byte lengths, as h5py writes)."""
    size, p, out = struct.unpack_from("<Q", data, heap + 8)[0], 16, []
    while p + 16 <= size:
        index, obj = struct.unpack_from("<H", data, heap + p)[0], struct.unpack_from("<Q", data, heap + p + 8)[0]
        out.append(heap + p)
        if index == 0:
            break
        p += 16 + -(-obj // 8) * 8
    return out


def _load(path):
    ds = nk.data.shd(path, T=10, dt=0.1, pool=70)
    return [ds[i] for i in range(len(ds))]


def test_zero_size_free_space_block_that_hung_libhdf5_loads(tmp_path):
    data, heap, _ = _shd(tmp_path / "ok.h5")
    expected = _load(tmp_path / "ok.h5")
    free = _objects(data, heap)[-1]
    size = struct.unpack_from("<Q", data, free + 8)[0]
    struct.pack_into("<Q", data, free + 8, size - 16)    # 16 zero bytes left after it: index 0, size 0
    (tmp_path / "hang.h5").write_bytes(bytes(data))
    got = _load(tmp_path / "hang.h5")
    assert all(np.array_equal(g[0], e[0]) and g[1] == e[1] for g, e in zip(got, expected))


def test_every_damaged_header_or_descriptor_byte_loads_or_raises_value_error(tmp_path):
    data, heap, descriptors = _shd(tmp_path / "ok.h5")
    positions = [heap + k for k in range(16)]                                    # collection header
    positions += [p + k for p in _objects(data, heap) for k in range(16)]       # object headers
    positions += [d + k for d in descriptors for k in range(3 * 16)]            # (length, address, index) x 3
    outcomes = {"valid": 0, "ValueError": 0}
    for pos in positions:
        for value in {0x00, 0xFF, data[pos] ^ 0x80}:
            damaged = bytearray(data)
            damaged[pos] = value
            (tmp_path / "d.h5").write_bytes(bytes(damaged))
            try:
                samples = _load(tmp_path / "d.h5")
            except ValueError:
                outcomes["ValueError"] += 1
                continue
            assert all(x.shape == (10, 10) and 0 <= y < 20 for x, y in samples), pos
            outcomes["valid"] += 1
    assert len(positions) == 16 + 7 * 16 + 2 * 48 and min(outcomes.values()) > 0, outcomes
