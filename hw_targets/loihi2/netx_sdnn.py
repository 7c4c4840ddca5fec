"""netx sigma-delta (``SDNN``) neuron groups, read and written as lava-dl's netx builds them.

``lava.lib.dl.netx.hdf5.Network.get_neuron_params`` (lava-dl 0.6, ``src/lava/lib/dl/netx/hdf5.py``) turns a block's
``neuron`` group with ``type = "SDNN"`` into a Lava ``lava.proc.sdn`` process: ``Delta`` for the input block,
``Sigma`` when the group holds ``sigma_output``, else ``SigmaDelta`` (ReLU, ``spike_exp = state_exp = 6``, 16 message
bits unless ``messageBits`` says otherwise). Only ``Delta`` and ``SigmaDelta`` read ``vThMant``; netx reads no other
field (``activation`` is slayer's, always ``"relu"`` for what netx builds). Layout written::

    layer/<i>/neuron/type          vlen str ()  "SDNN"
    layer/<i>/neuron/activation    vlen str ()  "relu"         (slayer writes it; netx ignores it)
    layer/<i>/neuron/vThMant       int64 ()     0..524287      (Delta / SigmaDelta: the threshold, x 2**12 in Lava)
    layer/<i>/neuron/sigma_output  bool ()      True           (a Sigma block only; it has no vThMant)

as in lava-dl's shipped PilotNet SDNN files (``tests/lava/lib/dl/netx/gts/pilotnet_sdnn/network.net``), whose Sigma
block also carries an unused ``vThMant`` (kept on a round trip by :mod:`.netx_meta`). The synapse of an SDNN block
is the ordinary dense / conv block's (weights, ``bias`` per neuron or channel: Lava's ``SigmaDelta`` bias, scaled by
``2**12``). A ``Sigma`` process takes no bias, so netx cannot build a sigma block that has one.

Example::

    sd = read_sdnn_neuron(f["layer/1"], "m.net: layer/1", input_block=False)   # SigmaDeltaNeuron("sigma_delta", 13)
    write_sdnn_neuron(g, sd)
"""
from __future__ import annotations

import h5py
import numpy as np

from .netx_meta import NetxFormatError, NetxUnsupportedError, text
from .sdnn import SigmaDeltaNeuron


def is_sdnn_group(g: h5py.Group) -> bool:
    """Whether block ``g`` has an SDNN neuron. Example: ``is_sdnn_group(f["layer/0"])``."""
    return "neuron/type" in g and text(g["neuron/type"][()]) == "SDNN"


def check_sdnn_group(g: h5py.Group, where: str) -> None:
    """Refuse an SDNN neuron whose ``activation`` is not ReLU: netx builds every SigmaDelta with ReLU (its default
    ``act_mode``), so such a file would not run as its activation says. Example: ``check_sdnn_group(g, "layer/1")``."""
    if is_sdnn_group(g) and "activation" in g["neuron"] and text(g["neuron/activation"][()]) != "relu":
        raise NetxUnsupportedError(
            f"{where}/neuron/activation: {text(g['neuron/activation'][()])!r}: netx builds every SDNN neuron with "
            "ReLU (SigmaDelta's default act_mode), so the file's activation would not be what Lava runs")


def read_sdnn_neuron(g: h5py.Group, where: str, input_block: bool) -> SigmaDeltaNeuron | None:
    """The block's SDNN neuron as netx builds it (None for any other neuron): ``Delta`` for an input block, ``Sigma``
    when ``neuron/sigma_output`` is present, else ``SigmaDelta``.

    Example: ``read_sdnn_neuron(f["layer/0"], "layer/0", True)`` -> ``SigmaDeltaNeuron("delta", 0)``.
    """
    if not is_sdnn_group(g):
        return None
    ng = g["neuron"]
    kind = "delta" if input_block else "sigma" if "sigma_output" in ng else "sigma_delta"
    if kind == "sigma":
        if "bias" in g:
            raise NetxUnsupportedError(f"{where}/bias: a sigma_output block with a bias; netx cannot build it "
                                       "(Lava's Sigma process takes no bias)")
        return SigmaDeltaNeuron(kind)
    if "vThMant" not in ng:
        raise NetxFormatError(f"{where}/neuron: missing dataset 'vThMant'")
    vth = np.asarray(ng["vThMant"][()])
    try:
        return SigmaDeltaNeuron(kind, int(vth.reshape(())))
    except (ValueError, TypeError) as e:
        raise NetxFormatError(f"{where}/neuron/vThMant: {e}") from e


def write_sdnn_neuron(g: h5py.Group, sd: SigmaDeltaNeuron) -> None:
    """Write ``sd`` as block ``g``'s ``neuron`` group (layout in the module docstring).

    Example: ``write_sdnn_neuron(f.create_group("layer/1"), SigmaDeltaNeuron("sigma_delta", 13))``.
    """
    n = g.create_group("neuron")
    n.create_dataset("type", data="SDNN", dtype=h5py.string_dtype())
    n.create_dataset("activation", data="relu", dtype=h5py.string_dtype())
    if sd.kind == "sigma":
        n.create_dataset("sigma_output", data=np.bool_(True))
    else:
        n.create_dataset("vThMant", data=np.int64(sd.vth_mant))
