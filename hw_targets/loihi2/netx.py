"""lava-dl netx HDF5 (``.net``) writer and reader for :class:`LoihiNetwork`.

Layout written (as lava-dl 0.6's slayer ``export_hdf5`` writes it and ``lava/lib/dl/netx/hdf5.py`` reads it; every entry
is an HDF5 *dataset*, no attributes)::

    layer/0/type          |S10 (1,)   b"input"
    layer/0/shape         int64 (1,)  [n_in]    (a conv-first network: int64 (3,) [C, H, W])
    layer/<i>/type        |S10 (1,)   b"dense"
    layer/<i>/shape       int64 (1,)  [out]
    layer/<i>/inFeatures  int64 ()    in
    layer/<i>/outFeatures int64 ()    out
    layer/<i>/weight      float32 (out, in)   integer values in [-256, 254]
    layer/<i>/delay       float32 (out, in)   per-synapse delays 0..62 (only if the layer has delays)
    layer/<i>/bias        float32 (out,)      bias_mant (only if the layer has a bias)
    layer/<i>/neuron/type        vlen str ()  "CUBA"
    layer/<i>/neuron/iDecay      int64 ()     0..4096
    layer/<i>/neuron/vDecay      int64 ()     0..4096
    layer/<i>/neuron/vThMant     int64 ()     0..131071
    layer/<i>/neuron/refDelay    int64 ()     1 (slayer's fixed value; unused by netx)
    layer/<i>/neuron/gradedSpike bool ()      False
    layer/<i>/type        |S10 (1,)   b"dense_rec"       (a recurrent dense block: the dense datasets, no delay, plus)
    layer/<i>/weight_rec  float32 (out, out)  integer values in [-256, 254]: V[o, j] from the block's own neuron j
    layer/<i>/type        |S10 (1,)   b"conv"            (a conv block; same bias / neuron datasets as dense)
    layer/<i>/shape       int64 (3,)  [C_out, H_out, W_out]
    layer/<i>/inChannels, outChannels, groups   int64 ()
    layer/<i>/kernelSize, stride, padding, dilation   int64 (2,)   (h, w) order
    layer/<i>/weight      float32 (C_out, C_in / groups, kH, kW)   PyTorch's kernel, integers in [-256, 254]
    layer/<i>/bias        float32 (C_out,)    per-channel bias_mant (only if the layer has a bias)
    layer/<i>/type        |S10 (1,)   b"flatten"         between a conv block and the dense block after it
    layer/<i>/shape       int64 (3,)  [C*H*W, 1, 1]
    simulation/Ts         int64 ()    1
    simulation/tSample    int64 ()    sample length (only if known)

The conv block is what slayer's ``AbstractConv.export_hdf5`` writes and netx's ``create_conv`` reads: netx flips
the kernel and transposes it to Lava's ``(C_out, kW, kH, C_in)``, reverses shape / stride / padding / dilation to
``(W, H, C)`` / ``(x, y)`` and builds a Lava ``Conv`` with the weights as they are (exponent 0); after a
``flatten`` it connects the conv block's ``(W, H, C)`` output as ``transpose([2, 1, 0]).flatten()``, i.e. in
PyTorch's ``(C, H, W)`` order.

A ``dense_rec`` block is what netx's ``create_dense(rec=True)`` reads into a ``RecurrentDense``
(``lava.lib.dl.netx.blocks.process``): ``weight`` and ``weight_rec`` hstack-ed and optimized as one matrix (one
exponent), then two Lava ``Dense`` synapses into the same neuron, the recurrent one fed by the neuron's own spikes.

netx builds the first ``dense`` block's synapse as the network input port (``Network.inp``), so an
input layer without ``neuron`` only declares the input shape. Weights are the integers themselves (odd
values allowed): netx's ``optimize_weight_bits`` turns them into mantissa + exponent exactly (slayer's
exports happen to be even because slayer quantizes with a step of 2). A last block with
``iDecay = 4096`` and ``vThMant = 131071`` is read back as a readout (``LoihiNetwork.readout``; ``vDecay = 4096``:
an accumulator, less: a leaky integrator).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from neurokit.atomic import atomic_path

from .network import ConvGeometry, LoihiLayer, LoihiNetwork, is_readout

_NEURON_KEYS = ("iDecay", "vDecay", "vThMant")


class NetxFormatError(ValueError):
    """A ``.net`` file that is unreadable, truncated, or misses/violates a field."""


#: What h5py and numpy raise on a damaged file or on a field of the wrong dtype / shape (a corrupt object header,
#: a string where a number belongs, an array that does not reshape); reported as :class:`NetxFormatError`.
_CORRUPT_CONTENT = (OSError, KeyError, RuntimeError, TypeError, ValueError, AttributeError, IndexError,
                    OverflowError, ZeroDivisionError)


def save_netx(net: LoihiNetwork, path: str | Path, t_sample: int | None = None) -> Path:
    """Write ``net`` as a lava-dl netx HDF5 file, atomically (temp file + rename).

    Args:
        net: the network (``n_in`` inputs, L dense CUBA layers).
        path: destination, conventionally ``*.net``.
        t_sample: optional sample length stored as ``simulation/tSample``.

    Returns:
        The path written.

    Example:
        >>> net = LoihiNetwork(2, [LoihiLayer(np.array([[8, -8]]), 1024, 128, 10)])
        >>> save_netx(net, "/tmp/tiny.net").name
        'tiny.net'
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            layers = f.create_group("layer")
            g = layers.create_group("0")
            g.create_dataset("type", (1,), "S10", [b"input"])
            g.create_dataset("shape", data=np.array(net.in_shape, dtype=np.int64))
            i = 1
            for prev, layer in zip([None] + net.layers[:-1], net.layers):
                if layer.conv is None and prev is not None and prev.conv is not None:
                    f_ = layers.create_group(str(i))
                    f_.create_dataset("type", (1,), "S10", [b"flatten"])
                    f_.create_dataset("shape", data=np.array([prev.n_out, 1, 1], dtype=np.int64))
                    i += 1
                write = _write_conv if layer.conv else _write_dense if layer.weight_rec is None else _write_dense_rec
                write(layers.create_group(str(i)), layer)
                i += 1
            sim = f.create_group("simulation")
            sim.create_dataset("Ts", data=np.int64(1))
            if t_sample is not None:
                sim.create_dataset("tSample", data=np.int64(t_sample))
    return path


