"""lava-dl netx HDF5 (``.net``) writer for :class:`LoihiNetwork` (the reader: :mod:`hw_targets.loihi2.netx`).

Layout written (lava-dl's ``src/lava/lib/dl/netx/README.md`` and slayer's ``block/base.py`` ``export_hdf5``;
every entry is an HDF5 *dataset*, no attributes)::

    layer/0/type          |S10 (1,)   b"input"       (left out of a file read without it: the blocks start at 0)
    layer/0/shape         int64 (1,)  [n_in]    (a conv-first network: int64 (3,) [C, H, W])
    layer/0/neuron/...                          (only for an input layer with a neuron, :class:`InputLayer`)
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
    layer/<i>/neuron/vThMant     int64 ()     0..131071 (a file's larger value never fires)
    layer/<i>/neuron/refDelay    int64 ()     1 (slayer's fixed value; unused by netx)
    layer/<i>/neuron/gradedSpike bool ()      False
    layer/<i>/neuron/...                      an SDNN block's neuron instead (layout in :mod:`.netx_sdnn`)
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
PyTorch's ``(C, H, W)`` order. slayer writes a 5-D kernel ``(C_out, C_in, kH, kW, 1)`` (a trailing time
kernel), which netx reshapes to its first four axes.

A ``dense_rec`` block is what netx's ``create_dense(rec=True)`` reads into a ``RecurrentDense``
(``lava.lib.dl.netx.blocks.process``): ``weight`` and ``weight_rec`` hstack-ed and optimized as one matrix (one
exponent), then two Lava ``Dense`` synapses into the same neuron, the recurrent one fed by the neuron's own spikes.

A sigma-delta network (layers with a :class:`~hw_targets.loihi2.sdnn.SigmaDeltaNeuron`) is written the same way with
SDNN neuron groups (:func:`~hw_targets.loihi2.netx_sdnn.write_sdnn_neuron`): its input layer as the input block's
``Delta``, its sigma-delta layers as dense / conv blocks with ``SigmaDelta`` neurons and their bias, a last ``sigma``
layer with ``sigma_output``; lava-dl's ``hdf5.Network`` builds exactly the processes :mod:`hw_targets.loihi2.sdnn`
simulates.

Datasets a network read by ``load_netx`` carries (``net.netx``, ``layer.netx``) are written back where they still
hold (:func:`hw_targets.loihi2.netx_meta.restore`), so a file read and saved again is identical. Table:
docs/interop.md.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from neurokit.atomic import atomic_path

from .network import InputLayer, LoihiLayer, LoihiNetwork
from .netx_meta import NO_INPUT_BLOCK, NetxUnsupportedError, restore
from .netx_sdnn import write_sdnn_neuron
from .sdnn import check_sdnn, is_sdnn

__all__ = ["save_netx"]


def save_netx(net: LoihiNetwork, path: str | Path, t_sample: int | None = None) -> Path:
    """Write ``net`` as a lava-dl netx HDF5 file, atomically (temp file + rename).

    Datasets a network read by :func:`load_netx` carries (``net.netx``, ``layer.netx``) are written back where they
    still hold, so ``save_netx(load_netx(p), q)`` reproduces ``p``.

    Args:
        net: the network (``n_in`` inputs, L dense / conv CUBA layers, optionally an input layer; or a sigma-delta
            network, :mod:`hw_targets.loihi2.sdnn`).
        path: destination, conventionally ``*.net``.
        t_sample: optional sample length stored as ``simulation/tSample`` (overrides a value read from a file).

    Returns:
        The path written.

    Example:
        >>> net = LoihiNetwork(2, [LoihiLayer(np.array([[8, -8]]), 1024, 128, 10)])
        >>> save_netx(net, "/tmp/tiny.net").name
        'tiny.net'
    """
    if is_sdnn(net):
        try:
            check_sdnn(net)
        except ValueError as e:
            raise NetxUnsupportedError(f"save_netx: {e}; netx would not build this sigma-delta network") from e
    path = Path(path)
    meta = net.netx
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            layers = f.create_group("layer")
            i = 0
            if not (NO_INPUT_BLOCK in meta and net.input_layer is None and net.layers[0].conv is None):
                g = layers.create_group("0")
                g.create_dataset("type", (1,), "S10", [b"input"])
                g.create_dataset("shape", data=np.array(net.in_shape, dtype=np.int64))
                if net.input_layer is not None:
                    _write_neuron(g, net.input_layer)
                restore(g, {**_sub(meta, "input/"), **(net.input_layer.netx if net.input_layer else {})})
                i = 1
            for k, (prev, layer) in enumerate(zip([net.input_layer] + net.layers[:-1], net.layers)):
                flat = _sub(meta, f"flatten/{k}/")
                if flat or (layer.conv is None and prev is not None and len(prev.out_shape) == 3):
                    f_ = layers.create_group(str(i))
                    f_.create_dataset("type", (1,), "S10", [b"flatten"])
                    f_.create_dataset("shape", data=np.array([layer.n_in, 1, 1], np.int64))
                    restore(f_, flat)
                    i += 1
                g = layers.create_group(str(i))
                write = _write_conv if layer.conv else _write_dense if layer.weight_rec is None else _write_dense_rec
                write(g, layer)
                restore(g, layer.netx)
                i += 1
            sim = f.create_group("simulation")
            sim.create_dataset("Ts", data=np.int64(1))
            if t_sample is not None:
                sim.create_dataset("tSample", data=np.int64(t_sample))
            restore(sim, _sub(meta, "simulation/"), keep=("tSample",) if t_sample is not None else ())
            if meta and not _sub(meta, "simulation/") and t_sample is None:
                del f["simulation"]  # the file read had none
    return path


def _sub(meta: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in meta.items() if k.startswith(prefix)}


def _write_dense(g: h5py.Group, layer: LoihiLayer, kind: bytes = b"dense") -> None:
    layer.synapse  # noqa: B018  (raises early if netx could not encode these weights)
    g.create_dataset("type", (1,), "S10", [kind])
    g.create_dataset("shape", data=np.array([layer.n_out], dtype=np.int64))
    g.create_dataset("inFeatures", data=np.int64(layer.n_in))
    g.create_dataset("outFeatures", data=np.int64(layer.n_out))
    g.create_dataset("weight", data=layer.weight.astype(np.float32))
    if layer.delay is not None:
        g.create_dataset("delay", data=layer.delay.astype(np.float32))
    _write_bias(g, layer)
    _write_neuron(g, layer)


def _write_dense_rec(g: h5py.Group, layer: LoihiLayer) -> None:
    """A netx ``dense_rec`` block: the dense block's datasets plus ``weight_rec`` float32 ``(out, out)``."""
    _write_dense(g, layer, b"dense_rec")
    g.create_dataset("weight_rec", data=layer.weight_rec.astype(np.float32))


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
    _write_bias(g, layer)
    _write_neuron(g, layer)


def _write_bias(g: h5py.Group, layer: LoihiLayer) -> None:
    if layer.bias is not None:
        g.create_dataset("bias", data=layer.bias.astype(np.float32))


def _write_neuron(g: h5py.Group, layer: LoihiLayer | InputLayer) -> None:
    if layer.sdnn is not None:
        write_sdnn_neuron(g, layer.sdnn)
        return
    n = g.create_group("neuron")
    n.create_dataset("type", data="CUBA", dtype=h5py.string_dtype())
    n.create_dataset("iDecay", data=np.int64(layer.i_decay))
    n.create_dataset("vDecay", data=np.int64(layer.v_decay))
    n.create_dataset("vThMant", data=np.int64(layer.vth_mant))
    n.create_dataset("refDelay", data=np.int64(1))
    n.create_dataset("gradedSpike", data=np.bool_(False))
