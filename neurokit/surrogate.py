"""Surrogate gradients and binarization estimators, one family selectable by name.

Every member is a :class:`Surrogate` with

* ``derivative(x)`` -- the backward formula (the pseudo-derivative of the step),
* ``primitive(x)`` -- a smooth function whose true derivative is ``derivative`` (used to test the formula with
  ``torch.autograd.gradcheck`` and to plot the shape),
* ``spike(x)`` -- Heaviside forward (``x > 0`` -> 1.0), ``derivative`` backward,
* ``binarize(x)`` -- sign-like forward (values in {-1, +1}, ``0 -> +1``), ``derivative`` backward; for ``biper`` the
  forward is the square wave ``sign(sin(freq * x))``.

Formulas (``x`` is the distance to threshold, ``v - v_th``):

============== ================================================ ==============================================
name           derivative                                        source
============== ================================================ ==============================================
atan(alpha)    ``alpha / 2 / (1 + (pi/2 * alpha * x)^2)``        SpikingJelly ``ATan``
sigmoid(alpha) ``alpha * sg * (1 - sg)``, ``sg = sigmoid(alpha x)`` SpikingJelly ``Sigmoid``
fast_sigmoid   ``1 / (1 + slope * |x|)^2``                       SuperSpike; snnTorch ``fast_sigmoid``
triangle(w)    ``max(0, 1 - |x| / w) / w``                        triangular window of half-width ``w``
rectangle(w)   ``1 / w`` if ``|x| < w / 2`` else 0               rectangular window of width ``w``
ste(clip)      1 (or ``1[|x| <= clip]``)                         straight-through estimator
reste(o,t,i)   ``(1/o) |x|^((1-o)/o)`` on ``i < |x| <= t``;       ReSTE (Wu et al., ICCV 2023, arXiv 2308.06689)
               ``i^(1/o) / i`` on ``|x| <= i``; 0 beyond ``t``
biper(freq)    ``freq * cos(freq * x)``                          BiPer (quant_onnx.md §2)
============== ================================================ ==============================================

Example::

    >>> import torch, neurokit as nk
    >>> sg = nk.surrogate.get("atan", alpha=2.0)
    >>> x = torch.tensor([-0.5, 0.2], requires_grad=True)
    >>> s = sg.spike(x)            # tensor([0., 1.])
    >>> s.sum().backward()         # x.grad == sg.derivative(x)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

__all__ = ["Surrogate", "get", "names", "SURROGATE_IDS"]


@dataclass(frozen=True)
class Surrogate:
    """One surrogate/estimator: a name plus its parameters (``params``)."""

    name: str
    params: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ formulas
    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """Pseudo-derivative at ``x`` (any shape, same shape out)."""
        p = self.params
        n = self.name
        if n == "atan":
            a = p["alpha"]
            return (a / 2) / (1 + (math.pi / 2 * a * x) ** 2)
        if n == "sigmoid":
            sg = torch.sigmoid(p["alpha"] * x)
            return p["alpha"] * sg * (1 - sg)
        if n == "fast_sigmoid":
            return 1.0 / (1.0 + p["slope"] * x.abs()) ** 2
        if n == "triangle":
            w = p["width"]
            return torch.clamp(1.0 - x.abs() / w, min=0.0) / w
        if n == "rectangle":
            w = p["width"]
            return (x.abs() < w / 2).to(x.dtype) / w
        if n == "ste":
            if p["clip"] is None:
                return torch.ones_like(x)
            return (x.abs() <= p["clip"]).to(x.dtype)
        if n == "reste":
            o, t, i = p["o"], p["t"], p["interval"]
            ax = x.abs()
            inner = torch.full_like(x, i ** (1.0 / o) / i)
            power = (1.0 / o) * ax.clamp(min=i) ** ((1.0 - o) / o)
            out = torch.where(ax <= i, inner, power)
            return torch.where(ax > t, torch.zeros_like(x), out)
        if n == "biper":
            f = p["freq"]
            return f * torch.cos(f * x)
        raise AssertionError(n)  # unreachable: names are validated in get()

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        """A function whose exact derivative is :meth:`derivative` (for tests and plots)."""
        p = self.params
        n = self.name
        if n == "atan":
            return torch.atan(math.pi / 2 * p["alpha"] * x) / math.pi + 0.5
        if n == "sigmoid":
            return torch.sigmoid(p["alpha"] * x)
        if n == "fast_sigmoid":
            return x / (1.0 + p["slope"] * x.abs())
        if n == "triangle":
            w = p["width"]
            y = x.clamp(-w, w) / w
            return torch.where(y >= 0, y - y * y / 2, y + y * y / 2)
        if n == "rectangle":
            w = p["width"]
            return torch.clamp(x / w + 0.5, 0.0, 1.0)
        if n == "ste":
            return x if p["clip"] is None else x.clamp(-p["clip"], p["clip"])
        if n == "reste":
            o, t, i = p["o"], p["t"], p["interval"]
            ax = x.abs().clamp(max=t)
            linear = ax * (i ** (1.0 / o) / i)
            power = ax.clamp(min=i) ** (1.0 / o)
            return torch.sign(x) * torch.where(ax <= i, linear, power)
        if n == "biper":
            return torch.sin(p["freq"] * x)
        raise AssertionError(n)

    # ------------------------------------------------------------------ autograd entry points
    def spike(self, x: torch.Tensor) -> torch.Tensor:
        """Heaviside step ``(x > 0)`` in ``x.dtype`` with this surrogate's gradient. Shape preserved."""
        return _SpikeFn.apply(x, self)

    def binarize(self, x: torch.Tensor) -> torch.Tensor:
        """Sign-like binarization to {-1, +1} (``0 -> +1``) with this estimator's gradient. Shape preserved."""
        return _BinarizeFn.apply(x, self)

    def forward_binary(self, x: torch.Tensor) -> torch.Tensor:
        """The binarization forward value without autograd (``biper``: square wave, others: sign)."""
        z = torch.sin(self.params["freq"] * x) if self.name == "biper" else x
        return torch.where(z >= 0, torch.ones_like(x), -torch.ones_like(x))


