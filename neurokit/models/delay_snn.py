"""Feed-forward SNN with one learnable delay per synapse (Hammouamri et al., ICLR 2024; research/models.md 2).

Per hidden layer: `DelayedLinear` -> `BatchNorm1d` (optional) -> neuron -> Dropout. Output: `DelayedLinear` ->
`LeakyIntegrator` (non-spiking leaky membrane). The network returns the readout membrane trace ``[T, B, classes]``;
classify with its mean over time (``out.mean(0)``), which is what ``nk.train`` does with ``[T, B, C]`` outputs.

Training protocol (what the training loop calls):

* ``model.anneal(epoch, epochs)`` at the start of every epoch: Gaussian width of every learned delay from
  ``max_delay / 2`` down to ``sigma_final`` over the first ``anneal_fraction`` of the epochs (`sigma_schedule`).
* delay positions (parameters named ``*.position``) want a much larger learning rate than the weights (DCLS: 100x)
  and no weight decay: ``nk.train(model, data, epochs, lr_scale={"position": 100.0}, weight_decay=1e-5)``.
* ``round_delays(model)`` after training: integer delays, the deployable form every target runs.

Defaults are the DCLS SHD configuration: 140 inputs (700 channels binned by 5), 2 x 256 hidden, 20 classes,
max_delay 25 steps (10 ms bins), dropout 0.4, BN, LIF with ``decay_input=False`` and ``tau = 10.05 ms / 10 ms``,
no biases. Trainable parameters: 106,496 weights + 106,496 delay positions + 1,024 BN = **214,016**, the count of
the DCLS code (``config.py`` / ``snn_delays.py`` of ``Thvnvtos/SNN-delays``: ``Dcls1d`` weights and positions, its
Gaussian widths frozen, BatchNorm; tested against the installed ``DCLS`` package).
"""

from __future__ import annotations

import torch
from torch import nn

from ..layers.delays import DELAY_MODES, DelayedLinear, anneal_delays, round_delays
from ..layers.readout import LeakyIntegrator
from ..layers.time_major import BatchNorm1d
from .common import neuron_factory


class DelaySNN(nn.Module):
    """Delay-learning feed-forward SNN, ``x [T, B, in_features] -> readout membrane [T, B, num_classes]``.

    Args: see `delay_snn` (which builds it).

    Example:
        >>> net = DelaySNN(4, 3, hidden=8, layers=1, max_delay=5)
        >>> net(torch.rand(12, 2, 4)).shape
        torch.Size([12, 2, 3])
    """

    def __init__(self, in_features: int, num_classes: int, hidden: int = 256, layers: int = 2,
                 max_delay: int = 25, delays: str = "learned", dropout: float = 0.4, batchnorm: bool = True,
                 neuron: str = "lif", tau: float = 1.005, readout_tau: float = 1.005, surrogate: str = "atan",
                 sigma_final: float = 0.5, anneal_fraction: float = 0.25, seed: int | None = None):
        super().__init__()
        if delays not in DELAY_MODES:
            raise ValueError(f"delays must be one of {DELAY_MODES}, got {delays!r}")
        if layers < 1 or hidden < 1:
            raise ValueError(f"layers and hidden must be >= 1, got layers={layers}, hidden={hidden}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        make_neuron = neuron_factory(neuron, tau=tau, surrogate=surrogate, detach_reset=True,
                                     **({} if neuron == "if" else {"decay_input": False}))
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        kw = dict(max_delay=max_delay, mode=delays, sigma_final=sigma_final, anneal_fraction=anneal_fraction,
                  generator=gen)
        blocks, width = [], in_features
        for _ in range(layers):
            block = [DelayedLinear(width, hidden, **kw)]
            if batchnorm:
                block.append(BatchNorm1d(hidden))
            block += [make_neuron(), nn.Dropout(dropout)]
            blocks.append(nn.Sequential(*block))
            width = hidden
        self.hidden = nn.Sequential(*blocks)
        self.output = DelayedLinear(width, num_classes, **kw)
        self.readout = LeakyIntegrator(readout_tau)
        self.in_features, self.num_classes, self.max_delay = in_features, num_classes, max_delay

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.in_features:
            raise ValueError(f"DelaySNN input x must have shape [T, B, {self.in_features}], got {tuple(x.shape)}")
        return self.readout(self.output(self.hidden(x)))

    def anneal(self, epoch: int, epochs: int) -> None:
        """Set the Gaussian width of every learned delay for ``epoch`` (0-based) of ``epochs``."""
        anneal_delays(self, epoch, epochs)

    def round_delays(self) -> DelaySNN:
        """Integer delays in place (see `neurokit.layers.delays.round_delays`); returns self."""
        return round_delays(self)


def delay_snn(in_features: int = 140, num_classes: int = 20, hidden: int = 256, layers: int = 2,
              max_delay: int = 25, delays: str = "learned", dropout: float = 0.4, batchnorm: bool = True,
              neuron: str = "lif", tau: float = 1.005, readout_tau: float = 1.005, surrogate: str = "atan",
              sigma_final: float = 0.5, anneal_fraction: float = 0.25, seed: int | None = None) -> DelaySNN:
    """Build the SHD-style delay network (defaults: the DCLS SHD configuration, 214,016 trainable parameters).

    Args:
        in_features, num_classes: input channels and classes.
        hidden, layers: hidden width and number of hidden layers.
        max_delay: largest synaptic delay in time steps (delays in ``[0, max_delay]``).
        delays: ``"learned"`` (DCLS Gaussian positions), ``"random"`` (fixed random integers) or ``"none"``.
        dropout, batchnorm: regularisation after each hidden layer.
        neuron: ``"lif" | "if" | "plif"`` (LIF/PLIF with ``decay_input=False``); ``tau`` its time constant in
            steps; ``readout_tau`` the output leaky integrator's; ``surrogate`` a `nk.surrogate` name.
        sigma_final, anneal_fraction: delay-width schedule (see `sigma_schedule`).
        seed: seeds the initial delay positions / random delays.

    Shapes: ``x [T, B, in_features]`` -> ``[T, B, num_classes]`` (readout membrane; logits = ``out.mean(0)``).

    Example:
        >>> net = delay_snn(in_features=2, num_classes=4, hidden=16, layers=1, max_delay=12)
        >>> net(torch.rand(30, 5, 2)).shape
        torch.Size([30, 5, 4])
    """
    return DelaySNN(in_features, num_classes, hidden, layers, max_delay, delays, dropout, batchnorm, neuron, tau,
                    readout_tau, surrogate, sigma_final, anneal_fraction, seed)
