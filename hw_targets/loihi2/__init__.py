"""Loihi-2-style target: Lava bit-accurate CUBA semantics, netx HDF5 export/import, core mapping.

Public pieces: :class:`Loihi2Target` (registered as ``"loihi2"``), :class:`LoihiNetwork` / :class:`LoihiLayer` /
:class:`ConvGeometry`,
:class:`InputLayer`, :class:`SigmaDeltaNeuron` (netx SDNN blocks), :func:`simulate`, :func:`save_netx` /
:func:`load_netx` (lava-dl's own files too, sigma-delta ones included),
:func:`from_netx` (a netx file as a trainable model, ``nk.from_netx``), :func:`map_cores`, :func:`run_lava`
(real Lava, subprocess), :func:`lava_dl_netx_files` (the ``.net`` files shipped with lava-dl).

Example::

    cm = nk.compile(model, target="loihi2", example_input=spikes)
    cm.save("model.net"); net = load_netx("model.net"); out = simulate(net, spikes)
"""
from .netx_model import from_netx
from .lava_bridge import lava_dl_netx_files, run_lava
from .mapping import CoreLimits, map_cores
from .network import ConvGeometry, InputLayer, LoihiLayer, LoihiNetwork, encode_weights
from .netx import NetxFormatError, NetxUnsupportedError, load_netx, save_netx
from .sdnn import SigmaDeltaNeuron
from .simulator import simulate
from .target import Loihi2Program, Loihi2Target

__all__ = [
           "ConvGeometry",
           "CoreLimits",
           "InputLayer",
           "Loihi2Program",
           "Loihi2Target",
           "LoihiLayer",
           "LoihiNetwork",
           "NetxFormatError",
           "NetxUnsupportedError",
           "SigmaDeltaNeuron",
           "encode_weights",
           "from_netx",
           "lava_dl_netx_files",
           "load_netx",
           "map_cores",
           "run_lava",
           "save_netx",
           "simulate",
]
