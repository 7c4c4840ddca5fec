"""Event counts of graded (sigma-delta) messages: ``nk.SigmaDelta`` / ``nk.neurons.Sigma`` layers of an eager model
(a hook of :func:`hw_targets.energy.counting.count_events`) and a sigma-delta :class:`~hw_targets.loihi2.LoihiNetwork`
run by the Loihi simulator (:func:`network_counts`, the blocks Lava runs).

A graded layer is a ``"neuron"`` layer whose ``spikes`` are its messages: every nonzero output is one message (an
SDNN neuron sends nothing when its change stays under the threshold). Per step, summed over the batch:

* ``updates``: neurons (every unit is updated each step); ``active``: units with a nonzero input;
* ``spikes``: messages sent; ``payload_bits``: ``spikes x message_bits``, the graded payload they carry;
* the synapse reading those messages counts ``message x nonzero fan-out weight`` effective operations (NeuroBench's
  rule, as for spikes; a graded input is classed as multiply-accumulates).

``message_bits`` is ``MESSAGE_BITS`` = 16, the payload netx configures for every SDNN block it builds
(``num_message_bits = 16`` unless the block's ``neuron/messageBits`` says otherwise: lava-dl
``src/lava/lib/dl/netx/hdf5.py``, ``Network.get_neuron_params``). The Loihi cost table charges each message one
spike delivery (Davies et al. 2018, Table 2: within-tile spike energy plus the mesh hops) and each effective
operation one synaptic op; the payload bits are counted and reported (``payload_bits`` of each row) but not costed:
no published figure gives a Loihi energy per payload bit (Davies 2018 gives per-spike energies for Loihi 1's binary
spikes; Intel publishes no per-operation energy for Loihi 2), so a graded message costs what a spike costs.

Example::

    counts = network_counts(load_netx("pilotnet_sdnn/network.net"), x)      # x: integer frames [T, B, n_in]
    counts.per_sample("payload_bits")
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .counting import EventCounter, EventCounts, record_neuron, record_synapse
from .synops import spiking_steps, synapse_ops

__all__ = ["MESSAGE_BITS", "graded_classes", "graded_hook", "network_counts"]

#: Payload bits of one graded message: netx's ``num_message_bits`` default for SDNN neurons (lava-dl netx/hdf5.py).
MESSAGE_BITS = 16
#: State variables of a sigma-delta unit (sigma, activation, residue) and of a sigma read-out.
_STATE_VARS = {"SigmaDelta": 3, "Sigma": 1}


def graded_classes() -> tuple:
    """``(nk.SigmaDelta, nk.neurons.Sigma)``, the layers that send graded messages (empty if not importable).

    Example: ``isinstance(nk.SigmaDelta(0.1), graded_classes())`` is True.
    """
    try:
        from neurokit.neurons.sigma_delta import Sigma, SigmaDelta
        return (SigmaDelta, Sigma)
    except ImportError:
        return ()


def record_graded(ctr: EventCounter, lc, xs: torch.Tensor, ys: torch.Tensor, message_bits: int) -> None:
    """Add one call of a graded layer: input ``xs`` and messages ``ys`` ``[S, B, ...]`` (module docstring).

    Example: ``record_graded(ctr, ctr.get("sd", "neuron", "SigmaDelta"), a_in, messages, MESSAGE_BITS)``.
    """
    record_neuron(ctr, lc, xs, ys)
    lc.message_bits = int(message_bits)
    ctr.add(lc, "payload_bits", (ys != 0).reshape(ys.shape[0], -1).sum(1) * float(message_bits))


def graded_hook(ctr: EventCounter, name: str, mod: nn.Module):
    """The forward hook counting ``mod`` (a :func:`graded_classes` layer) as ``name``. Example:
    ``mod.register_forward_hook(graded_hook(ctr, "3", mod))``."""
    op = type(mod).__name__
    lc = ctr.get(name, "neuron", op)
    lc.state_vars = _STATE_VARS.get(op, 1)

    def hook(_m, inp, out):
        record_graded(ctr, lc, ctr.by_step(inp[0], None, name), ctr.by_step(out, None, name), MESSAGE_BITS)

    return hook


def _torch_synapse(layer) -> tuple[nn.Module, int | None]:
    """A torch layer holding ``layer``'s stored weights (for :func:`synapse_ops`) and its conv rank."""
    w = torch.as_tensor(layer.weight, dtype=torch.float64)
    if layer.conv is None:
        lin = nn.Linear(w.shape[1], w.shape[0], bias=False, device="meta")
        lin.weight = nn.Parameter(w, requires_grad=False)
        return lin, None
    c = layer.conv
    conv = nn.Conv2d(c.in_shape[0], w.shape[0], tuple(w.shape[2:]), stride=c.stride, padding=c.padding,
                     dilation=c.dilation, groups=c.groups, bias=False, device="meta")
    conv.weight = nn.Parameter(w, requires_grad=False)
    return conv, 3


