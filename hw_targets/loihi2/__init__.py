"""Loihi-2-style target: Lava bit-accurate CUBA semantics, netx HDF5 export/import, core mapping.

Public pieces: :class:`Loihi2Target` (registered as ``"loihi2"``), :class:`LoihiNetwork` / :class:`LoihiLayer`,
:func:`simulate`, :func:`save_netx` / :func:`load_netx`, :func:`map_cores`, :func:`run_lava` (real Lava, subprocess).

Example::

    cm = nk.compile(model, target="loihi2", example_input=spikes)
    cm.save("model.net"); net = load_netx("model.net"); out = simulate(net, spikes)
"""
from .lava_bridge import run_lava
from .mapping import CoreLimits, map_cores
from .netx import NetxFormatError, load_netx, save_netx
from .network import LoihiLayer, LoihiNetwork, encode_weights
from .simulator import simulate
from .target import Loihi2Program, Loihi2Target

__all__ = ["Loihi2Target", "Loihi2Program", "LoihiNetwork", "LoihiLayer", "encode_weights", "simulate",
           "save_netx", "load_netx", "NetxFormatError", "map_cores", "CoreLimits", "run_lava"]
