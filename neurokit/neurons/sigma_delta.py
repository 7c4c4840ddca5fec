"""Sigma-delta neurons: graded messages that carry the change of an activation (Loihi 2's way of running deep nets).

A sigma-delta unit integrates the incoming graded deltas (sigma), applies an activation and sends the change of
that activation only when it is large enough (delta encoder). Per step ``t`` (time-major ``[T, B, ...]``), with
``a[-1] = r[-1] = e[-1] = 0``:

* sigma: ``s[t] = s[t-1] + x[t]`` (``sigma=False``: ``s[t] = x[t]``); activation ``a[t] = act(s[t] + bias)``
* delta: ``d[t] = a[t] - a[t-1] + r[t-1]``
* ``cum_error=False``: send ``y[t] = d[t]`` if ``|d[t]| >= threshold`` else ``0``
* ``cum_error=True``: ``e[t] = e[t-1] + d[t]``; send ``y[t] = d[t]`` if ``|e[t]| >= threshold`` else ``0``;
  ``e[t] = 0`` after a message
* residual ``r[t] = d[t] - y[t]`` (what was not sent is carried, so the sum of the messages tracks ``a``)
* with ``scale`` set, the message is floored to the grid ``1 / (64 * scale)``: ``y[t] = floor(y[t] * 64 scale) /
  (64 scale)`` (the residual is taken before the flooring).

This is lava-dl's slayer ``sigma_delta.Neuron`` (``slayer/dendrite/sigma.py``, ``slayer/axon/delta.py`` in
https://github.com/lava-nc/lava-dl) with time moved to the front. Gradient (lava-dl's straight-through rule): the
thresholding and the flooring pass the gradient unchanged, so ``y[t]`` differentiates as ``a[t] - a[t-1]``:
``dL/da[t] = dL/dy[t] - dL/dy[t+1]``. The threshold is fixed (not learned).

:func:`sigma_delta_reference` is the definition; :class:`SigmaDelta` runs the same forward without an autograd
graph per step and its backward in one vectorised expression.

Example::

    >>> sd = nk.SigmaDelta(threshold=0.125)
    >>> y = sd(torch.randn(16, 4, 32) * 0.1)        # [T, B, N] deltas in -> [T, B, N] graded messages out
    >>> 0 <= float(sd.message_rate) <= 1             # fraction of (step, neuron) slots that sent a message
    True
"""
from __future__ import annotations

import math
import warnings
from typing import Optional

import torch
from torch import nn

from .checks import check_input

__all__ = ["SigmaDelta", "Sigma", "sigma_delta_reference", "ACTIVATIONS", "quantized_threshold"]

#: activation names accepted by :class:`SigmaDelta` (Lava's ``ActivationMode`` has RELU and UNIT).
ACTIVATIONS = {"relu": torch.relu, "identity": lambda v: v}

# lava-dl's slayer keeps the states 2**6 finer than the weights (``s_scale = scale * (1 << 6)``)
_STATE_SHIFT = 64