def _message_bits(netx: dict) -> int:
    raw = netx.get("neuron/messageBits")
    return MESSAGE_BITS if raw is None else int(np.asarray(raw[0]))


def network_counts(net, x) -> EventCounts:
    """Events of the sigma-delta network ``net`` (:class:`~hw_targets.loihi2.LoihiNetwork`) on the integer input
    ``x [T, B, n_in]``, measured from the Loihi simulator's run (``simulate(net, x, record=True)``, Lava's
    ``fixed_pt`` messages): per block a synapse row ``layer<i>.synapse`` (its input messages) and a neuron row
    ``layer<i>.neuron`` (its ``a_in`` and messages); the input ``Delta`` is row ``input``. Message bits: the
    block's ``neuron/messageBits`` when read from a file that has it, else :data:`MESSAGE_BITS`.

    Raises ``ValueError`` for a network that is not sigma-delta (its spikes are counted from a compiled model).

    Example:
        >>> counts = network_counts(net, np.ones((4, 1, net.n_in), np.int64))
        >>> counts.layers[0].name, counts.layers[0].kind
        ('input', 'neuron')
    """
    from hw_targets.loihi2.sdnn import check_sdnn, is_sdnn
    from hw_targets.loihi2.simulator import simulate, synaptic_input

    if not is_sdnn(net):
        raise ValueError("network_counts: the network has no sigma-delta block; count a spiking network from its "
                         "compiled model (nk.energy(cm, x, 'loihi2'))")
    check_sdnn(net)
    x = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x)
    rec = simulate(net, x, record=True)
    T, B = int(x.shape[0]), int(x.shape[1])
    ctr = EventCounter(T, B, stepwise=False)
    msgs = list(rec.spikes)
    prev = torch.as_tensor(x, dtype=torch.float64)
    if net.input_layer is not None:
        lc = ctr.get("input", "neuron", "Delta")
        lc.state_vars = _STATE_VARS["SigmaDelta"]
        m = torch.as_tensor(msgs.pop(0), dtype=torch.float64)
        record_graded(ctr, lc, prev, m, _message_bits(net.input_layer.netx))
        prev = m
    for i, (layer, m) in enumerate(zip(net.layers, msgs)):
        syn, rank = _torch_synapse(layer)
        xs = prev if rank is None else prev.reshape(T, B, *layer.conv.in_shape)
        slc = ctr.get(f"layer{i}.synapse", "synapse", "Conv" if rank else "Dense")
        slc.weight_words, slc.weight_bits = int(layer.weight.size), 8
        record_synapse(ctr, slc, xs, synapse_ops(syn, xs, rank), spiking_steps(xs))
        a_in = torch.as_tensor(synaptic_input(layer, prev.numpy()), dtype=torch.float64)
        nlc = ctr.get(f"layer{i}.neuron", "neuron", {"sigma": "Sigma"}.get(layer.sdnn.kind, "SigmaDelta"))
        nlc.state_vars = _STATE_VARS[nlc.op]
        m = torch.as_tensor(m, dtype=torch.float64)
        record_graded(ctr, nlc, a_in, m, _message_bits(layer.netx))
        prev = m
    layers = sorted(ctr.counts.values(), key=lambda lc: lc.first_call)
    return EventCounts(layers, T, B, [])
