"""Synapses with one delay per synapse (DCLS-style delay learning).

`DelayedLinear` maps a time-major input ``x: [T, B, in]`` to ``[T, B, out]``. Every synapse ``(o, j)`` has a
weight ``W[o, j]`` and a delay. Two semantics exist:

* **Continuous (training, ``mode="learned"`` before rounding).** Each synapse has a real position
  ``p[o, j]`` in ``[0, max_delay]``. Its temporal kernel over the taps ``k = 0..max_delay`` is a Gaussian centred on
  ``p`` with width ``sigma``, normalised to sum to 1 over the taps (Hammouamri et al., ICLR 2024, DCLS
  ``version='gauss'``; Hammouamri et al., ICLR 2024, arXiv 2306.17670)::

      g[o, j, k] = exp(-0.5 * ((k - p[o, j]) / sigma) ** 2) / sum_k' exp(-0.5 * ((k' - p[o, j]) / sigma) ** 2)
      out[t, b, o] = bias[o] + sum_j sum_k W[o, j] * g[o, j, k] * x[t - k, b, j]

  ``sigma`` is not trained; it is annealed by `sigma_schedule` from ``sigma_init`` (default ``max_delay / 2``)
  down to ``sigma_final`` so that the kernel becomes (almost) one tap wide.

* **Integer (deployment; after `round_delays`, and always for ``mode="random"`` / ``"none"``).** Each synapse has
  an integer delay ``d[o, j]`` in ``[0, max_delay]`` (``layer.delay``, a ``LongTensor[out, in]``)::

      out[t, b, o] = bias[o] + sum_j W[o, j] * x[t - d[o, j], b, j]      with x[t'] = 0 for t' < 0

  This is the semantics every compile target reproduces. Rounding is ``d = clamp(round(p), 0, max_delay)`` with
  ``torch.round`` (halves to even).

Cost. On CPU float32 the layer skips the zero inputs and takes the cheapest of three computations (`path`):

* ``"scatter"`` (:func:`neurokit.kernels.delay_shift.shift_accumulate`): each non-zero input is scattered into the
  taps of each synapse's support: after rounding one tap per synapse; while learning the
  ``2 * ceil(support_sigmas * sigma) + 1`` taps around ``round(p)`` (the Gaussian keeps its normalisation over all
  taps, so the result differs from the dense one only by the dropped tails, below
  ``sum_j |W[o, j]| * tail[o, j] * max|x|``; at ``support_sigmas = 3`` a tail is at most about 0.3 % of the kernel);
* ``"taps"`` (:func:`neurokit.kernels.delay_taps.tap_accumulate`): each non-zero input adds all its taps
  ``W[:, j] * g[:, j, k]`` as contiguous vectors: the dense result to fp32 rounding at every sigma;
* ``"conv"``: the dense causal ``conv1d`` (also the only path on other devices and dtypes).

Relative to the conv, the rule prices the scatter at ``taps x density x SCATTER_COST / (max_delay + 1)`` and the
taps at ``density x TAPS_COST`` (the constants are the cost ratios measured by ``benchmarks/delays.py``). Every path
is checked against the plain references (`delayed_linear_reference`, `gaussian_delay_reference`) in the tests.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..kernels.delay_shift import shift_accumulate
from ..kernels.delay_taps import gaussian_taps, tap_accumulate

DELAY_MODES = ("learned", "random", "none")


def sigma_schedule(epoch: int, epochs: int, sigma_init: float, sigma_final: float = 0.5,
                   anneal_fraction: float = 0.25) -> float:
    """Gaussian width for ``epoch`` (0-based): exponential decay from ``sigma_init`` to ``sigma_final``.

    The decay is geometric (DCLS multiplies sigma by a constant factor each epoch) and reaches ``sigma_final`` after
    ``anneal_fraction * epochs`` epochs; later epochs keep ``sigma_final``.

    Example:
        >>> sigma_schedule(0, 40, 12.0), round(sigma_schedule(10, 40, 12.0), 3)
        (12.0, 0.5)
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if not (sigma_init > 0 and sigma_final > 0):
        raise ValueError(f"sigma_init and sigma_final must be > 0, got {sigma_init} and {sigma_final}")
    if not 0 < anneal_fraction <= 1:
        raise ValueError(f"anneal_fraction must be in (0, 1], got {anneal_fraction}")
    progress = min(max(epoch, 0) / max(anneal_fraction * epochs, 1e-12), 1.0)
    return float(sigma_init * (sigma_final / sigma_init) ** progress)