class _SpikeFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, surrogate):
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.surrogate.derivative(x), None


class _BinarizeFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, surrogate):
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return surrogate.forward_binary(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.surrogate.derivative(x), None


_DEFAULTS: dict[str, dict] = {
    "atan": {"alpha": 2.0},
    "sigmoid": {"alpha": 4.0},
    "fast_sigmoid": {"slope": 25.0},
    "triangle": {"width": 1.0},
    "rectangle": {"width": 1.0},
    "ste": {"clip": None},
    "reste": {"o": 3.0, "t": 1.5, "interval": 0.1},
    "biper": {"freq": 20.0},
}

#: Stable integer id per name (used as a compile-time constant by the fused kernels).
SURROGATE_IDS = {name: i for i, name in enumerate(_DEFAULTS)}


def names() -> list[str]:
    """All registered surrogate/estimator names."""
    return list(_DEFAULTS)


def get(name: "str | Surrogate", **params) -> Surrogate:
    """Return the surrogate ``name`` with ``params`` overriding its defaults.

    Args:
        name: one of :func:`names` (or an existing :class:`Surrogate`, returned as is when no params are given).
        **params: e.g. ``alpha=4.0`` for atan/sigmoid, ``slope`` for fast_sigmoid, ``width`` for triangle/rectangle,
            ``clip`` for ste, ``o``/``t``/``interval`` for reste, ``freq`` for biper.

    Raises:
        ValueError: unknown name, unknown parameter, or a parameter out of range.

    Example::

        >>> nk.surrogate.get("sigmoid", alpha=5.0).derivative(torch.zeros(1))
        tensor([1.2500])
    """
    if isinstance(name, Surrogate):
        if not params:
            return name
        params = {**name.params, **params}
        name = name.name
    if not isinstance(name, str) or name not in _DEFAULTS:
        raise ValueError(f"surrogate: unknown name {name!r}; expected one of {sorted(_DEFAULTS)}")
    unknown = set(params) - set(_DEFAULTS[name])
    if unknown:
        raise ValueError(f"surrogate {name!r}: unknown parameter(s) {sorted(unknown)}; "
                         f"expected {sorted(_DEFAULTS[name])}")
    merged = {**_DEFAULTS[name], **params}
    for key, value in merged.items():
        if value is None and key == "clip":
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"surrogate {name!r}: parameter {key}={value!r} must be a finite number > 0")
        merged[key] = float(value)
    if name == "reste":
        if merged["o"] < 1:
            raise ValueError(f"surrogate 'reste': o={merged['o']} must be >= 1")
        if merged["interval"] >= merged["t"]:
            raise ValueError(f"surrogate 'reste': interval={merged['interval']} must be < t={merged['t']}")
    return Surrogate(name, merged)
