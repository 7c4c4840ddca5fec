"""Variable-length (vlen) HDF5 fields read from the file's bytes, every length bounded before it is used.

Why not ``dataset[i]``: libhdf5 resolves a vlen element through the file's *global heap*, and a damaged global heap
collection (one flipped bit that makes a free-space block's size 0) makes it loop forever inside that one read
(seen with HDF5 2.0.0 / h5py 3.16). So the SHD/SSC reader asks libhdf5 only for a field's metadata (shape, element
type, storage layout, where its raw data lies) and reads the vlen descriptors and the heap objects itself, checking
each length and address against the file before reading. Every damaged byte then gives a ``ValueError`` naming
the file, the field and the sample (or a valid load, when the damage hits bytes nobody reads).

Layout (HDF5 File Format Specification version 3, https://docs.hdfgroup.org/hdf5/develop/_f_m_t3.html):

* a vlen element in the dataset's raw data is ``length (4 bytes) | collection address (size of offsets) | object
  index (4 bytes)``, little-endian; ``length`` counts base-type elements;
* a global heap collection is ``"GCOL" | version 1 | 3 reserved | collection size (size of lengths)`` and then its
  objects, each ``index (2) | reference count (2) | reserved (4) | size (size of lengths) | data`` padded to a
  multiple of 8 bytes; index 0 is the free space (its size counts its own header); addresses are relative to the
  base address (the user block size).

Handled storage: contiguous, and chunked with no filter or with deflate / shuffle (fletcher32 is not allowed on vlen
data). A vlen field stored another way (compact layout, another filter such as lzf) is refused with a ``ValueError``
naming the layout or filter (``h5repack -l CONTI`` / ``h5repack -f NONE`` turn it into a readable file).

Example::

    >>> with h5py.File("shd_test.h5") as f:
    ...     times = VlenField.from_dataset(f, "spikes/times")
    >>> with open("shd_test.h5", "rb") as raw:
    ...     times.read(raw.fileno(), 0)       # sample 0's spike times, float array [E]
"""
from __future__ import annotations

import os
import zlib

import numpy as np

__all__ = ["VlenField"]

_UINT = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}
_DEFLATE, _SHUFFLE = 1, 2


def _uint(buf: bytes, pos: int, size: int) -> int:
    return int.from_bytes(buf[pos:pos + size], "little")


def _pread(fd: int, size: int, offset: int, what: str) -> bytes:
    """``size`` bytes at ``offset``, checked against the file's size first (a damaged offset reads nothing)."""
    end = os.fstat(fd).st_size
    if offset < 0 or size < 0 or offset + size > end:
        raise ValueError(f"{what}: {size} bytes at offset {offset} lie outside the file ({end} bytes; truncated?)")
    return os.pread(fd, size, offset)


def _unfilter(raw: bytes, filters: list, mask: int, itemsize: int) -> bytes:
    """Undo the chunk's filter pipeline (in reverse order); filter ``k`` was skipped when bit ``k`` of ``mask``."""
    for k in reversed(range(len(filters))):
        if mask & (1 << k):
            continue
        code = filters[k][0]
        if code == _DEFLATE:
            try:
                raw = zlib.decompress(raw)
            except zlib.error as err:
                raise ValueError(f"deflate-compressed chunk cannot be decompressed ({err})") from None
        elif code == _SHUFFLE:
            n = len(raw) // itemsize
            raw = np.frombuffer(raw[:n * itemsize], np.uint8).reshape(itemsize, n).T.tobytes() + raw[n * itemsize:]
        else:
            raise ValueError(f"chunks use HDF5 filter {code} ({filters[k][3]!r}); this reader handles deflate and "
                             "shuffle only (repack the file without filters: h5repack -f NONE IN.h5 OUT.h5)")
    return raw