def _check_input(x: torch.Tensor, in_features: int) -> None:
    if x.dim() != 3 or x.shape[-1] != in_features:
        raise ValueError(f"DelayedLinear input x must have shape [T, B, {in_features}] (time-major), "
                         f"got {tuple(x.shape)}")


def delayed_linear_reference(x: torch.Tensor, weight: torch.Tensor, delay: torch.Tensor,
                             bias: torch.Tensor | None = None) -> torch.Tensor:
    """Integer-delay synapse, written as the definition: ``out[t,b,o] = bias[o] + sum_j W[o,j] x[t-d[o,j],b,j]``.

    Shapes: ``x [T, B, in]``, ``weight [out, in]``, ``delay`` integer ``[out, in]`` (``>= 0``), ``bias [out]``
    -> ``[T, B, out]``. Inputs before ``t = 0`` are zero. Memory ``T*B*out*in``: a reference for tests only.

    Example:
        >>> x = torch.zeros(4, 1, 1); x[0, 0, 0] = 1.0
        >>> delayed_linear_reference(x, torch.ones(1, 1), torch.tensor([[2]]))[:, 0, 0]
        tensor([0., 0., 1., 0.])
    """
    T = x.shape[0]
    d_max = int(delay.max()) if delay.numel() else 0
    x_pad = torch.cat([x.new_zeros(d_max, *x.shape[1:]), x], dim=0)          # x_pad[t + d_max] = x[t]
    t_idx = torch.arange(T, device=x.device).view(T, 1, 1) + d_max - delay.long().unsqueeze(0)  # [T, out, in]
    j_idx = torch.arange(x.shape[2], device=x.device).view(1, 1, -1).expand_as(t_idx)
    gathered = x_pad[t_idx, :, j_idx]                                          # [T, out, in, B]
    out = torch.einsum("toib,oi->tbo", gathered, weight)
    return out if bias is None else out + bias


def gaussian_delay_taps(position: torch.Tensor, sigma: float, max_delay: int) -> torch.Tensor:
    """Normalised Gaussian tap weights ``g[..., k]`` for taps ``k = 0..max_delay`` (each row sums to 1).

    Shapes: ``position [out, in]`` -> ``[out, in, max_delay + 1]``.

    Example:
        >>> gaussian_delay_taps(torch.tensor([[2.0]]), 0.01, 4).round()
        tensor([[[0., 0., 1., 0., 0.]]])
    """
    taps = torch.arange(max_delay + 1, device=position.device, dtype=position.dtype)
    logits = -0.5 * ((taps - position.unsqueeze(-1)) / sigma) ** 2
    return torch.softmax(logits, dim=-1)


