"""``nk.from_netx`` of a sigma-delta (SDNN) netx file: a trainable float model of :class:`neurokit.SigmaDelta` units
and plain synapse layers whose eager forward is Lava's ``fixed_pt`` run (:mod:`hw_targets.loihi2.sdnn`), rescaled.

Units (slayer's SDNN convention, weight scale 64: ``scale=64`` of :class:`~neurokit.SigmaDelta`). netx runs every
SDNN neuron with ``spike_exp = state_exp = 6``, so with ``E = 12`` a block's integer state ``sigma`` is its float
state ``x 2**18``, a graded message ``m`` is the float message ``x 2**12`` and a stored weight ``w`` is the float
weight ``x 64``:

=========================================  ===============================================================
netx / Lava (integers)                     float model
=========================================  ===============================================================
input ``x`` (the input ``Delta``'s a_in)   model input ``x / 64``
input ``Delta``, ``vThMant`` ``v``          ``SigmaDelta(v / 64, "identity", sigma=False, scale=64)``
dense / conv ``weight`` ``w``               ``nn.Linear`` / ``nk.layers.Conv2d`` (no bias), weight ``w / 64``
Lava's one-step synaptic latency            :class:`~neurokit.layers.lava.LavaLatency` after each synapse
``SigmaDelta``, ``vThMant`` ``v``, bias b   ``SigmaDelta(v / 64, "relu", scale=64, bias=b / 64)``
``Sigma`` (``sigma_output``)                ``nk.neurons.Sigma()``
``flatten``                                 ``nk.layers.Flatten`` (PyTorch's ``(C, H, W)`` order, netx's)
a block's messages ``m`` / sigma ``s``      the module's output ``m / 4096`` / ``s / 2**18``
=========================================  ===============================================================

Tolerance: in float64 (the model as built) every quantity above is a multiple of ``2**-18`` far inside float64's
53-bit mantissa, so the forward equals the fixed-point run exactly: every block's output times ``4096`` (the Sigma
block's times ``2**18``) is Lava's integer message at every step (tested against ``simulate`` and Lava). A ``vThMant``
of 0 is kept as threshold 0 (Lava sends every change; :func:`~neurokit.neurons.sigma_delta.quantized_threshold`
would raise it to one state step). In float32 (``model.float()``) sums above ``64`` lose low bits and a threshold
decision can flip; that is not claimed. Not reproduced (refused where the file has them): weights Lava's Dense
encodes differently from the stored ones (netx's sign-mode corner), synaptic delays, a conv accumulation that wraps
at 24 bits, Lava's int32 wrap of the states (the simulator raises instead).

Every block's datasets ride on its synapse (``synapse.netx``) and the file's own on the model (``model.netx``).

Example::

    model = nk.from_netx("pilotnet_sdnn/network.net")     # x: integer frames [T, B, 3 * 33 * 100]
    y = model(torch.as_tensor(x, dtype=torch.float64) / 64)   # == simulate(load_netx(path), x) / 2**18
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from neurokit.layers import Conv2d, Flatten
from neurokit.layers.lava import LavaLatency
from neurokit.neurons.sigma_delta import Sigma, SigmaDelta

from .network import LoihiLayer, LoihiNetwork, require_exact_weights
from .sdnn import check_sdnn

#: netx's ``spike_exp`` and slayer's weight scale: integers are the float values times this.
WEIGHT_SCALE = 64
#: A block's integer message is its float message times this (``2**(spike_exp + state_exp)``).
MESSAGE_SCALE = 1 << 12
#: The Sigma block's integer sigma is its float output times this.
SIGMA_SCALE = 1 << 18


def _sigma_delta(vth_mant: int, activation: str, bias: np.ndarray | None = None, sigma: bool = True) -> SigmaDelta:
    b = None if bias is None else torch.from_numpy(bias.astype(np.float64) / WEIGHT_SCALE)
    with warnings.catch_warnings():  # vThMant 0: quantized_threshold's floor of one state step (set back below)
        warnings.simplefilter("ignore", UserWarning)
        sd = SigmaDelta(vth_mant / WEIGHT_SCALE, activation=activation, scale=WEIGHT_SCALE, bias=b, sigma=sigma)
    sd.threshold = vth_mant / WEIGHT_SCALE  # exact (a multiple of 1/64): Lava's threshold, 0 included
    return sd


def _synapse(layer: LoihiLayer, k: int) -> nn.Module:
    require_exact_weights(layer, k)
    if layer.delay is not None and np.any(layer.delay):
        raise ValueError(f"from_netx: layer {k}: synaptic delays in a sigma-delta block have no float model here")
    w = torch.from_numpy(layer.weight.astype(np.float64) / WEIGHT_SCALE)
    if layer.conv is not None:
        c = layer.conv
        syn = Conv2d(c.in_shape[0], w.shape[0], tuple(w.shape[2:]), stride=c.stride, padding=c.padding,
                     dilation=c.dilation, groups=c.groups, bias=False)
    else:
        syn = nn.Linear(w.shape[1], w.shape[0], bias=False)
    syn.weight = nn.Parameter(w)
    syn.netx = layer.netx
    return syn


def sdnn_model(net: LoihiNetwork) -> nn.Sequential:
    """The float64 model of sigma-delta network ``net`` (module docstring). Input ``[T, B, *net.in_shape]``: the
    integer input divided by 64; output: the last block's, the Sigma block's sigma divided by ``2**18``.

    Example:
        >>> net = load_netx("pilotnet_sdnn/network.net")
        >>> [type(m).__name__ for m in sdnn_model(net)][:4]
        ['SigmaDelta', 'Conv2d', 'LavaLatency', 'SigmaDelta']
    """
    try:
        check_sdnn(net)
    except ValueError as e:
        raise ValueError(f"from_netx: {e}") from e
    mods: list[nn.Module] = []
    prev_shape = net.in_shape
    if net.input_layer is not None:
        mods.append(_sigma_delta(net.input_layer.sdnn.vth_mant, "identity", sigma=False))
    for k, layer in enumerate(net.layers):
        if layer.conv is None and len(prev_shape) == 3:
            mods.append(Flatten())
        mods += [_synapse(layer, k), LavaLatency()]
        sd = layer.sdnn
        mods.append(Sigma() if sd.kind == "sigma" else _sigma_delta(sd.vth_mant, "relu", layer.bias))
        prev_shape = layer.out_shape
    model = nn.Sequential(*mods).to(torch.float64)
    model.netx = {"network": net.netx,
                  "input": {} if net.input_layer is None else dict(net.input_layer.netx)}
    return model