def _write_dense(g: h5py.Group, layer: LoihiLayer, kind: bytes = b"dense") -> None:
    layer.synapse  # noqa: B018  (raises early if netx could not encode these weights)
    g.create_dataset("type", (1,), "S10", [kind])
    g.create_dataset("shape", data=np.array([layer.n_out], dtype=np.int64))
    g.create_dataset("inFeatures", data=np.int64(layer.n_in))
    g.create_dataset("outFeatures", data=np.int64(layer.n_out))
    g.create_dataset("weight", data=layer.weight.astype(np.float32))
    if layer.delay is not None:
        g.create_dataset("delay", data=layer.delay.astype(np.float32))
    _write_neuron(g, layer)


def _write_dense_rec(g: h5py.Group, layer: LoihiLayer) -> None:
    """A netx ``dense_rec`` block: the dense block's datasets plus ``weight_rec`` float32 ``(out, out)``."""
    _write_dense(g, layer, b"dense_rec")
    g.create_dataset("weight_rec", data=layer.weight_rec.astype(np.float32))


def _read_dense_rec(g: h5py.Group, where: str) -> LoihiLayer:
    """A netx ``dense_rec`` block (as ``lava.lib.dl.netx.hdf5.Network.create_dense(rec=True)`` reads it): ``weight``
    ``(out, in)``, ``weight_rec`` ``(out, out)`` (1-D ones reshaped to ``(out, -1)``, as netx does), no delays."""
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