def gaussian_delay_reference(x: torch.Tensor, weight: torch.Tensor, position: torch.Tensor, sigma: float,
                             max_delay: int, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Continuous-delay synapse, the definition: ``out[t] = bias + sum_k (W * g[:, :, k]) @ x[t - k]``.

    Shapes: ``x [T, B, in]``, ``weight``/``position [out, in]`` -> ``[T, B, out]``; a loop over the taps.

    Example:
        >>> x = torch.zeros(3, 1, 1); x[0, 0, 0] = 1.0
        >>> gaussian_delay_reference(x, torch.ones(1, 1), torch.tensor([[1.0]]), 0.01, 2)[:, 0, 0]
        tensor([0., 1., 0.])
    """
    taps = gaussian_delay_taps(position, sigma, max_delay)
    T = x.shape[0]
    out = x.new_zeros(T, x.shape[1], weight.shape[0])
    for k in range(min(max_delay + 1, T)):
        out[k:] += x[:T - k] @ (weight * taps[..., k]).t()
    return out if bias is None else out + bias


def _causal_delay_conv(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``out[t] = bias + sum_k kernel[:, :, k] @ x[t - k]`` via conv1d. ``kernel [out, in, K]`` tap k = delay k."""
    K = kernel.shape[-1]
    xb = F.pad(x.permute(1, 2, 0), (K - 1, 0))                                 # [B, in, T + K - 1]
    y = F.conv1d(xb, kernel.flip(-1), bias)                                    # cross-correlation: flip taps
    return y.permute(2, 0, 1)


# Cost of each event-driven path relative to the dense conv1d's GEMM, measured with benchmarks/delays.py
# (DelayedLinear(700, 256, 25), T=100, B=32, 5 % input spikes, CPU): the per-synapse scatter costs about 64x a GEMM
# multiply-add (62x at 23 taps, 70x at 5), the event-driven dense taps about 5x (4x faster than the conv at 5 %).
SCATTER_COST = 64
TAPS_COST = 5


def _plan(x: torch.Tensor, weight: torch.Tensor, taps: int | None, max_delay: int) -> str:
    """The cheapest path for ``x``: ``"scatter"`` (``taps`` per synapse, cost ``taps x density x SCATTER_COST /
    (max_delay + 1)`` of the conv), ``"taps"`` (every tap, only the events: ``density x TAPS_COST``) or ``"conv"``
    (cost 1; the only path off CPU float32). ``taps`` is None when the scatter does not apply."""
    if x.device.type != "cpu" or x.dtype != torch.float32 or weight.dtype != torch.float32:
        return "conv"
    density = float(torch.count_nonzero(x)) / max(x.numel(), 1)
    costs = {"conv": 1.0, "taps": density * TAPS_COST}
    if taps is not None:
        costs["scatter"] = taps * density * SCATTER_COST / (max_delay + 1)
    return min(costs, key=costs.get)


class DelayedLinear(nn.Module):
    """Fully connected synapse with one delay per synapse, time-major ``[T, B, in] -> [T, B, out]``.

    Args:
        in_features, out_features: sizes.
        max_delay: largest delay ``D`` in time steps; delays live in ``[0, D]``.
        mode: ``"learned"`` (continuous Gaussian-interpolated position per synapse, trained by backprop, rounded by
            `round_delays`), ``"random"`` (fixed integer delays drawn uniformly from ``[0, D]``) or ``"none"``
            (all delays 0: a plain linear layer, the baseline).
        sigma_init: starting Gaussian width (default ``max(D / 2, sigma_final)``); ``sigma_final``: last width;
        anneal_fraction: fraction of the epochs over which sigma decays (see `sigma_schedule`).
        bias: add a learnable bias (default False, as in DCLS).
        support_sigmas: half-width of the tap window the ``"scatter"`` path computes while learning, in units of
            sigma (default 3.0; ``None``: no window, every tap is computed, by the ``"taps"`` or ``"conv"`` path).
        generator: optional ``torch.Generator`` for the initial / random delays.

    Attributes: ``weight [out, in]``; ``delay`` (``LongTensor[out, in]``, meaningful when ``is_rounded``);
    ``position [out, in]`` (float parameter, learned mode only); ``sigma`` (float); ``max_delay``; ``is_rounded``.
    During training the positions are clamped to ``[0, D]`` in place at the start of each forward.

    Example:
        >>> layer = DelayedLinear(3, 2, max_delay=4)
        >>> layer(torch.rand(10, 5, 3)).shape
        torch.Size([10, 5, 2])
        >>> _ = layer.round_(); layer.is_rounded, layer.delay.dtype
        (True, torch.int64)
    """

    def __init__(self, in_features: int, out_features: int, max_delay: int, mode: str = "learned",
                 sigma_init: float | None = None, sigma_final: float = 0.5, anneal_fraction: float = 0.25,
                 bias: bool = False, generator: torch.Generator | None = None, support_sigmas: float | None = 3.0):
        super().__init__()
        if support_sigmas is not None and not support_sigmas > 0:
            raise ValueError(f"support_sigmas must be > 0 or None, got {support_sigmas}")
        self.support_sigmas = None if support_sigmas is None else float(support_sigmas)
        if mode not in DELAY_MODES:
            raise ValueError(f"mode must be one of {DELAY_MODES}, got {mode!r}")
        if int(max_delay) != max_delay or max_delay < 0:
            raise ValueError(f"max_delay must be an integer >= 0, got {max_delay}")
        if in_features < 1 or out_features < 1:
            raise ValueError(f"in_features and out_features must be >= 1, got {in_features}, {out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.max_delay, self.mode = int(max_delay), mode
        self.sigma_final = float(sigma_final)
        self.sigma_init = float(sigma_init) if sigma_init is not None else max(self.max_delay / 2, self.sigma_final)
        self.anneal_fraction = float(anneal_fraction)
        self.sigma = self.sigma_init

        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

        shape = (out_features, in_features)
        if mode == "random":
            delay = torch.randint(0, self.max_delay + 1, shape, generator=generator)
        else:
            delay = torch.zeros(shape, dtype=torch.long)
        self.register_buffer("delay", delay)
        self.register_buffer("rounded", torch.tensor(mode != "learned"))
        if mode == "learned":
            self.position = nn.Parameter(torch.rand(shape, generator=generator) * self.max_delay)
        else:
            self.register_parameter("position", None)

    @property
    def is_rounded(self) -> bool:
        """True when the layer runs integer delays (``layer.delay``)."""
        return bool(self.rounded)

    def set_sigma(self, sigma: float) -> None:
        """Set the Gaussian width used by the continuous (learned, unrounded) path; ``sigma > 0``."""
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.sigma = float(sigma)

    def anneal(self, epoch: int, epochs: int) -> float:
        """Set sigma for ``epoch`` of ``epochs`` with `sigma_schedule`; returns the new sigma."""
        self.set_sigma(sigma_schedule(epoch, epochs, self.sigma_init, self.sigma_final, self.anneal_fraction))
        return self.sigma

    @torch.no_grad()
    def round_(self) -> DelayedLinear:
        """Switch to integer delays ``d = clamp(round(position), 0, max_delay)`` (in place); returns self."""
        if not self.is_rounded:
            self.delay.copy_(self.position.round().clamp(0, self.max_delay).long())
            self.position.requires_grad_(False)
            self.rounded.fill_(True)
        return self

    def tap_kernel(self) -> torch.Tensor:
        """Effective kernel ``[out, in, max_delay + 1]``: tap ``k`` holds the weight applied to ``x[t - k]``."""
        if self.is_rounded:
            one_hot = F.one_hot(self.delay, self.max_delay + 1).to(self.weight.dtype)
            return self.weight.unsqueeze(-1) * one_hot
        return self.weight.unsqueeze(-1) * gaussian_delay_taps(self.position, self.sigma, self.max_delay)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [T, B, in]`` -> ``[T, B, out]`` (see the module docstring for the exact semantics)."""
        _check_input(x, self.in_features)
        if not self.is_rounded and self.training:
            with torch.no_grad():
                self.position.clamp_(0, self.max_delay)
        taps = self.support_taps()
        path = _plan(x, self.weight, None if taps is None else taps.shape[-1], self.max_delay)
        if path == "conv":
            return _causal_delay_conv(x, self.tap_kernel(), self.bias)
        if path == "scatter":
            out = shift_accumulate(x, *self._window_weights(taps))
        elif self.is_rounded:
            out = tap_accumulate(x, self.tap_kernel().permute(1, 2, 0))
        else:
            out = tap_accumulate(x, gaussian_taps(self.weight, self.position, self.sigma, self.max_delay + 1))
        return out if self.bias is None else out + self.bias

    def path(self, x: torch.Tensor) -> str:
        """Which computation ``forward(x)`` runs: ``"scatter"`` (the support window, or the one rounded tap, per
        synapse), ``"taps"`` (every tap, only the non-zero inputs) or ``"conv"`` (the dense causal conv1d); the
        cheapest by the cost rule of the module docstring.

        Example:
            >>> DelayedLinear(3, 2, max_delay=8).round_().path(torch.zeros(10, 5, 3))
            'scatter'
        """
        taps = self.support_taps()
        return _plan(x, self.weight, None if taps is None else taps.shape[-1], self.max_delay)

    def support_taps(self) -> torch.Tensor | None:
        """Tap indices each synapse computes, ``LongTensor[out, in, M]``, or ``None`` when every tap is needed.

        Rounded: ``M = 1`` (the integer delay). Learning: the ``M = 2 * ceil(support_sigmas * sigma) + 1`` taps
        centred on ``round(position)`` (shifted to stay inside ``[0, max_delay]``); ``None`` when ``M`` would reach
        ``max_delay + 1`` or ``support_sigmas`` is ``None``.
        """
        if self.is_rounded:
            return self.delay.unsqueeze(-1)
        if self.support_sigmas is None:
            return None
        radius = math.ceil(self.support_sigmas * self.sigma)
        width = 2 * radius + 1
        if width >= self.max_delay + 1:
            return None
        centre = self.position.detach().round().long().clamp(0, self.max_delay)
        start = (centre - radius).clamp(0, self.max_delay + 1 - width)
        return start.unsqueeze(-1) + torch.arange(width, device=start.device)

    def _window_weights(self, taps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(weight [M, in, out], delay int32 [M, in, out])`` for `shift_accumulate` from ``taps [out, in, M]``."""
        if self.is_rounded:
            w = self.weight.unsqueeze(-1)
        else:
            w = self.weight.unsqueeze(-1) * gaussian_delay_taps(self.position, self.sigma, self.max_delay).gather(
                -1, taps)
        return w.permute(2, 1, 0).contiguous(), taps.permute(2, 1, 0).to(torch.int32).contiguous()

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, max_delay={self.max_delay}, "
                f"mode={self.mode!r}, rounded={self.is_rounded}, bias={self.bias is not None}")


def delay_layers(model: nn.Module) -> list[DelayedLinear]:
    """All `DelayedLinear` layers of ``model`` in module order.

    Example:
        >>> len(delay_layers(nn.Sequential(DelayedLinear(2, 2, 3), nn.ReLU())))
        1
    """
    return [m for m in model.modules() if isinstance(m, DelayedLinear)]


def round_delays(model: nn.Module) -> nn.Module:
    """Turn every `DelayedLinear` in ``model`` into its integer-delay form (in place); returns ``model``.

    After this call every layer has ``is_rounded == True`` and runs ``out[t] = sum_j W[o,j] x[t - d[o,j], j]``
    with ``d = layer.delay`` (``LongTensor[out, in]`` in ``[0, max_delay]``), the form every target deploys.

    Example:
        >>> net = nn.Sequential(DelayedLinear(2, 2, 3))
        >>> round_delays(net)[0].is_rounded
        True
    """
    for layer in delay_layers(model):
        layer.round_()
    return model


def anneal_delays(model: nn.Module, epoch: int, epochs: int) -> None:
    """Set sigma of every unrounded learned `DelayedLinear` in ``model`` for ``epoch`` of ``epochs``.

    Call it at the start of every epoch (``nk.models.DelaySNN.anneal`` does exactly this).

    Example:
        >>> net = nn.Sequential(DelayedLinear(2, 2, 8)); anneal_delays(net, 0, 10); net[0].sigma
        4.0
    """
    for layer in delay_layers(model):
        if layer.mode == "learned" and not layer.is_rounded:
            layer.anneal(epoch, epochs)
