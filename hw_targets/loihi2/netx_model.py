"""``nk.from_netx``: a lava-dl netx file as a trainable neurokit model whose forward is Lava's fixed-point run.

Each netx block becomes a :class:`neurokit.layers.lava.LavaBlock` (float shadow weights of the stored integers,
:class:`~neurokit.layers.lava.LavaCubaLIF` neuron with its bias), a ``dense_rec`` block a
:class:`~neurokit.layers.lava.LavaRecurrentBlock` (its ``weight_rec`` a second shadow matrix), a ``flatten`` block
an ``nk.layers.Flatten``, an input block with a neuron a :class:`~neurokit.layers.lava.LavaInput`. The model's output
equals ``simulate(load_netx(path), x)`` spike for spike (and so Lava's run), and
``nk.compile(model, target="loihi2", example_input=x).save(p)`` writes ``path`` back identically (the datasets of
the file ride on the blocks), with the fine-tuned values where training changed them. A sigma-delta (SDNN) file
becomes a float model of :class:`neurokit.SigmaDelta` units and plain synapses instead
(:mod:`hw_targets.loihi2.netx_sdnn_model`: its forward is the fixed-point run, rescaled, exactly in float64).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from neurokit.layers import Flatten
from neurokit.layers.lava import (
    LavaBlock,
    LavaConv2d,
    LavaCubaLIF,
    LavaDense,
    LavaInput,
    LavaRecurrentBlock,
)

from .network import LoihiLayer, LoihiNetwork, require_exact_weights
from .netx import load_netx
from .netx_sdnn_model import sdnn_model
from .sdnn import is_sdnn


def _neuron(layer) -> LavaCubaLIF:
    bias = getattr(layer, "bias", None)
    return LavaCubaLIF(layer.i_decay, layer.v_decay, layer.vth_mant,
                       bias=None if bias is None else torch.from_numpy(bias.astype(np.float64)))


def _block(layer: LoihiLayer, k: int, network: dict) -> LavaBlock:
    require_exact_weights(layer, k)
    w = torch.from_numpy(layer.weight.astype(np.float64))
    if layer.weight_rec is not None:
        rec = LavaDense(torch.from_numpy(layer.weight_rec.astype(np.float64)))
        return LavaRecurrentBlock(LavaDense(w), rec, _neuron(layer), netx=layer.netx, network=network)
    if layer.conv is not None:
        c = layer.conv
        syn = LavaConv2d(w, c.stride, c.padding, c.dilation, c.groups)
    else:
        syn = LavaDense(w, None if layer.delay is None else torch.from_numpy(layer.delay))
    return LavaBlock(syn, _neuron(layer), netx=layer.netx, network=network)


def model_from_network(net: LoihiNetwork) -> nn.Sequential:
    """The trainable model of ``net`` (module docstring). Input ``[T, B, *net.in_shape]``: 0/1 spikes, or the
    integer ``a_in`` of the input neuron when ``net.input_layer`` is set; output: the last block's spikes. A
    sigma-delta network gets its float model instead (:func:`hw_targets.loihi2.netx_sdnn_model.sdnn_model`).

    Example:
        >>> net = LoihiNetwork(2, [LoihiLayer(np.array([[8, -8]]), 1024, 128, 10)])
        >>> model_from_network(net)(torch.ones(4, 1, 2)).shape
        torch.Size([4, 1, 1])
    """
    if is_sdnn(net):
        return sdnn_model(net)
    mods: list[nn.Module] = []
    prev = net.input_layer
    if prev is not None:
        mods.append(LavaInput(_neuron(prev)))
    for k, layer in enumerate(net.layers):
        if layer.conv is None and (f"flatten/{k}/type" in net.netx or (prev is not None and len(prev.out_shape) == 3)):
            mods.append(Flatten())
        inp = {} if net.input_layer is None else {f"input/{key}": v for key, v in net.input_layer.netx.items()}
        mods.append(_block(layer, k, {**net.netx, **inp} if k == 0 else {}))  # the file's datasets ride on block 0
        prev = layer
    return nn.Sequential(*mods)


def from_netx(path: str | Path, num_layers: int | None = None, skip_layers: int = 0) -> nn.Sequential:
    """Read a lava-dl netx file (:func:`hw_targets.loihi2.load_netx`, netx's ``num_layers`` / ``skip_layers``) into
    a trainable neurokit model (:func:`model_from_network`).

    Example::

        model = nk.from_netx("ntidigits.net", num_layers=5)      # x: 0/1 spikes [T, B, 64]
        nk.compile(model, target="loihi2", example_input=x).save("back.net")   # the same blocks, identical
    """
    return model_from_network(load_netx(path, num_layers=num_layers, skip_layers=skip_layers))