def quantized_threshold(threshold: float, scale: Optional[int]) -> float:
    """The threshold a sigma-delta unit uses: ``threshold`` itself when ``scale`` is None, else lava-dl's rule
    ``max(int(threshold * scale) / scale, 1 / (64 * scale))`` (truncated to the weight grid, at least one state step).

    Example:
        >>> quantized_threshold(0.1, 64)
        0.09375
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise TypeError(f"threshold must be a finite number >= 0, got {threshold!r}")
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0 (a sigma-delta unit sends a change when |change| >= threshold), "
                         f"got threshold={threshold!r}")
    if scale is None:
        return float(threshold)
    return max(int(threshold * scale) / scale, 1.0 / (_STATE_SHIFT * scale))


def _check_scale(scale) -> Optional[int]:
    if scale is None:
        return None
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive int (lava-dl's weight scale, e.g. 64) or None, got {scale!r}")
    return scale


def _check_activation(activation: str):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    return ACTIVATIONS[activation]


def _check_bias(bias) -> torch.Tensor:
    b = torch.as_tensor(bias).detach().clone()
    if b.dim() != 1 or not b.is_floating_point() or not bool(torch.isfinite(b).all()):
        raise ValueError(f"bias must be a finite 1-D float tensor (one value per channel, dim 2 of [T, B, C, ...]); "
                         f"got shape {tuple(b.shape)}, dtype {b.dtype}")
    return b


def _bias_view(bias: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    if x.dim() < 3 or x.shape[2] != bias.numel():
        raise ValueError(f"bias has {bias.numel()} channels but the input [T, B, C, ...] has shape {tuple(x.shape)}")
    return bias.view(bias.numel(), *([1] * (x.dim() - 3)))


def _delta_forward(a: torch.Tensor, threshold: float, cum_error: bool, step: Optional[float]) -> torch.Tensor:
    """Delta encoder forward on ``a [T, B, ...]`` (no graph). Returns the messages ``[T, B, ...]``."""
    out = torch.empty_like(a)
    prev = torch.zeros_like(a[0])
    resid = torch.zeros_like(a[0])
    err = torch.zeros_like(a[0])
    for t in range(a.shape[0]):
        d = a[t] - prev + resid
        if cum_error:
            err = err + d
            y = torch.where(err.abs() >= threshold, d, torch.zeros_like(d))
            err = err * (y == 0)
        else:
            y = torch.where(d.abs() >= threshold, d, torch.zeros_like(d))
        resid = d - y
        prev = a[t]
        out[t] = y
    if step is not None:
        out = torch.floor(out / step) * step
    return out


class _DeltaSTE(torch.autograd.Function):
    @staticmethod
    def forward(_ctx, a, threshold, cum_error, step):
        return _delta_forward(a, threshold, cum_error, step)

    @staticmethod
    def backward(_ctx, g):
        grad = g.clone()
        grad[:-1] -= g[1:]
        return grad, None, None, None


def sigma_delta_reference(x: torch.Tensor, threshold: float, activation: str = "relu", cum_error: bool = False,
                          scale: Optional[int] = 64, bias: Optional[torch.Tensor] = None,
                          sigma: bool = True) -> torch.Tensor:
    """Plain per-step loop that defines the sigma-delta unit (module docstring); autograd runs through it.

    Args:
        x: incoming graded deltas ``[T, B, ...]``.
        threshold, activation, cum_error, scale, bias, sigma: as :class:`SigmaDelta`.

    Returns:
        graded messages ``[T, B, ...]``.

    Example:
        >>> sigma_delta_reference(torch.tensor([[0.5], [0.0], [0.05]]), 0.1, scale=None).flatten().tolist()
        [0.5, 0.0, 0.0]
    """
    scale = _check_scale(scale)
    th = quantized_threshold(threshold, scale)
    act = _check_activation(activation)
    step = None if scale is None else 1.0 / (_STATE_SHIFT * scale)
    s = torch.cumsum(x, dim=0) if sigma else x  # s[t] = s[t-1] + x[t], in torch.cumsum's float order (lava-dl's)
    if bias is not None:
        s = s + _bias_view(bias, x)
    a_prev = torch.zeros_like(x[0])
    resid = torch.zeros_like(x[0])
    err = torch.zeros_like(x[0])
    out = []
    for t in range(x.shape[0]):
        a = act(s[t])
        d = (a - a_prev + resid).detach()
        if cum_error:
            err = err + d
            y = torch.where(err.abs() >= th, d, torch.zeros_like(d))
            err = err * (y == 0)
        else:
            y = torch.where(d.abs() >= th, d, torch.zeros_like(d))
        resid = d - y
        if step is not None:
            y = torch.floor(y / step) * step
        lin = a - a_prev                      # the straight-through path: y[t] differentiates as a[t] - a[t-1]
        out.append(y + (lin - lin.detach()))  # forward: exactly y
        a_prev = a
    return torch.stack(out)


class SigmaDelta(nn.Module):
    """Sigma-delta unit with graded output (lava-dl slayer ``sigma_delta.Neuron`` semantics, time-major).

    Args:
        threshold: send the change of the activation when ``|change| >= threshold`` (``>= 0``). With ``scale`` set
            it is quantized by :func:`quantized_threshold` (a ``UserWarning`` once when that changes it).
        activation: ``"relu"`` or ``"identity"``, applied to the integrated input.
        cum_error: lava-dl's ``cum_error``: compare the error accumulated since the last message with the threshold.
        scale: lava-dl's weight scale (``64``): messages are floored to ``1/(64*scale)``; ``None`` = no quantization.
        bias: optional per-channel bias ``(C,)`` (dim 2 of the input), added to the integrated input before the
            activation (lava-dl's ``set_bias``; netx's neuron bias). Learnable.
        sigma: ``False``: no integration, the input itself is the value to encode (a delta encoder on raw inputs,
            netx's SDNN input block).

    Shapes: ``x [T, B, ...]`` (graded deltas, e.g. the output of a layer fed by another ``SigmaDelta``) ->
    messages ``[T, B, ...]``. After each call ``self.message_rate`` holds the fraction of nonzero messages.

    Example::

        >>> sd = nk.SigmaDelta(threshold=0.25, activation="relu")
        >>> sd(torch.tensor([[[1.0]], [[0.1]], [[0.2]]])).flatten().tolist()   # sigma: 1.0, 1.1, 1.3
        [1.0, 0.0, 0.2998046875]
    """

    def __init__(self, threshold: float, activation: str = "relu", cum_error: bool = False,
                 scale: Optional[int] = 64, bias: Optional[torch.Tensor] = None, sigma: bool = True):
        super().__init__()
        self.sigma = bool(sigma)
        self.bias = None if bias is None else nn.Parameter(_check_bias(bias))
        self.scale = _check_scale(scale)
        self.threshold = quantized_threshold(threshold, self.scale)
        if self.threshold != float(threshold):
            warnings.warn(f"SigmaDelta: threshold={threshold!r} is quantized to {self.threshold!r} "
                          f"(lava-dl's rule for scale={scale}; pass scale=None to keep it)", stacklevel=2)
        self.activation = activation
        self._act = _check_activation(activation)
        self.cum_error = bool(cum_error)
        self.message_rate: Optional[torch.Tensor] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, who="SigmaDelta")
        s = torch.cumsum(x, dim=0) if self.sigma else x
        if self.bias is not None:
            s = s + _bias_view(self.bias, x)
        a = self._act(s)
        step = None if self.scale is None else 1.0 / (_STATE_SHIFT * self.scale)
        y = _DeltaSTE.apply(a, self.threshold, self.cum_error, step)
        self.message_rate = (y.detach() != 0).float().mean()
        return y

    def extra_repr(self) -> str:
        return (f"threshold={self.threshold}, activation={self.activation!r}, cum_error={self.cum_error}, "
                f"scale={self.scale}, bias={self.bias is not None}, sigma={self.sigma}")


class Sigma(nn.Module):
    """Sigma decoder read-out: integrates graded deltas ``x [T, B, ...]`` over time, plus an optional per-channel
    ``bias`` (dim 2): ``y[t] = sum_{k<=t} x[k] + bias`` (netx's ``sigma_output`` block, lava-dl slayer's ``Sigma``
    dendrite). The output of an SDNN whose last layer is linear.

    Example::

        >>> nk.neurons.Sigma()(torch.tensor([[1.0], [0.5], [-0.25]])).flatten().tolist()
        [1.0, 1.5, 1.25]
    """

    def __init__(self, bias: Optional[torch.Tensor] = None):
        super().__init__()
        self.bias = None if bias is None else nn.Parameter(_check_bias(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, who="Sigma")
        y = torch.cumsum(x, dim=0)
        return y if self.bias is None else y + _bias_view(self.bias, x)