class VlenField:
    """A 1-D vlen dataset of numbers: ``n`` descriptors ``(length, address, index)`` and the base dtype.

    ``read(fd, i)`` returns element ``i`` as a 1-D array; every bound is checked first, so a damaged file raises
    ``ValueError`` (naming ``name`` and the element) instead of reading past the file or looping.
    """

    def __init__(self, name: str, descriptors: np.ndarray, dtype: np.dtype, base: int, file_size: int,
                 length_size: int):
        self.name, self.descriptors, self.dtype = name, descriptors, dtype
        self.base, self.file_size, self.length_size = base, file_size, length_size
        self._collections: dict[int, dict[int, tuple[int, int]]] = {}

    def __len__(self) -> int:
        return len(self.descriptors)

    def __getstate__(self):
        return {**self.__dict__, "_collections": {}}

    @classmethod
    def from_dataset(cls, f, name: str) -> "VlenField":
        """Descriptors of dataset ``f[name]`` (``f``: an open ``h5py.File``), read from its raw storage."""
        import h5py

        dset = f[name]
        base_type = h5py.check_vlen_dtype(dset.dtype)
        if base_type is None or base_type.kind not in "iuf":
            raise ValueError(f"field {name!r} has dtype {dset.dtype if base_type is None else base_type}, expected "
                             "variable-length sequences of numbers (one array per sample)")
        tid = dset.id.get_type().get_super()
        dtype = np.dtype(tid.dtype)
        if dtype.itemsize != tid.get_size():
            raise ValueError(f"field {name!r}: element type of {tid.get_size()} bytes is not a plain number")
        addr_size, length_size = f.id.get_create_plist().get_sizes()
        if addr_size not in _UINT or length_size not in _UINT:
            raise ValueError(f"file header: offsets of {addr_size} / lengths of {length_size} bytes")
        layout = np.dtype([("length", "<u4"), ("address", _UINT[addr_size]), ("index", "<u4")])
        n = dset.shape[0]
        base, file_size = int(f.userblock_size), os.path.getsize(f.filename)
        dcpl = dset.id.get_create_plist()
        kind = dcpl.get_layout()
        if kind == h5py.h5d.CONTIGUOUS and n * layout.itemsize > file_size:
            raise ValueError(f"field {name!r}: {n} elements of {layout.itemsize} bytes cannot be in a file of "
                             f"{file_size} bytes")
        desc = np.zeros(n, layout)
        with open(f.filename, "rb") as raw:
            if kind == h5py.h5d.CONTIGUOUS:
                offset = dset.id.get_offset()
                if offset is not None:
                    size = dset.id.get_storage_size()
                    if size != n * layout.itemsize:
                        raise ValueError(f"field {name!r}: raw data of {size} bytes, expected {n} x "
                                         f"{layout.itemsize} (one descriptor per sample)")
                    desc[:] = np.frombuffer(_pread(raw.fileno(), size, offset, f"field {name!r}"), layout)
            elif kind == h5py.h5d.CHUNKED:
                cls._read_chunks(dset, dcpl, desc, layout, raw.fileno(), name)
            else:
                raise ValueError(f"field {name!r}: storage layout {kind} (compact/virtual) is not handled for "
                                 "variable-length fields (repack the file: h5repack -l CONTI)")
        return cls(name, desc, dtype, base, file_size, length_size)

    @staticmethod
    def _read_chunks(dset, dcpl, desc: np.ndarray, layout: np.dtype, fd: int, name: str) -> None:
        chunk = dcpl.get_chunk()[0]
        filters = [dcpl.get_filter(k) for k in range(dcpl.get_nfilters())]
        for k in range(dset.id.get_num_chunks()):
            info = dset.id.get_chunk_info(k)
            start = info.chunk_offset[0]
            if start % chunk or start >= len(desc):
                raise ValueError(f"field {name!r}: chunk {k} starts at element {start} (chunks of {chunk}, "
                                 f"{len(desc)} elements)")
            raw = _pread(fd, info.size, info.byte_offset, f"field {name!r} chunk {k}")
            try:
                raw = _unfilter(raw, filters, info.filter_mask, layout.itemsize)
            except ValueError as err:
                raise ValueError(f"field {name!r} chunk {k}: {err}") from None
            if len(raw) != chunk * layout.itemsize:
                raise ValueError(f"field {name!r} chunk {k}: {len(raw)} bytes, expected {chunk} x {layout.itemsize}")
            stop = min(start + chunk, len(desc))
            desc[start:stop] = np.frombuffer(raw, layout)[:stop - start]

    def _collection(self, fd: int, address: int) -> dict[int, tuple[int, int]]:
        """``{object index: (file offset of its data, size)}`` of the collection at ``address`` (cached)."""
        if address in self._collections:
            return self._collections[address]
        ls, where = self.length_size, f"global heap collection at {address}"
        pos = self.base + address
        head = _pread(fd, 8 + ls, pos, where)
        if head[:4] != b"GCOL" or head[4] != 1:
            raise ValueError(f"{where}: no 'GCOL' version 1 signature")
        size = _uint(head, 8, ls)
        if size < 8 + ls or pos + size > self.file_size:
            raise ValueError(f"{where}: size {size} does not fit in the file ({self.file_size} bytes)")
        buf = _pread(fd, size, pos, where)
        objects, p = {}, 8 + ls
        while p + 8 + ls <= size:          # every step moves p forward by at least one object header
            index, obj_size = _uint(buf, p, 2), _uint(buf, p + 8, ls)
            if index == 0:                 # free space: the rest of the collection, or a block to skip
                if obj_size < 8 + ls or p + obj_size > size:
                    break
                p += obj_size
                continue
            if p + 8 + ls + obj_size > size or index in objects:
                raise ValueError(f"{where}: object {index} of {obj_size} bytes at byte {p} is out of bounds or "
                                 "repeated")
            objects[index] = (pos + p + 8 + ls, obj_size)
            p += 8 + ls + -(-obj_size // 8) * 8
        self._collections[address] = objects
        return objects

    def read(self, fd: int, i: int) -> np.ndarray:
        """Element ``i`` as a 1-D array of the field's dtype, read from the open file ``fd``."""
        length, address, index = (int(v) for v in self.descriptors[i])
        if length == 0:
            return np.zeros(0, self.dtype)
        nbytes = length * self.dtype.itemsize
        if address == 0 or nbytes > self.file_size:
            raise ValueError(f"field {self.name!r}: element {i}: {length} values at heap address {address} cannot "
                             f"be in a file of {self.file_size} bytes")
        objects = self._collection(fd, address)
        if index not in objects or objects[index][1] != nbytes:
            found = "missing" if index not in objects else f"{objects[index][1]} bytes"
            raise ValueError(f"field {self.name!r}: element {i}: heap object {index} at {address} is {found}, "
                             f"expected {length} x {self.dtype.itemsize} bytes")
        offset, size = objects[index]
        return np.frombuffer(_pread(fd, size, offset, f"field {self.name!r}"), self.dtype)