def _write_conv(g: h5py.Group, layer: LoihiLayer) -> None:
    layer.synapse  # noqa: B018  (raises early on an all-zero kernel)
    c = layer.conv
    g.create_dataset("type", (1,), "S10", [b"conv"])
    g.create_dataset("shape", data=np.array(layer.out_shape, dtype=np.int64))
    g.create_dataset("inChannels", data=np.int64(c.in_shape[0]))
    g.create_dataset("outChannels", data=np.int64(layer.out_shape[0]))
    g.create_dataset("kernelSize", data=np.array(layer.weight.shape[2:], dtype=np.int64))
    for key in ("stride", "padding", "dilation"):
        g.create_dataset(key, data=np.array(getattr(c, key), dtype=np.int64))
    g.create_dataset("groups", data=np.int64(c.groups))
    g.create_dataset("weight", data=layer.weight.astype(np.float32))
    _write_neuron(g, layer)


def _write_neuron(g: h5py.Group, layer: LoihiLayer) -> None:
    if layer.bias is not None:
        g.create_dataset("bias", data=layer.bias.astype(np.float32))
    n = g.create_group("neuron")
    n.create_dataset("type", data="CUBA", dtype=h5py.string_dtype())
    n.create_dataset("iDecay", data=np.int64(layer.i_decay))
    n.create_dataset("vDecay", data=np.int64(layer.v_decay))
    n.create_dataset("vThMant", data=np.int64(layer.vth_mant))
    n.create_dataset("refDelay", data=np.int64(1))
    n.create_dataset("gradedSpike", data=np.bool_(False))


def _text(ds: h5py.Dataset) -> str:
    v = ds[()]
    if isinstance(v, np.ndarray):
        v = v.reshape(-1)[0] if v.size else b""
    return v.decode("ascii") if isinstance(v, bytes) else str(v)


def _get(g: h5py.Group, key: str, where: str) -> np.ndarray:
    if key not in g:
        raise NetxFormatError(f"{where}: missing dataset '{key}'")
    return np.asarray(g[key][()])


def load_netx(path: str | Path) -> LoihiNetwork:
    """Read a netx ``.net`` file of ``input``, ``conv``, ``flatten``, ``dense`` and ``dense_rec`` CUBA blocks into a
    LoihiNetwork.

    Raises :class:`NetxFormatError` naming the file, layer and field for unreadable/truncated files,
    missing datasets, unsupported block or neuron types, and out-of-range values (e.g. a delay of
    70: "delay: value 70 out of range, expected 0..62").

    Args:
        path: a file written by :func:`save_netx` (or by lava-dl for dense CUBA networks).

    Returns:
        The :class:`LoihiNetwork` the file describes.

    Example:
        >>> net = load_netx(save_netx(LoihiNetwork(2, [LoihiLayer(np.array([[8, -8]]), 0, 0, 5)]),
        ...                           "/tmp/rt.net"))
        >>> net.sizes
        [2, 1]
    """
    path = Path(path)
    if not path.is_file():
        raise NetxFormatError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except _CORRUPT_CONTENT as e:
        raise NetxFormatError(f"{path}: not a readable HDF5 netx file (truncated or corrupt?): {e}") from e
    try:
        with f:
            return _read(f, str(path))
    except NetxFormatError:
        raise
    except _CORRUPT_CONTENT as e:  # h5py / numpy on damaged bytes, fields of the wrong dtype or shape
        raise NetxFormatError(f"{path}: unreadable content (truncated or corrupt?): {type(e).__name__}: {e}") from e


