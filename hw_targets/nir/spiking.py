"""Spike semantics of other frameworks that a neurokit neuron does not have, for graphs ``nk.from_nir`` imports:
several spikes per step (:class:`MultiSpike`: Rockpool's ``StepPWL``, Sinabs's ``MultiSpike``) and a spike emitted
one step after the membrane crossed the threshold (:class:`OneStepLate`: Spyx's neurons, which fire from the
membrane before the step's input).

* :class:`MultiSpike` runs the wrapped ``nk.LIF`` / ``nk.IF`` / ``nk.CubaLIF``'s charge (same ``tau``, ``decay_input``,
  rest) and emits ``n = floor(h / v_threshold)`` spikes where ``h >= v_threshold`` (at most ``max_spikes``), the
  count as the output value; reset by subtraction lowers ``h`` by ``n * v_threshold`` (``MembraneSubtract``, Rockpool),
  reset to ``v_reset`` sets it where ``n > 0`` (Sinabs ``MembraneReset``). Rockpool ``StepPWL``:
  ``(x >= threshold) * floor(x / threshold)`` (``rockpool/nn/modules/torch/lif_torch.py``); Sinabs ``MultiSpike``:
  ``(v > 0) * trunc(v / threshold)`` (``sinabs/activation/spike_generation.py``): the same count for a positive
  threshold. The backward pass is the wrapped neuron's surrogate at ``h - v_threshold`` (straight through).
* :class:`OneStepLate` shifts the wrapped module's output one step later (zeros at ``t = 0``).

Example::

    >>> m = MultiSpike(nk.IF(v_threshold=1.0, v_reset=None))
    >>> m(torch.tensor([[[2.5]], [[0.0]]]))[:, 0, 0]       # 2 spikes, 0.5 left; then none
    tensor([2., 0.])
"""
from __future__ import annotations

import torch
from torch import nn

from neurokit.neurons import IF, LIF, CubaLIF
from neurokit.neurons import functional as F
from neurokit.neurons.checks import check_input


class MultiSpike(nn.Module):
    """``neuron`` (``nk.LIF`` / ``nk.IF`` / ``nk.CubaLIF``, reset on the same step) emitting a spike count per step.

    Args:
        neuron: the neuron whose charge, threshold and reset are used (``reset_after_decay`` must be False).
        max_spikes: most spikes per step (None: no limit).

    ``forward(x [T, B, ...]) -> counts [T, B, ...]`` (float, ``>= 0``), state at rest on every call.
    """

    compile_refusal = ("several spikes per step (Sinabs MultiSpike, Rockpool StepPWL) have no IR node and no target "
                       "lowering; import with nk.from_nir(..., multi_spike=False) for one spike per step, or run the "
                       "model eagerly")

    def __init__(self, neuron: nn.Module, max_spikes: int | None = None):
        super().__init__()
        if not isinstance(neuron, (LIF, IF, CubaLIF)) or getattr(neuron, "reset_after_decay", False):
            raise ValueError(f"MultiSpike: expected an nk.LIF / nk.IF / nk.CubaLIF resetting on the same step, got "
                             f"{neuron!r}")
        if max_spikes is not None and not (isinstance(max_spikes, int) and max_spikes >= 1):
            raise ValueError(f"max_spikes: expected None or an int >= 1, got {max_spikes!r}")
        self.neuron, self.max_spikes = neuron, max_spikes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, who="MultiSpike")
        n = self.neuron
        p, th, vr = n.params(), n.v_threshold, n.v_reset
        state = F.initial_state(n.family, x[0], p)
        out = []
        for x_t in x:  # the neuron's own charge (its step function, no pending reset); the count replaces its spike
            _, h, state = F.STEPS[n.family](x_t, state, p, n.surrogate)
            count = torch.floor(h.detach() / th) * (h.detach() >= th)
            if self.max_spikes is not None:
                count = count.clamp(max=float(self.max_spikes))
            grad = n.surrogate.spike(h - th)
            s = count + grad - grad.detach()
            state = state._replace(v=h - th * s if vr is None else torch.where(count > 0, torch.full_like(h, vr), h))
            out.append(s)
        return torch.stack(out)

    def extra_repr(self) -> str:
        return f"max_spikes={self.max_spikes}"


class OneStepLate(nn.Module):
    """``module``'s output one step later: ``y[0] = 0``, ``y[t] = module(x)[t - 1]``; ``[T, B, ...] -> [T, B, ...]``.

    Example: ``OneStepLate(nk.IF())(x)`` equals ``torch.cat([0 * x[:1], nk.IF()(x)[:-1]])``.
    """

    compile_refusal = "spikes one step late (an imported Spyx neuron) have no IR node and no target lowering; run " \
                      "the model eagerly"

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.module(x)
        return torch.cat([torch.zeros_like(y[:1]), y[:-1]])
