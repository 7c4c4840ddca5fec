"""Event counts of ``nk.layers.Recurrent`` for :func:`hw_targets.energy.counting.count_events`: the feed-forward
synapse, the recurrent synapse on the measured spikes of the previous step, and the neuron.

Example::

    hook = recurrent_hook(ctr, "hidden.0.0", layer)      # registered by count_events for every Recurrent layer
"""
from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn
from torch.nn import functional as F

from .counting import (
    _STATE_VARS,
    EnergyError,
    EventCounter,
    _bits,
    record_neuron,
    record_synapse,
)
from .synops import spiking_steps, synapse_ops

__all__ = ["recurrent_class", "recurrent_hook"]


def recurrent_class():
    """``nk.layers.Recurrent``, or None when neurokit's layers are not importable."""
    try:
        from neurokit.layers.recurrent import Recurrent
        return Recurrent
    except ImportError:
        return None


def recurrent_hook(ctr: EventCounter, name: str, mod: nn.Module):
    """Counts of ``nk.layers.Recurrent``: its feed-forward synapse on ``x`` (``<name>.ff``), its recurrent synapse on
    the measured spikes of the previous step (``<name>.recurrent``: input ``s[t-1]``, ``s[-1] = 0``) and its neuron
    (``<name>.neuron``, input the total current ``W x[t] + V s[t-1] (+ biases)``)."""
    ff = ctr.get(f"{name}.ff", "synapse", "Recurrent.ff")
    rec = ctr.get(f"{name}.recurrent", "synapse", "Recurrent.recurrent")
    cell = ctr.get(f"{name}.neuron", "neuron", type(mod.neuron).__name__)
    ff.weight_words, ff.weight_bits = mod.weight.numel(), _bits(mod.weight)
    rec.weight_words, rec.weight_bits = mod.recurrent_weight.numel(), _bits(mod.recurrent_weight)
    cell.state_vars = _STATE_VARS.get(type(mod.neuron).__name__, 1)
    views = [SimpleNamespace(weight=w, in_features=w.shape[1]) for w in (mod.weight, mod.recurrent_weight)]

    def hook(m, inp, out):
        if ctr.stepwise:
            raise EnergyError(f"{name}: Recurrent needs the whole sequence; run time-major")
        xs = ctr.by_step(inp[0], None, name)
        spikes = ctr.by_step(out, None, name).detach()
        prev = torch.cat([torch.zeros_like(spikes[:1]), spikes[:-1]])
        for lc, view, src in ((ff, views[0], xs), (rec, views[1], prev)):
            record_synapse(ctr, lc, src, synapse_ops(view, src, None), spiking_steps(src))
        with torch.no_grad():
            current = (F.linear(xs.to(m.weight.dtype), m.weight, m.bias)
                       + F.linear(prev.to(m.weight.dtype), m.recurrent_weight, m.recurrent_bias))
        record_neuron(ctr, cell, current, spikes)

    return hook
