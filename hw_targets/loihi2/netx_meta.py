"""Datasets of a netx file kept as read, so that :func:`hw_targets.loihi2.netx.save_netx` writes a file read by
``load_netx`` back identically (dtypes, extra neuron fields, per-neuron delays, 5-D kernels, ``simulation/*``).

A block's raw datasets (:func:`read_raw`) are written back over what the writer produced wherever they still mean
the same to netx (:func:`restore`): a raw value whose netx reading differs from the network's (weights changed by
fine-tuning, say) is dropped and the network's value is written.
"""

from __future__ import annotations

import h5py
import numpy as np

class NetxFormatError(ValueError):
    """A ``.net`` file that is unreadable, truncated, or misses/violates a field."""


class NetxUnsupportedError(NetxFormatError):
    """A valid ``.net`` file with a block or neuron type neurokit (or Lava) cannot run; the message names it."""


#: Datasets the writer adds that netx does not read; left out of a block read from a file that did not have them.
OPTIONAL = frozenset({"refDelay", "gradedSpike", "inFeatures", "outFeatures", "inChannels", "outChannels",
                      "kernelSize", "neuron/refDelay", "neuron/gradedSpike", "neuron/activation", "Ts"})
_LIF_TYPES = {"CUBA", "LOIHI"}  # the same Lava LIF for netx's get_neuron_params
#: ``lava.lib.dl.netx.hdf5.Network.create_dense``'s neuron for a dense block without one: ``'vThMant': 1 << 18 - 1``
#: in its source, i.e. ``1 << 17`` by Python's precedence.
NETX_DEFAULT_NEURON = {"type": "CUBA", "iDecay": 0, "vDecay": 4096, "vThMant": 1 << 17}
#: Key of ``LoihiNetwork.netx`` marking a network read from a file whose first block is not an input block (slayer's
#: export of dense blocks alone; netx reads the input size from the first block): written back without one.
NO_INPUT_BLOCK = "layout/no_input_block"


def read_raw(g: h5py.Group) -> dict[str, tuple[object, np.dtype]]:
    """Every dataset under ``g`` as ``{relative path: (value as stored, dtype)}``.

    Example: ``read_raw(h5py.File("m.net")["layer/1"])["neuron/vThMant"]`` -> ``(80, dtype('int64'))``.
    """
    out: dict[str, tuple[object, np.dtype]] = {}

    def visit(name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset):
            out[name] = (obj[()], obj.dtype)

    g.visititems(visit)
    return out


def netx_delay(d, wshape: tuple[int, int]) -> np.ndarray:
    """Delays as netx's ``create_dense`` expands them to the weight's ``(out, in)`` shape: a matrix as it is, a
    scalar broadcast, an ``(out,)`` vector per neuron (slayer's axonal delay), an ``(in,)`` vector per input.

    Example: ``netx_delay(np.array([1, 2]), (2, 3)).tolist()`` -> ``[[1, 1, 1], [2, 2, 2]]``.
    """
    d = np.asarray(d)
    if d.ndim == 0:
        return np.full(wshape, d)
    if d.shape == tuple(wshape):
        return d
    if d.ndim == 1 and d.size == wshape[0]:
        return np.repeat(d.reshape(-1, 1), wshape[1], axis=1)
    if d.ndim == 1 and d.size == wshape[1]:
        return np.repeat(d.reshape(1, -1), wshape[0], axis=0)
    raise ValueError(f"shape {d.shape}, expected {tuple(wshape)} (out, in), ({wshape[0]},) per neuron, "
                     f"({wshape[1]},) per input or a scalar")


def text(v) -> str:
    """A netx string dataset's value (``|S10 (1,)``, vlen ``()``, bytes or str) as ``str``; ``""`` if empty.

    Example: ``text(np.array([b"dense"]))`` -> ``'dense'``.
    """
    if np.ndim(v):
        v = np.asarray(v).reshape(-1)
        v = v[0] if v.size else b""
    return v.decode("ascii", "replace") if isinstance(v, bytes) else str(v)


def _same(key: str, raw, ours) -> bool:
    """Whether netx reads ``raw`` and ``ours`` (dataset ``key`` of one block) the same way."""
    leaf = key.rsplit("/", 1)[-1]
    if leaf == "type":
        a, b = text(raw), text(ours)
        return a == b or (key == "neuron/type" and {a, b} <= _LIF_TYPES)
    raw, ours = np.asarray(raw), np.asarray(ours)
    if raw.dtype.kind in "OSU" or ours.dtype.kind in "OSU":
        return raw.tolist() == ours.tolist()
    if leaf == "shape":  # (N,), (N, 1, 1) and (1, 1, N) all mean N neurons to netx
        return [d for d in raw.reshape(-1) if d != 1] == [d for d in ours.reshape(-1) if d != 1]
    if leaf == "delay" and ours.ndim == 2:
        try:
            return np.array_equal(netx_delay(raw, ours.shape), ours)
        except ValueError:
            return False
    return raw.size == ours.size and np.array_equal(raw.reshape(ours.shape).astype(np.float64),
                                                    ours.astype(np.float64))


def restore(g: h5py.Group, raw: dict, keep: tuple[str, ...] = ()) -> None:
    """Write ``raw`` (from :func:`read_raw`) into the freshly written block ``g``: each dataset that netx reads the
    same as the one written replaces it (original dtype and form), extra datasets are added, and datasets in
    ``OPTIONAL`` that the file read did not have are removed. A default-integrator neuron group (netx's, for a dense
    block without one) is removed when the file had none. ``keep``: datasets never replaced. No-op for ``{}``.

    Example: ``restore(f["layer/1"], layer.netx)`` after writing ``layer``.
    """
    if not raw:
        return
    written = []
    g.visititems(lambda name, obj: written.append(name) if isinstance(obj, h5py.Dataset) else None)
    for key, (value, dtype) in raw.items():
        if key in keep:
            continue
        if key in g:
            if not _same(key, value, g[key][()]):
                continue  # the network changed this field: the value written stands
            del g[key]
        g.create_dataset(key, data=value, dtype=dtype)
    for key in written:
        if key not in raw and key in OPTIONAL and key in g:
            del g[key]
    if "neuron" in g and not any(k.startswith("neuron/") for k in raw) and _is_default(g["neuron"]):
        del g["neuron"]


def _is_default(n: h5py.Group) -> bool:
    return all(k in n and int(np.asarray(n[k][()])) == v for k, v in NETX_DEFAULT_NEURON.items() if k != "type")
