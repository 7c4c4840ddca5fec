"""Loihi-2-style target: Lava bit-accurate CUBA semantics, netx HDF5 export/import, core mapping.

Public pieces: :class:`Loihi2Target` (registered as ``"loihi2"``), :class:`LoihiNetwork` / :class:`LoihiLayer` /
:class:`ConvGeometry`,
:func:`simulate`, :func:`save_netx` / :func:`load_netx`, :func:`map_cores`, :func:`run_lava` (real Lava, subprocess).

Example::

    cm = nk.compile(model, target="loihi2", example_input=spikes)
    cm.save("model.net"); net = load_netx("model.net"); out = simulate(net, spikes)
"""
from .lava_bridge import run_lava
from .mapping import CoreLimits, map_cores
from .network import ConvGeometry, LoihiLayer, LoihiNetwork, encode_weights
from .netx import NetxFormatError, load_netx, save_netx
from .simulator import simulate
from .target import Loihi2Program, Loihi2Target

__all__ = [
           "ConvGeometry",
           "CoreLimits",
           "Loihi2Program",
           "Loihi2Target",
           "LoihiLayer",
           "LoihiNetwork",
           "NetxFormatError",
           "encode_weights",
           "load_netx",
           "map_cores",
           "run_lava",
           "save_netx",
           "simulate",
]
