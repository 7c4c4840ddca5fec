"""Non-spiking readout neurons.

`LeakyIntegrator`: a leaky membrane without threshold or reset, ``v[t] = v[t-1] - v[t-1] / tau + x[t]``, ``v[-1] = 0``
(the LIF ``decay_input=False`` update of docs/architecture.md with no spike). Its membrane trace is the network
output; DCLS delay networks read out exactly this (a LIF with an unreachable threshold).
"""

from __future__ import annotations

import torch
from torch import nn

from ..neurons.checks import check_input, check_tau


class LeakyIntegrator(nn.Module):
    """Leaky integrator readout, ``[T, B, ...] -> [T, B, ...]`` membrane trace (float, not spikes).

    Args:
        tau: time constant in steps, ``>= 1`` (``tau = 1`` keeps only the current input).

    Example:
        >>> LeakyIntegrator(tau=2.0)(torch.ones(3, 1, 1))[:, 0, 0]
        tensor([1.0000, 1.5000, 1.7500])
    """

    def __init__(self, tau: float = 2.0):
        super().__init__()
        self.tau = check_tau(tau)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() < 2:
            raise ValueError(f"LeakyIntegrator expects a time-major tensor [T, B, ...], got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        check_input(x, who="LeakyIntegrator")
        decay = 1.0 - 1.0 / self.tau
        v = torch.zeros_like(x[0])
        trace = []
        for x_t in x:
            v = v * decay + x_t
            trace.append(v)
        return torch.stack(trace)

    def extra_repr(self) -> str:
        return f"tau={self.tau}"
