"""Binary synapses: sign-binarized weights (and optionally inputs) times a scale.

Forward of :class:`BinaryLinear` (and, per output channel, :class:`BinaryConv2d`)::

    w_b = B(W)                     # in {-1, +1}; B = estimator.binarize (0 -> +1)
    x_b = A(x)  if binarize_input else x       # A = act_estimator.binarize, values in {-1, +1}
    y   = (x_b @ w_b.T) * alpha    # alpha [out]: the layer's scale

``scale`` chooses ``alpha``: ``"learned"`` (default) is a learnable per-output-channel parameter (initialised to
``mean|W_o|``; BiPer's ``alpha``, ``cifar10/modules/binarized_modules.py`` of ``edmav4/BiPer``); ``"mean_abs"`` is
computed from the latent weights at every forward, one value per layer, ``alpha = mean(|W|)`` over the whole tensor
with its gradient into ``W`` and no parameter (ReSTE's ``scaler``, ``model/binary_module/binarized_modules.py`` of
``DravenALG/ReSTE``).

``B`` is chosen by name (``estimator``):

* ``"ste"``  -- sign forward, identity (or clipped identity, ``clip``) backward;
* ``"reste"`` -- sign forward, ReSTE power-law backward ``(1/o)|x|^((1-o)/o)`` on ``interval < |x| <= t``,
  secant slope ``interval^(1/o)/interval`` inside ``interval``, 0 beyond ``t``; ``o`` follows
  :func:`reste_o_schedule` during training (set with :func:`set_estimator_params`);
* ``"biper"`` -- square wave ``sign(sin(freq*W))`` forward, ``freq*cos(freq*W)`` backward, plus the regulariser
  ``tau * mean(sin(freq*W)^2)`` (:meth:`BinaryLinear.regularizer`, summed by :func:`binary_regularizer`).

The formulas live once, in :mod:`neurokit.surrogate`. Integer view for the compiler: ``int_weight()`` is the
``{-1, +1}`` matrix (int8) and ``weight_scale()`` the per-output-channel ``alpha``; with spike inputs ``{0, 1}`` the
synaptic accumulation ``sum_j int_weight[i, j] * s_j`` is an exact integer in units of ``alpha_i``, so the scale
folds into the neuron threshold (``output_unit()``).

Example::

    >>> fc = nk.layers.BinaryLinear(64, 32, estimator="reste")
    >>> fc(torch.rand(4, 8, 64)).shape          # [T, B, F] -> [T, B, out]
    torch.Size([4, 8, 32])
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .. import surrogate as _surrogate
from .quant import check_bits, input_scale, quantize_input
from .time_major import fold_time

__all__ = ["BinaryLinear", "BinaryConv2d", "ESTIMATORS", "SCALES", "reste_o_schedule", "set_estimator_params",
           "binary_regularizer", "check_estimator"]

#: Weight estimators a binary layer accepts.
ESTIMATORS = ("ste", "reste", "biper")
#: Scales a binary layer accepts (module docstring).
SCALES = ("learned", "mean_abs")
#: Activation estimator used by default for each weight estimator (BiPer binarizes activations with a
#: Bi-Real-style triangle backward, quant_onnx.md section 2).
_DEFAULT_ACT = {"ste": ("ste", {"clip": 1.0}), "reste": ("reste", {}), "biper": ("triangle", {"width": 1.0})}


def check_estimator(estimator: str, params: Optional[dict] = None, arg: str = "estimator"):
    """Validate a weight-estimator name and its parameters; return the :class:`neurokit.surrogate.Surrogate`.

    Raises ``ValueError`` naming ``arg``, the value and the accepted names.

    Example::

        >>> check_estimator("reste", {"o": 2.0}).params["o"]
        2.0
    """
    if not isinstance(estimator, str) or estimator not in ESTIMATORS:
        raise ValueError(f"{arg}={estimator!r} is not a binary-weight estimator; expected one of {ESTIMATORS}")
    return _surrogate.get(estimator, **(params or {}))


def _check_act_estimator(name: str, params: Optional[dict]):
    allowed = tuple(n for n in _surrogate.names() if n != "biper")
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(f"act_estimator={name!r} is not an activation estimator; expected one of {allowed}")
    return _surrogate.get(name, **(params or {}))


class _BinarySynapse(nn.Module):
    """Shared state of the binary layers: latent weight, scale, estimators."""

    def __init__(self, weight_shape, estimator, estimator_params, binarize_input, act_estimator, act_params,
                 input_bits, scale):
        super().__init__()
        if not isinstance(scale, str) or scale not in SCALES:
            raise ValueError(f"scale={scale!r} is not a binary-layer scale; expected one of {SCALES}")
        self.scale = scale
        self.estimator = check_estimator(estimator, estimator_params)
        self.binarize_input = bool(binarize_input)
        self.input_bits = None if input_bits is None else check_bits(input_bits, "input_bits")
        if self.binarize_input and self.input_bits is not None:
            raise ValueError(f"binarize_input=True and input_bits={input_bits!r} exclude each other")
        if act_estimator is None:
            act_estimator, default_params = _DEFAULT_ACT[estimator]
            act_params = {**default_params, **(act_params or {})}
        self.act_estimator = _check_act_estimator(act_estimator, act_params) if self.binarize_input else None
        self.weight = nn.Parameter(torch.empty(weight_shape))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        dims = tuple(range(1, self.weight.dim()))
        if scale == "learned":
            self.alpha = nn.Parameter(self.weight.detach().abs().mean(dim=dims))
        else:
            self.register_parameter("alpha", None)

    def channel_scale(self) -> torch.Tensor:
        """``alpha`` per output channel ``[out]`` (with gradient): the parameter, or ``mean|W|`` repeated.

        Example::

            >>> BinaryLinear(4, 3, scale="mean_abs").channel_scale().shape
            torch.Size([3])
        """
        if self.alpha is not None:
            return self.alpha
        return self.weight.abs().mean().expand(self.weight.shape[0])

    def binary_weight(self) -> torch.Tensor:
        """``{-1, +1}`` weights (float, with the estimator's gradient); same shape as ``weight``."""
        return self.estimator.binarize(self.weight)

    def int_weight(self) -> torch.Tensor:
        """The deployed integer weights: ``{-1, +1}`` as int8, same shape as ``weight``."""
        return self.estimator.forward_binary(self.weight.detach()).to(torch.int8)

    def weight_scale(self) -> torch.Tensor:
        """Per-output-channel scale ``alpha`` ``[out]`` (detached): real weight = ``int_weight * alpha``."""
        return self.channel_scale().detach().clone()

    @property
    def input_scale(self) -> float:
        """Real value of one integer input unit: 1 for spikes and binarized inputs, ``1/(2^b - 1)`` with
        ``input_bits=b``."""
        return input_scale(self.input_bits)

    def output_unit(self) -> torch.Tensor:
        """Real value of one unit of the integer accumulation, per output channel ``[out]`` (with gradient)."""
        return self.channel_scale() * self.input_scale

    def regularizer(self, tau: float = 1.0) -> torch.Tensor:
        """BiPer's ``tau * mean(sin(freq * W)^2)`` for ``biper``; a zero scalar for the other estimators."""
        if self.estimator.name != "biper":
            return self.weight.new_zeros(())
        return tau * torch.sin(self.estimator.params["freq"] * self.weight).pow(2).mean()

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        return self.act_estimator.binarize(x) if self.binarize_input else quantize_input(x, self.input_bits)

    def extra_repr(self) -> str:
        act = f", act_estimator={self.act_estimator.name}" if self.binarize_input else ""
        return (f"estimator={self.estimator.name}{self.estimator.params}, scale={self.scale}, "
                f"binarize_input={self.binarize_input}{act}")


class BinaryLinear(_BinarySynapse):
    """Linear layer with ``{-1, +1}`` weights times a per-output-channel scale; time-major ``[T, B, in]``.

    Args:
        in_features, out_features: sizes.
        estimator: ``"ste" | "reste" | "biper"`` (weight binarizer); ``estimator_params`` override its defaults
            (``clip``; ``o``, ``t``, ``interval``; ``freq``).
        binarize_input: also binarize the input with ``sign`` (static BNN); keep False for spike inputs.
        act_estimator, act_params: estimator for the input binarization (default: ``reste`` for reste,
            ``ste(clip=1)`` for ste, ``triangle`` for biper).
        input_bits: quantize the input (expected in [0, 1]) to unsigned 2/4/8 bits, making a first layer with
            analog input integer-exact (``input_scale = 1/(2^b - 1)``).
        bias: add a float bias (default False; spiking models keep it off so the layer is integer-exact).
        scale: ``"learned"`` per-channel ``alpha`` parameter or ``"mean_abs"`` (computed ``mean|W|``; module
            docstring).

    Shapes: ``x [T, B, in]`` (any leading dims) -> ``[T, B, out]``.

    Example::

        >>> fc = BinaryLinear(16, 4, estimator="biper", estimator_params={"freq": 20.0})
        >>> fc(torch.rand(2, 3, 16)).shape
        torch.Size([2, 3, 4])
    """

    def __init__(self, in_features: int, out_features: int, estimator: str = "reste",
                 estimator_params: Optional[dict] = None, binarize_input: bool = False,
                 act_estimator: Optional[str] = None, act_params: Optional[dict] = None,
                 input_bits: Optional[int] = None, bias: bool = False, scale: str = "learned"):
        super().__init__((out_features, in_features), estimator, estimator_params, binarize_input, act_estimator,
                         act_params, input_bits, scale)
        self.in_features, self.out_features = in_features, out_features
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.shape[-1] != self.in_features:
            raise ValueError(f"BinaryLinear: expected input [..., {self.in_features}], got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        y = F.linear(self._input(x), self.binary_weight()) * self.channel_scale()
        return y if self.bias is None else y + self.bias


class BinaryConv2d(_BinarySynapse):
    """2-D convolution with ``{-1, +1}`` kernels times a per-output-channel scale; time-major ``[T, B, C, H, W]``.

    Same estimator/input/scale arguments as :class:`BinaryLinear`; ``stride``/``padding`` as in ``nn.Conv2d``.

    Shapes: ``x [T, B, C_in, H, W]`` -> ``[T, B, C_out, H', W']``.

    Example::

        >>> conv = BinaryConv2d(1, 8, 3, padding=1, estimator="ste")
        >>> conv(torch.rand(2, 4, 1, 8, 8)).shape
        torch.Size([2, 4, 8, 8, 8])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 estimator: str = "reste", estimator_params: Optional[dict] = None, binarize_input: bool = False,
                 act_estimator: Optional[str] = None, act_params: Optional[dict] = None,
                 input_bits: Optional[int] = None, bias: bool = False, scale: str = "learned"):
        super().__init__((out_channels, in_channels, kernel_size, kernel_size), estimator, estimator_params,
                         binarize_input, act_estimator, act_params, input_bits, scale)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.stride, self.padding = stride, padding
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def _conv(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(self._input(x), self.binary_weight(), None, self.stride, self.padding)
        y = y * self.channel_scale().view(1, -1, 1, 1)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fold_time(self._conv, x, 5, "BinaryConv2d")


def _binary_layers(model: nn.Module):
    return [m for m in model.modules() if isinstance(m, _BinarySynapse)]


def reste_o_schedule(epoch: int, epochs: int, o_end: float = 3.0) -> float:
    """ReSTE's cosine schedule ``o = 1 + (o_end - 1) * (1 - cos(pi/2 * epoch/epochs))`` (1 at epoch 0).

    Example::

        >>> reste_o_schedule(0, 10), round(reste_o_schedule(10, 10), 6)
        (1.0, 3.0)
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs={epochs!r} must be an int >= 1")
    if not 0 <= epoch <= epochs:
        raise ValueError(f"epoch={epoch!r} must lie in [0, epochs={epochs}]")
    if o_end < 1:
        raise ValueError(f"o_end={o_end!r} must be >= 1")
    return 1.0 + (o_end - 1.0) * (1.0 - math.cos(math.pi / 2 * epoch / epochs))


def set_estimator_params(model: nn.Module, **params) -> int:
    """Override estimator parameters (e.g. ``o=2.1``) on every binary layer of ``model`` whose weight estimator
    has them; input binarizers of the same family get them too. Returns the number of layers changed.

    Example::

        >>> set_estimator_params(model, o=reste_o_schedule(epoch, epochs))
    """
    changed = 0
    for layer in _binary_layers(model):
        if set(params) <= set(layer.estimator.params):
            layer.estimator = _surrogate.get(layer.estimator, **params)
            changed += 1
        act = layer.act_estimator
        if act is not None and set(params) <= set(act.params):
            layer.act_estimator = _surrogate.get(act, **params)
    return changed


def binary_regularizer(model: nn.Module, tau: float) -> torch.Tensor:
    """Sum of :meth:`BinaryLinear.regularizer` over ``model`` (BiPer's ``tau * mean(sin^2(freq W))`` per layer).

    Example::

        >>> loss = loss + binary_regularizer(model, tau=0.04)
    """
    terms = [layer.regularizer(tau) for layer in _binary_layers(model)]
    return torch.stack(terms).sum() if terms else torch.zeros(())
