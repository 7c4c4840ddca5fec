"""lava-dl netx HDF5 (``.net``) reader for :class:`LoihiNetwork` (the writer, :func:`save_netx`, and the layout it
writes: :mod:`hw_targets.loihi2.netx_write`; SDNN neuron groups: :mod:`hw_targets.loihi2.netx_sdnn`).

The reader follows ``lava.lib.dl.netx.hdf5.Network`` (lava-dl ``src/lava/lib/dl/netx/hdf5.py``): ``num_layers`` /
``skip_layers`` count the file's blocks (skipped blocks are read and checked, the network starts after them); an
input block with a ``neuron`` is the :class:`InputLayer`; a ``dense`` block without one gets netx's default
integrator (``NETX_DEFAULT_NEURON``: its ``vThMant = 1 << 18 - 1`` is ``1 << 17`` by Python's precedence, so it never
fires); delays may be a matrix, per neuron ``(out,)``, per input ``(in,)`` or a scalar (``netx_meta.netx_delay``).
``SDNN`` neurons are read as netx builds them (:class:`~hw_targets.loihi2.sdnn.SigmaDeltaNeuron`: ``Delta`` for
the input block, ``Sigma`` with ``neuron/sigma_output``, else ``SigmaDelta``; :mod:`.netx_sdnn`; simulated by
:mod:`hw_targets.loihi2.sdnn`) and written back by :func:`save_netx`.
A conv block's ``delay`` (slayer's ``Conv(delay=True)``) is ignored with a warning, as ``create_conv`` ignores it
(kept on save).
Refused with the reason (:class:`NetxUnsupportedError`): blocks netx cannot build (``LAVA_UNBUILDABLE``:
``NotImplementedError`` in ``hdf5.Network``), ``RF`` neurons, complex synapses, graded spikes of CUBA neurons, an SDNN
``activation`` other than ReLU (Lava runs those; this simulator does not), delays above 62 (netx clips them).
Every dataset read is kept
(``.netx`` of the layers and the network) and :func:`save_netx` writes it back where it still holds, so a file read
and saved again is identical (``netx_meta.restore``). Table: docs/interop.md.

A last block with ``iDecay = 4096`` and ``vThMant >= 131071`` is read back as a readout (``LoihiNetwork.readout``;
``vDecay = 4096``: an accumulator, less: a leaky integrator).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import numpy as np

from .network import MAX_DECAY, ConvGeometry, InputLayer, LoihiLayer, LoihiNetwork, is_readout
from .netx_meta import (NETX_DEFAULT_NEURON, NO_INPUT_BLOCK, NetxFormatError, NetxUnsupportedError, netx_delay,
                        read_raw, text)
from .netx_sdnn import check_sdnn_group, read_sdnn_neuron
from .netx_write import save_netx

__all__ = ["LAVA_UNBUILDABLE", "NetxFormatError", "NetxUnsupportedError", "load_netx", "save_netx"]

_NEURON_KEYS = ("iDecay", "vDecay", "vThMant")
#: Block types ``hdf5.Network`` raises ``NotImplementedError`` for.
LAVA_UNBUILDABLE = ("pool", "convT", "unpool", "average", "concat")


#: What h5py and numpy raise on a damaged file or on a field of the wrong dtype / shape (a corrupt object header,
#: a string where a number belongs, an array that does not reshape); reported as :class:`NetxFormatError`.
_CORRUPT_CONTENT = (OSError, KeyError, RuntimeError, TypeError, ValueError, AttributeError, IndexError,
                    OverflowError, ZeroDivisionError)


def _read_dense_rec(g: h5py.Group, where: str, shape: tuple[int, ...] | None, fed: bool) -> LoihiLayer:
    """A netx ``dense_rec`` block (as ``lava.lib.dl.netx.hdf5.Network.create_dense(rec=True)`` reads it): ``weight``
    ``(out, in)``, ``weight_rec`` ``(out, out)`` (1-D ones reshaped to ``(out, -1)``, as netx does), no delays."""
    if shape is not None and fed:
        raise NetxFormatError(f"{where}: a dense_rec block after a conv block needs a flatten block")
    w, v = _get(g, "weight", where), _get(g, "weight_rec", where)
    out = int(np.prod(_get(g, "shape", where)))
    w, v = (a.reshape(out, -1) if a.ndim == 1 else a for a in (w, v))
    if v.ndim != 2 or v.shape != (out, out):
        raise NetxFormatError(f"{where}/weight_rec: shape {v.shape}; a dense_rec block's recurrent weight must be "
                              f"square (out, out) = ({out}, {out})")
    if "delay" in g:
        raise NetxFormatError(f"{where}/delay: delays in a dense_rec block are not supported (netx would apply the "
                              "feed-forward delays to the recurrent synapse too)")
    return _layer(g, where, w, weight_rec=v)


def _get(g: h5py.Group, key: str, where: str) -> np.ndarray:
    if key not in g:
        raise NetxFormatError(f"{where}: missing dataset '{key}'")
    return np.asarray(g[key][()])


def load_netx(path: str | Path, num_layers: int | None = None, skip_layers: int = 0) -> LoihiNetwork:
    """Read a netx ``.net`` file into a LoihiNetwork, as ``lava.lib.dl.netx.hdf5.Network`` builds it.

    Raises :class:`NetxFormatError` naming the file, layer and field for unreadable/truncated files,
    missing datasets and out-of-range values (e.g. a delay of 70: "delay: value 70 out of range, expected 0..62"),
    and :class:`NetxUnsupportedError` for block or neuron types that cannot run (module docstring).

    Args:
        path: a netx file (written by :func:`save_netx`, by slayer's ``export_hdf5`` or shipped with lava-dl).
        num_layers: read only the first ``num_layers`` blocks of the file (netx's ``num_layers``; None: all).
        skip_layers: leave out the first ``skip_layers`` blocks (netx's ``skip_layers``); the network's input is
            then the first kept block's input.

    Returns:
        The :class:`LoihiNetwork` the file describes.

    Example:
        >>> net = load_netx(save_netx(LoihiNetwork(2, [LoihiLayer(np.array([[8, -8]]), 0, 0, 5)]),
        ...                           "/tmp/rt.net"))
        >>> net.sizes
        [2, 1]
    """
    path = Path(path)
    for name, v, lo in (("num_layers", num_layers, 1), ("skip_layers", skip_layers, 0)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo):
            raise ValueError(f"load_netx: {name} must be an int >= {lo}{' or None' if lo else ''}, got {v!r}")
    if not path.is_file():
        raise NetxFormatError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except _CORRUPT_CONTENT as e:
        raise NetxFormatError(f"{path}: not a readable HDF5 netx file (truncated or corrupt?): {e}") from e
    try:
        with f:
            return _read(f, str(path), num_layers, int(skip_layers))
    except NetxFormatError:
        raise
    except _CORRUPT_CONTENT as e:  # h5py / numpy on damaged bytes, fields of the wrong dtype or shape
        raise NetxFormatError(f"{path}: unreadable content (truncated or corrupt?): {type(e).__name__}: {e}") from e


def _block_keys(f: h5py.File, name: str) -> list[str]:
    if "layer" not in f:
        raise NetxFormatError(f"{name}: missing group 'layer'")
    lg = f["layer"]
    keys = sorted(lg.keys(), key=lambda k: int(k) if k.isdigit() else -1)
    if keys != [str(i) for i in range(len(keys))] or not keys:
        raise NetxFormatError(f"{name}: layer groups must be named 0..n-1, found {list(lg.keys())}")
    return keys


def _check_runnable(groups: list[tuple[str, h5py.Group, str]]) -> None:
    """Refuse, before anything else, what neither netx nor this simulator can run, naming the real blocker."""
    for where, g, kind in groups:
        ntype = text(g["neuron/type"][()]) if "neuron/type" in g else None
        check_sdnn_group(g, where)
        if ntype is not None and ntype.startswith("RF"):
            raise NetxUnsupportedError(f"{where}/neuron/type: {ntype!r} (resonate-and-fire) is not supported; "
                                       "neurokit's Loihi simulator implements the CUBA LIF ('CUBA' / 'LOIHI') only")
        if kind in LAVA_UNBUILDABLE:
            k = int(where.rsplit("/", 1)[1])
            raise NetxUnsupportedError(
                f"{where}: block type {kind!r}: lava-dl netx cannot build it either (hdf5.Network raises "
                f"NotImplementedError); read the blocks before it with num_layers={k}")
        if kind == "dense_comp" or "weight" in g and isinstance(g["weight"], h5py.Group):
            raise NetxUnsupportedError(f"{where}: complex synapses (weight/real + weight/imag) are not supported")


def _read(f: h5py.File, name: str, num_layers: int | None, skip: int) -> LoihiNetwork:
    keys = _block_keys(f, name)[:num_layers]
    lg = f["layer"]
    groups = []
    for k in keys:
        g, where = lg[k], f"{name}: layer/{k}"
        if "type" not in g:
            raise NetxFormatError(f"{where}: missing dataset 'type'")
        groups.append((where, g, text(g["type"][()])))
    _check_runnable(groups)
    meta = {f"simulation/{k}": v for k, v in read_raw(f["simulation"]).items()} if "simulation" in f else {}
    n_in: int | None = None
    input_layer: InputLayer | None = None
    shape: tuple[int, ...] | None = None  # the previous block's (C, H, W) map; None once flat
    layers: list[LoihiLayer] = []
    pending_flatten: dict = {}
    for i, (where, g, kind) in enumerate(groups):
        keep = i >= skip
        if kind == "input":
            shape, inp = _read_input(g, where, bool(layers))
            if keep:
                input_layer, n_in = inp, int(np.prod(shape or _get(g, "shape", where)))
                meta.update({f"input/{k}": v for k, v in read_raw(g).items() if not k.startswith("neuron/")})
        elif kind == "flatten":
            shape = None
            if keep:
                pending_flatten = read_raw(g)
        elif kind in _READERS:
            layer = _READERS[kind](g, where, shape, bool(layers) or input_layer is not None)
            shape = layer.out_shape if layer.conv is not None else None
            if keep:
                meta.update({f"flatten/{len(layers)}/{k}": v for k, v in pending_flatten.items()})
                pending_flatten = {}
                layers.append(layer)
        else:
            raise NetxUnsupportedError(f"{where}: block type {kind!r} is not supported (expected 'input', 'dense', "
                                       "'dense_rec', 'conv' or 'flatten')")
    if not layers:
        raise NetxFormatError(f"{name}: no dense or conv layers{f' after skipping {skip} blocks' if skip else ''}")
    if n_in is None:
        n_in = layers[0].n_in
        if not skip and groups[0][2] != "input":  # slayer's files of dense blocks alone: written back without one
            meta[NO_INPUT_BLOCK] = (True, np.dtype(bool))
    try:
        return LoihiNetwork(n_in, layers, readout=is_readout(layers[-1]), input_layer=input_layer, netx=meta)
    except ValueError as e:
        raise NetxFormatError(f"{name}: {e}") from e


def _read_input(g: h5py.Group, where: str, fed: bool) -> tuple[tuple[int, ...] | None, InputLayer | None]:
    """An input block: its ``(C, H, W)`` map (None if flat) and its :class:`InputLayer` (None without a neuron)."""
    s = tuple(int(v) for v in _get(g, "shape", where).reshape(-1))
    inp = None
    if "neuron" in g:
        if fed:
            raise NetxFormatError(f"{where}: an input block with a neuron must come before every synapse")
        inp = _input_layer(g, where, s)
    return (s if len(s) == 3 else None), inp


def _read_dense(g: h5py.Group, where: str, shape: tuple[int, ...] | None, fed: bool) -> LoihiLayer:
    if shape is not None and fed:
        raise NetxFormatError(f"{where}: a dense block after a conv block needs a flatten block")
    w = _get(g, "weight", where)
    out = _get(g, "shape", where)
    if w.ndim == 1:
        w = w.reshape(int(np.prod(out)), -1)
    delay = None
    if "delay" in g:
        try:
            delay = netx_delay(_get(g, "delay", where), w.shape)
        except ValueError as e:
            raise NetxFormatError(f"{where}/delay: {e}") from e
    return _layer(g, where, w, delay=delay)


def _read_conv(g: h5py.Group, where: str, in_shape: tuple[int, ...] | None, fed: bool) -> LoihiLayer:
    del fed  # a conv block reads the (C, H, W) map before it, whether spiking or the network input
    if in_shape is None:
        raise NetxFormatError(f"{where}: a conv block needs a (C, H, W) input (the input block or a conv "
                              "block, no flatten in between)")
    if "neuron" not in g:
        raise NetxFormatError(f"{where}: missing group 'neuron' (netx's create_conv needs one)")
    w = _get(g, "weight", where)
    if w.ndim == 5 and w.shape[4] == 1:  # slayer's (C_out, C_in, kH, kW, 1): netx reshapes to weight.shape[:4]
        w = w.reshape(w.shape[:4])
    if w.ndim != 4:
        raise NetxFormatError(f"{where}/weight: expected (C_out, C_in / groups, kH, kW) or slayer's "
                              f"(C_out, C_in / groups, kH, kW, 1), got shape {w.shape}")
    geo = {k: _get(g, k, where) for k in ("stride", "padding", "dilation", "groups")}
    try:
        conv = ConvGeometry(in_shape, **{k: np.broadcast_to(v, (2,)) for k, v in geo.items() if k != "groups"},
                            groups=int(geo["groups"].reshape(())))
    except ValueError as e:
        raise NetxFormatError(f"{where}: {e}") from e
    if "delay" in g:  # slayer's Conv(delay=True) writes per-channel delays; Lava's Conv process has none
        warnings.warn(f"{where}/delay: netx's create_conv ignores a conv block's delays; read without them, as Lava "
                      "runs the block (slayer's own run delayed its spikes)", UserWarning, stacklevel=4)
    layer = _layer(g, where, w, conv=conv)
    shape = tuple(int(v) for v in _get(g, "shape", where).reshape(-1))
    if shape != layer.out_shape:
        raise NetxFormatError(f"{where}/shape: {list(shape)}, but the convolution gives {list(layer.out_shape)}")
    return layer


#: Block type -> reader ``(group, where, input map shape or None, whether a spiking block feeds it) -> LoihiLayer``.
_READERS = {"dense": _read_dense, "dense_rec": _read_dense_rec, "conv": _read_conv}


def _neuron_params(g: h5py.Group, where: str) -> tuple[int, int, int]:
    """``(iDecay, vDecay, vThMant)`` of the block's CUBA neuron (netx's default integrator if it has none)."""
    if "neuron" not in g:
        return tuple(NETX_DEFAULT_NEURON[k] for k in _NEURON_KEYS)
    ng = g["neuron"]
    ntype = text(ng["type"][()]) if "type" in ng else None
    if ntype not in ("CUBA", "LOIHI"):
        raise NetxUnsupportedError(f"{where}/neuron/type: got {ntype!r}, expected 'CUBA' or 'LOIHI'")
    if "messageBits" in ng and int(np.asarray(ng["messageBits"][()])) != 0:
        raise NetxUnsupportedError(f"{where}/neuron/messageBits: graded spikes are not supported (binary only)")
    vals = {k: _get(ng, k, where + "/neuron") for k in _NEURON_KEYS}
    for k, v in vals.items():
        if v.size != 1:
            raise NetxFormatError(f"{where}/neuron/{k}: expected a scalar, got shape {v.shape}")
    return tuple(int(vals[k].reshape(())) for k in _NEURON_KEYS)


def _cuba_or_sdnn(g: h5py.Group, where: str, input_block: bool) -> tuple[tuple[int, int, int], dict]:
    """``((iDecay, vDecay, vThMant), extra kwargs)``: the CUBA parameters, or for an SDNN neuron placeholders the
    layer ignores and ``{"sdnn": SigmaDeltaNeuron}``."""
    sd = read_sdnn_neuron(g, where, input_block)
    if sd is not None:
        return (MAX_DECAY, 0, 0), {"sdnn": sd}
    return _neuron_params(g, where), {}


def _input_layer(g: h5py.Group, where: str, shape: tuple[int, ...]) -> InputLayer:
    params, kw = _cuba_or_sdnn(g, where, True)
    try:
        return InputLayer(shape, *params, **kw, netx={k: v for k, v in read_raw(g).items()
                                                                  if k.startswith("neuron/")})
    except ValueError as e:
        raise NetxFormatError(f"{where}: {e}") from e


def _layer(g: h5py.Group, where: str, w: np.ndarray, **kw) -> LoihiLayer:
    """The block's CUBA neuron + bias around synapse ``w`` (``kw``: ``delay`` or ``conv``)."""
    (i_decay, v_decay, vth), sd = _cuba_or_sdnn(g, where, False)
    bias = _get(g, "bias", where).reshape(-1) if "bias" in g else None
    try:
        return LoihiLayer(w, i_decay, v_decay, vth, bias=bias, netx=read_raw(g), **sd, **kw)
    except ValueError as e:
        raise NetxFormatError(f"{where}/{e}") from e
