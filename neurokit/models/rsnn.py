"""Recurrent spiking network for SHD/SSC-shaped input (``[T, B, 700]`` spike trains, 20 / 35 classes).

Per hidden layer: :class:`neurokit.layers.Recurrent` (``I[t] = W x[t] + V s[t-1]``) with a CUBA-LIF, LIF or ALIF
population, then Dropout; ``recurrent=False`` builds the same network with ``nn.Linear`` + neuron (no ``V``), the
baseline the README's memory-task table compares against. Output: ``nn.Linear`` -> :class:`LeakyIntegrator`; the
network returns the readout membrane ``[T, B, classes]`` (``nk.train`` classifies with its mean over time).

Example::

    >>> net = nk.models.rsnn(in_features=700, hidden=(256,), num_classes=20, neuron="cuba")
    >>> net(torch.rand(100, 4, 700)).shape
    torch.Size([100, 4, 20])
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..layers.readout import LeakyIntegrator
from ..layers.recurrent import Recurrent
from ..neurons import ALIF, LIF, CubaLIF

__all__ = ["RSNN", "RSNN_NEURONS", "rsnn"]

RSNN_NEURONS = ("cuba", "lif", "alif")


def _make_neuron(kind: str, tau_mem: float, tau_syn: float, tau_adapt: float, beta: float, v_threshold: float,
                 surrogate: str):
    common = {"v_threshold": v_threshold, "surrogate": surrogate, "detach_reset": True}
    if kind == "cuba":
        return CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, **common)
    if kind == "lif":
        return LIF(tau=tau_mem, decay_input=False, **common)
    return ALIF(tau=tau_mem, tau_adapt=tau_adapt, beta=beta, decay_input=False, **common)


class RSNN(nn.Module):
    """``x [T, B, in_features] -> readout membrane [T, B, num_classes]``; arguments as :func:`rsnn`."""

    def __init__(self, in_features: int, hidden: Sequence[int], num_classes: int, neuron: str, recurrent: bool,
                 tau_mem: float, tau_syn: float, tau_adapt: float, beta: float, v_threshold: float,
                 readout_tau: float, dropout: float, surrogate: str, bias: bool):
        super().__init__()
        if neuron not in RSNN_NEURONS:
            raise ValueError(f"rsnn: neuron must be one of {RSNN_NEURONS}, got {neuron!r}")
        hidden = tuple(hidden)
        if not hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
            raise ValueError(f"rsnn: hidden must be a non-empty sequence of positive ints, got {hidden!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"rsnn: dropout must be in [0, 1), got {dropout}")
        blocks, width = [], in_features
        for h in hidden:
            cell = _make_neuron(neuron, tau_mem, tau_syn, tau_adapt, beta, v_threshold, surrogate)
            if recurrent:
                block = [Recurrent(width, h, cell, bias=bias)]
            else:
                block = [nn.Linear(width, h, bias=bias), cell]
            if dropout > 0:
                block.append(nn.Dropout(dropout))
            blocks.append(nn.Sequential(*block))
            width = h
        self.hidden = nn.Sequential(*blocks)
        self.output = nn.Linear(width, num_classes, bias=bias)
        self.readout = LeakyIntegrator(readout_tau)
        self.in_features, self.num_classes, self.recurrent = in_features, num_classes, recurrent

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.in_features:
            raise ValueError(f"rsnn: input x must have shape [T, B, {self.in_features}], got {tuple(x.shape)}")
        return self.readout(self.output(self.hidden(x)))


def rsnn(in_features: int = 700, hidden: Sequence[int] = (256,), num_classes: int = 20, neuron: str = "cuba",
         recurrent: bool = True, tau_mem: float = 20.0, tau_syn: float = 5.0, tau_adapt: float = 100.0,
         beta: float = 1.8, v_threshold: float = 1.0, readout_tau: float = 20.0, dropout: float = 0.0,
         surrogate: str = "atan",
         bias: bool = False, seed: int | None = None) -> RSNN:
    """Build a recurrent SNN (defaults: SHD, 700 -> 256 recurrent CUBA-LIF -> 20).

    Args:
        in_features, hidden, num_classes: input channels, hidden widths (one recurrent layer each), classes.
        neuron: ``"cuba"`` (``CubaLIF(tau_syn, tau_mem)``), ``"lif"`` (``LIF(tau_mem, decay_input=False)``) or
            ``"alif"`` (``ALIF(tau_mem, tau_adapt, beta)``); all with ``detach_reset=True``, times in steps.
        recurrent: ``False`` drops the recurrent weights (same network otherwise). v_threshold: hidden threshold.
        readout_tau: the output leaky integrator's time constant. dropout: after each hidden layer.
        surrogate: a ``nk.surrogate`` name. bias: biases in every Linear. seed: seeds the initial weights.

    Shapes: ``x [T, B, in_features] -> [T, B, num_classes]`` (readout membrane; logits = ``out.mean(0)``).

    Example::

        >>> rsnn(in_features=2, hidden=(32,), num_classes=4, neuron="lif")(torch.rand(30, 5, 2)).shape
        torch.Size([30, 5, 4])
    """
    if seed is not None:
        torch.manual_seed(seed)
    return RSNN(in_features, hidden, num_classes, neuron, recurrent, tau_mem, tau_syn, tau_adapt, beta, v_threshold,
                readout_tau, dropout, surrogate, bias)