def _read(f: h5py.File, name: str) -> LoihiNetwork:
    if "layer" not in f:
        raise NetxFormatError(f"{name}: missing group 'layer'")
    lg = f["layer"]
    keys = sorted(lg.keys(), key=lambda k: int(k) if k.isdigit() else -1)
    if keys != [str(i) for i in range(len(keys))] or not keys:
        raise NetxFormatError(f"{name}: layer groups must be named 0..n-1, found {list(lg.keys())}")
    n_in: int | None = None
    shape: tuple[int, ...] | None = None  # the previous block's (C, H, W) map; None once flat
    layers = []
    for k in keys:
        g, where = lg[k], f"{name}: layer/{k}"
        kind = _text(g["type"]) if "type" in g else None
        if kind is None:
            raise NetxFormatError(f"{where}: missing dataset 'type'")
        if kind == "input":
            if k != "0" or "neuron" in g:
                raise NetxFormatError(f"{where}: only a neuron-less input block at layer 0 is supported")
            s = tuple(int(v) for v in _get(g, "shape", where).reshape(-1))
            n_in, shape = int(np.prod(s)), (s if len(s) == 3 else None)
        elif kind == "flatten":
            shape = None
        elif kind == "conv":
            if shape is None:
                raise NetxFormatError(f"{where}: a conv block needs a (C, H, W) input (the input block or a conv "
                                      "block, no flatten in between)")
            layers.append(_read_conv(g, where, shape))
            shape = layers[-1].out_shape
        elif kind in ("dense", "dense_rec"):
            if shape is not None and layers:
                raise NetxFormatError(f"{where}: a {kind} block after a conv block needs a flatten block")
            layers.append((_read_dense if kind == "dense" else _read_dense_rec)(g, where))
            shape = None
        else:
            raise NetxFormatError(f"{where}: block type {kind!r} is not supported (expected 'dense', 'dense_rec', "
                                  "'conv' or 'flatten')")
    if not layers:
        raise NetxFormatError(f"{name}: no dense layers")
    if n_in is None:
        n_in = layers[0].n_in
    try:
        return LoihiNetwork(n_in, layers, readout=is_readout(layers[-1]))
    except ValueError as e:
        raise NetxFormatError(f"{name}: {e}") from e


def _read_dense(g: h5py.Group, where: str) -> LoihiLayer:
    w = _get(g, "weight", where)
    shape = _get(g, "shape", where)
    if w.ndim == 1:
        w = w.reshape(int(np.prod(shape)), -1)
    delay = _get(g, "delay", where) if "delay" in g else None
    if delay is not None and delay.shape != w.shape:
        if delay.ndim == 1 and delay.size == w.shape[0]:  # slayer's per-neuron axonal delay
            delay = np.repeat(delay.reshape(-1, 1), w.shape[1], axis=1)
        else:
            raise NetxFormatError(f"{where}/delay: shape {delay.shape}, expected {w.shape} (out, in)")
    return _layer(g, where, w, delay=delay)


def _read_conv(g: h5py.Group, where: str, in_shape: tuple[int, ...]) -> LoihiLayer:
    w = _get(g, "weight", where)
    if w.ndim != 4:
        raise NetxFormatError(f"{where}/weight: expected (C_out, C_in / groups, kH, kW), got shape {w.shape}")
    geo = {k: _get(g, k, where) for k in ("stride", "padding", "dilation", "groups")}
    try:
        conv = ConvGeometry(in_shape, **{k: np.broadcast_to(v, (2,)) for k, v in geo.items() if k != "groups"},
                            groups=int(geo["groups"].reshape(())))
    except ValueError as e:
        raise NetxFormatError(f"{where}: {e}") from e
    layer = _layer(g, where, w, conv=conv)
    shape = tuple(int(v) for v in _get(g, "shape", where).reshape(-1))
    if shape != layer.out_shape:
        raise NetxFormatError(f"{where}/shape: {list(shape)}, but the convolution gives {list(layer.out_shape)}")
    return layer


def _layer(g: h5py.Group, where: str, w: np.ndarray, **kw) -> LoihiLayer:
    """The block's CUBA neuron + bias around synapse ``w`` (``kw``: ``delay`` or ``conv``)."""
    if "neuron" not in g:
        raise NetxFormatError(f"{where}: missing group 'neuron'")
    ng = g["neuron"]
    ntype = _text(ng["type"]) if "type" in ng else None
    if ntype not in ("CUBA", "LOIHI"):
        raise NetxFormatError(f"{where}/neuron/type: got {ntype!r}, expected 'CUBA'")
    vals = {k: _get(ng, k, where + "/neuron") for k in _NEURON_KEYS}
    for k, v in vals.items():
        if v.size != 1:
            raise NetxFormatError(f"{where}/neuron/{k}: expected a scalar, got shape {v.shape}")
    bias = _get(g, "bias", where) if "bias" in g else None
    try:
        return LoihiLayer(w, int(vals["iDecay"].reshape(())), int(vals["vDecay"].reshape(())),
                          int(vals["vThMant"].reshape(())), bias=bias, **kw)
    except ValueError as e:
        raise NetxFormatError(f"{where}/{e}") from e
