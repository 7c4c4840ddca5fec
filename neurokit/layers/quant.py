"""Quantized synapses (Brevitas per-channel k-bit weights) and the integer-membrane LIF they drive.

Integer semantics (what the compiler lowers, and what training computes exactly):

* **Synapse** (:class:`QuantLinear`, :class:`QuantConv2d`, and the binary layers): real weight
  ``w = int_weight * weight_scale[out]`` with ``int_weight`` in ``[-(2^(k-1)-1), 2^(k-1)-1]`` (narrow, symmetric,
  per output channel, ``k`` in {2, 4, 8}). Inputs are spikes ``{0, 1}`` or, with ``input_bits=b``, unsigned
  ``x_int = clamp(round(x * (2^b - 1)), 0, 2^b - 1)`` (inputs expected in [0, 1]). The accumulation
  ``a[i] = sum_j int_weight[i, j] * x_int[j]`` is an exact integer in units of
  ``output_unit()[i] = weight_scale[i] * input_scale``.
* **Neuron** (:class:`QuantLIF`, per step, integers: :func:`neurokit.integer.integer_cuba_step`, Lava's
  fixed-point CUBA voltage update with no current register, ``IntNeuronParams(u_register=False)``)::

      u = (a >> r) << input_shift                                     # r = accumulator_shift (arithmetic)
      v = sign(v * (4096 - decay)) * (|v * (4096 - decay)| >> 12)     # decay, rounding toward zero
      v = clamp(v + u, -(2^(k-1) - 1), 2^(k-1) - 1)                   # k = membrane_bits, saturating
      s = v > vth                                                     # strict
      v = 0 where s                                                   # reset to 0

  with ``decay = round(4096 / tau)`` and, per channel, ``vth = clamp(round(v_threshold / unit / 2^r), 1,
  2^(k-1-input_shift) - 2) << input_shift`` -- the per-channel weight scale is folded into the integer threshold, so
  no scale or float survives at inference. The per-layer right shift ``r >= 0`` is the smallest that brings the
  largest threshold to at most ``2^(k-2-input_shift)`` (half the positive range), so the threshold never saturates
  (:meth:`QuantLIF.accumulator_shift`). :func:`quant_lif_reference` is this update in int64.

Training takes its values from that integer step itself (int64) and its gradients straight through the rounding,
shift, truncation and saturation (the float64 path ``v * (1 - decay/4096) + input``), with the surrogate on
``(v - vth) / vth``; its spikes and membrane equal :func:`quant_lif_reference` bit for bit (tested).

Example::

    >>> layer = IntegerSpikingLayer(QuantLinear(64, 32, weight_bits=4, input_bits=8), QuantLIF(membrane_bits=12))
    >>> layer(torch.rand(4, 8, 64)).shape        # [T, B, in] -> spikes [T, B, out]
    torch.Size([4, 8, 32])
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from .. import integer
from .. import surrogate as _surrogate
from ..neurons.checks import check_input, check_number, check_tau
from .time_major import fold_time

__all__ = ["SUPPORTED_BITS", "MEMBRANE_BITS", "check_bits", "quantize_input", "input_scale", "QuantLinear",
           "QuantConv2d", "QuantLIF", "IntegerSpikingLayer", "quant_lif_reference"]

#: Weight / activation bit widths the quantized layers accept.
SUPPORTED_BITS = (2, 4, 8)
#: Membrane bit widths :class:`QuantLIF` accepts (24 = Loihi's membrane register, ``neurokit.integer.UV_BITS``).
MEMBRANE_BITS = tuple(range(4, integer.UV_BITS + 1))


def check_bits(value, arg: str, supported=SUPPORTED_BITS) -> int:
    """Return ``value`` if it is an int in ``supported``; else raise ``ValueError`` naming ``arg`` and the set.

    Example::

        >>> check_bits(4, "weight_bits")
        4
    """
    if isinstance(value, bool) or not isinstance(value, int) or value not in supported:
        shown = f"{{{', '.join(map(str, supported))}}}" if len(supported) < 6 else \
            f"an int in [{supported[0]}, {supported[-1]}]"
        raise ValueError(f"{arg}={value!r} is not a supported bit width; expected {shown}")
    return value


def _exact(value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``value`` in the forward pass, identity gradient to ``like`` (straight-through; the value stays exact)."""
    return value.detach() + (like - like.detach())


def quantize_input(x: torch.Tensor, bits: Optional[int]) -> torch.Tensor:
    """Unsigned ``bits``-bit input quantization on [0, 1] with a straight-through gradient (``None``: identity).

    Forward value ``clamp(round(x * (2^bits - 1)), 0, 2^bits - 1) / (2^bits - 1)``; shape preserved.

    Example::

        >>> quantize_input(torch.tensor([0.1, 0.5, 1.2]), 2)
        tensor([0.0000, 0.6667, 1.0000])
    """
    if bits is None:
        return x
    levels = 2 ** bits - 1
    return _exact(torch.clamp(torch.round(x * levels), 0, levels) / levels, x)


def input_scale(bits: Optional[int]) -> float:
    """Real value of one integer input unit: ``1 / (2^bits - 1)``, or 1 for spikes (``bits=None``)."""
    return 1.0 if bits is None else 1.0 / (2 ** bits - 1)


def _brevitas():
    import brevitas.nn as qnn
    from brevitas.quant import Int8WeightPerChannelFloat
    return qnn, Int8WeightPerChannelFloat


class _QuantSynapse(nn.Module):
    """Shared integer view of the Brevitas-backed synapses."""

    def _setup(self, weight_bits, input_bits):
        self.weight_bits = check_bits(weight_bits, "weight_bits")
        self.input_bits = None if input_bits is None else check_bits(input_bits, "input_bits")

    def _quant_input(self, x: torch.Tensor) -> torch.Tensor:
        return quantize_input(x, self.input_bits)

    def int_weight(self) -> torch.Tensor:
        """Integer weights (int8), ``weight``'s shape, values in ``[-(2^(k-1)-1), 2^(k-1)-1]``."""
        return self.layer.quant_weight().int().detach()

    def weight_scale(self) -> torch.Tensor:
        """Per-output-channel scale ``[out]`` (detached): real weight = ``int_weight * weight_scale``."""
        return self.layer.quant_weight().scale.detach().flatten()

    @property
    def input_scale(self) -> float:
        """Real value of one integer input unit: ``1/(2^b - 1)`` with ``input_bits=b``, else 1 (spikes)."""
        return input_scale(self.input_bits)

    def output_unit(self) -> torch.Tensor:
        """Real value of one unit of the integer accumulation per output channel ``[out]``."""
        return self.layer.quant_weight().scale.flatten() * self.input_scale

    def extra_repr(self) -> str:
        return f"weight_bits={self.weight_bits}, input_bits={self.input_bits}"


class QuantLinear(_QuantSynapse):
    """Linear layer with k-bit per-channel weights (Brevitas ``Int8WeightPerChannelFloat`` at ``weight_bits``).

    Args:
        in_features, out_features: sizes. weight_bits: 2, 4 or 8.
        input_bits: quantize the input (expected in [0, 1]) to unsigned ``input_bits``; ``None`` for spikes or for
            Brevitas ``QuantTensor`` inputs (e.g. from ``QuantReLU(return_quant_tensor=True)``).
        bias: Brevitas ``Int32Bias`` bias (needs a ``QuantTensor`` input, as in :func:`neurokit.models.quant_mlp`).

    Shapes: ``x [T, B, in]`` -> ``[T, B, out]`` (float).

    Example::

        >>> fc = QuantLinear(16, 4, weight_bits=4)
        >>> fc(torch.rand(2, 3, 16)).shape, int(fc.int_weight().abs().max()) <= 7
        (torch.Size([2, 3, 4]), True)
    """

    def __init__(self, in_features: int, out_features: int, weight_bits: int = 8, input_bits: Optional[int] = None,
                 bias: bool = False):
        super().__init__()
        self._setup(weight_bits, input_bits)
        qnn, weight_quant = _brevitas()
        bias_quant = None
        if bias:
            from brevitas.quant import Int32Bias
            bias_quant = Int32Bias
        self.layer = qnn.QuantLinear(in_features, out_features, bias=bias, weight_quant=weight_quant,
                                     weight_bit_width=self.weight_bits, bias_quant=bias_quant)
        self.in_features, self.out_features = in_features, out_features

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise ValueError(f"QuantLinear: expected input [..., {self.in_features}], got {tuple(x.shape)}")
        return self.layer(self._quant_input(x) if isinstance(x, torch.Tensor) else x)


class QuantConv2d(_QuantSynapse):
    """2-D convolution with k-bit per-channel weights (Brevitas) over ``[T, B, C, H, W]``; no bias.

    Shapes: ``x [T, B, C_in, H, W]`` -> ``[T, B, C_out, H', W']``.

    Example::

        >>> conv = QuantConv2d(1, 4, 3, padding=1, weight_bits=8)
        >>> conv(torch.rand(2, 3, 1, 8, 8)).shape
        torch.Size([2, 3, 4, 8, 8])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 weight_bits: int = 8, input_bits: Optional[int] = None):
        super().__init__()
        self._setup(weight_bits, input_bits)
        qnn, weight_quant = _brevitas()
        self.layer = qnn.QuantConv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                                     bias=False, weight_quant=weight_quant, weight_bit_width=self.weight_bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fold_time(lambda z: self.layer(self._quant_input(z)), x, 5, "QuantConv2d")


class QuantLIF(nn.Module):
    """LIF neuron whose membrane is a ``membrane_bits`` saturating integer (see the module docstring).

    Args:
        tau: membrane time constant in steps (``>= 1``; ``math.inf`` for IF); ``decay = round(4096 / tau)``.
        v_threshold: real threshold; per channel ``vth = round(v_threshold / unit)`` (clamped into range).
        membrane_bits: membrane width ``k`` (4..24); the membrane stays in ``[-(2^(k-1)-1), 2^(k-1)-1]``.
        input_shift: left shift of the input accumulation (6 = Lava's MSB alignment); threshold shifted alike.
        surrogate: spike surrogate name (:func:`neurokit.surrogate.get`), applied to ``(v - vth) / vth``.
        detach_reset: detach the spike in the reset path. store_v_seq: keep the integer membrane (after
            saturation, before reset) as ``self.v_seq`` ``[T, B, ...]`` (float64 holding integers).

    ``forward(x, unit)``: ``x [T, B, C, ...]`` real input current; ``unit`` the real value of one integer input
    unit per channel ``[C]`` (or a scalar; ``None`` = 1, i.e. ``x`` already integer). Returns spikes like ``x``.

    Example::

        >>> lif = QuantLIF(tau=2.0, membrane_bits=8)
        >>> lif(torch.randint(-20, 20, (5, 2, 3)).float()).shape
        torch.Size([5, 2, 3])
    """

    def __init__(self, tau: float = 2.0, v_threshold: float = 1.0, membrane_bits: int = 16, input_shift: int = 0,
                 surrogate: str = "atan", detach_reset: bool = False, store_v_seq: bool = False):
        super().__init__()
        self.tau = math.inf if tau == math.inf else check_tau(tau)
        self.decay = integer.decay_from_tau(self.tau)
        self.v_threshold = check_number(v_threshold, "v_threshold")
        if self.v_threshold <= 0:
            raise ValueError(f"v_threshold={v_threshold!r} must be > 0")
        self.membrane_bits = check_bits(membrane_bits, "membrane_bits", MEMBRANE_BITS)
        if isinstance(input_shift, bool) or not isinstance(input_shift, int) or not \
                0 <= input_shift <= self.membrane_bits - 3:
            raise ValueError(f"input_shift={input_shift!r} must be an int in [0, membrane_bits - 3 = "
                             f"{self.membrane_bits - 3}]")
        self.input_shift = input_shift
        self.surrogate = _surrogate.get(surrogate)
        self.detach_reset = bool(detach_reset)
        self.store_v_seq = bool(store_v_seq)
        self.v_seq: Optional[torch.Tensor] = None

    @property
    def v_max(self) -> int:
        """Largest membrane value ``2^(k-1) - 1`` (the range is symmetric)."""
        return 2 ** (self.membrane_bits - 1) - 1

    def accumulator_shift(self, unit) -> int:
        """Per-layer right shift ``r`` of the integer accumulation for input unit ``unit`` ([C] or scalar):
        :func:`neurokit.integer.accumulator_shift` of the largest threshold in accumulator units."""
        unit = torch.as_tensor(unit, dtype=torch.float64).detach()
        return integer.accumulator_shift(float((self.v_threshold / unit).max()), self.membrane_bits, self.input_shift)

    def int_threshold(self, unit) -> torch.Tensor:
        """Integer threshold per channel for input unit ``unit`` ([C] or scalar) -> int64 tensor like ``unit``."""
        unit = torch.as_tensor(unit, dtype=torch.float64).detach()
        top = (self.v_max >> self.input_shift) - 1
        vth = torch.round(self.v_threshold / unit / 2 ** self.accumulator_shift(unit))
        return torch.clamp(vth, 1, top).to(torch.int64) << self.input_shift

    def integer_neuron(self, threshold: torch.Tensor) -> integer.IntNeuronParams:
        """This neuron as :class:`neurokit.integer.IntNeuronParams` for the integer threshold ``threshold`` (as
        :meth:`int_threshold` returns it, compared as it is: ``vth_shift = 0``): no current register,
        ``decay_v = decay``, ``act_shift = input_shift``, ``uv_bits = membrane_bits``.
        Example: ``lif.integer_neuron(lif.int_threshold(unit))``."""
        return integer.IntNeuronParams(integer.DECAY_UNITY, self.decay, threshold.detach().cpu().numpy(), "hard",
                                       self.input_shift, 0, self.membrane_bits, u_register=False)

    def forward(self, x: torch.Tensor, unit=None) -> torch.Tensor:
        check_input(x, who="QuantLIF")
        unit = torch.ones((), dtype=torch.float64, device=x.device) if unit is None else \
            torch.as_tensor(unit, dtype=torch.float64, device=x.device).detach()
        if unit.dim() == 1:
            if x.dim() < 3 or x.shape[2] != unit.numel():
                raise ValueError(f"QuantLIF: unit has {unit.numel()} channels but x has shape {tuple(x.shape)} "
                                 f"(channels at dim 2)")
            unit = unit.reshape(unit.numel(), *([1] * (x.dim() - 3)))
        vth_int = self.int_threshold(unit)
        params, vth = self.integer_neuron(vth_int), vth_int.to(torch.float64)
        r = self.accumulator_shift(unit)
        a = x.to(torch.float64) / unit
        a_int = integer.floor_shift(torch.round(a.detach()).to(torch.int64), r)  # the integer input of each step
        a = a / 2 ** r * 2 ** self.input_shift          # its straight-through gradient path
        keep = (integer.DECAY_UNITY - self.decay) / integer.DECAY_UNITY
        u_int = v_int = torch.zeros_like(a_int[0])
        v = torch.zeros_like(a[0])
        spikes, v_seq = [], []
        for t in range(a.shape[0]):  # values: the integer step; gradients: straight through it
            u_int, h_int = integer.integer_cuba_charge(u_int, v_int, a_int[t], params)
            v_int, s_int = integer.integer_cuba_fire(h_int, params)
            h = _exact(h_int.to(torch.float64), v * keep + a[t])
            s = _exact(s_int.to(torch.float64), self.surrogate.spike((h - vth) / vth))
            v = _exact(v_int.to(torch.float64), h * (1.0 - (s.detach() if self.detach_reset else s)))
            spikes.append(s)
            v_seq.append(h.detach())
        self.v_seq = torch.stack(v_seq) if self.store_v_seq else None
        return torch.stack(spikes).to(x.dtype)

    def extra_repr(self) -> str:
        return (f"tau={self.tau}, decay={self.decay}, v_threshold={self.v_threshold}, "
                f"membrane_bits={self.membrane_bits}, input_shift={self.input_shift}, "
                f"surrogate={self.surrogate.name}")


def quant_lif_reference(a: torch.Tensor, vth: torch.Tensor, decay: int, membrane_bits: int,
                        input_shift: int = 0, accumulator_shift: int = 0):
    """Integer definition of :class:`QuantLIF`: :func:`neurokit.integer.integer_cuba_run` on int64 tensors.

    Args:
        a: ``[T, B, C, ...]`` integer input accumulations. vth: integer threshold, broadcastable to ``a[0]``
            (already shifted, as returned by :meth:`QuantLIF.int_threshold`). decay: 0..4096.
        membrane_bits: k; accumulator_shift, input_shift: ``a`` becomes ``(a >> accumulator_shift) << input_shift``.

    Returns ``(spikes, v_seq)``: int8 ``[T, B, C, ...]`` and the int64 membrane after saturation, before reset.

    Example::

        >>> s, v = quant_lif_reference(torch.full((3, 1, 1), 5), torch.tensor([6]), decay=2048, membrane_bits=8)
        >>> s.flatten().tolist(), v.flatten().tolist()
        ([0, 1, 0], [5, 7, 5])
    """
    vth = torch.as_tensor(vth, dtype=torch.int64)
    params = integer.IntNeuronParams(integer.DECAY_UNITY, decay, vth.cpu().numpy(), "hard", input_shift, 0,
                                     membrane_bits, u_register=False)
    a_in = integer.floor_shift(a.to(torch.int64), accumulator_shift)
    spikes, v_seq = integer.integer_cuba_run(a_in, params, record_v=True)
    return spikes.to(torch.int8), v_seq


class IntegerSpikingLayer(nn.Module):
    """A synapse followed by a :class:`QuantLIF` whose integer unit is the synapse's ``output_unit()``.

    This is the unit the integer targets run: ``integer_params()`` returns everything the compiler needs
    (``weight`` int8, ``threshold`` int64 ``[C]``, ``decay``, ``membrane_bits``, ``accumulator_shift``,
    ``input_shift``, ``input_scale``, ``weight_scale``). The synapse is any of :class:`QuantLinear`,
    :class:`QuantConv2d`,
    :class:`~neurokit.layers.BinaryLinear`, :class:`~neurokit.layers.BinaryConv2d` (bias off).

    Shapes: ``x [T, B, ...]`` -> spikes ``[T, B, C_out, ...]``.

    Example::

        >>> layer = IntegerSpikingLayer(QuantLinear(8, 4, weight_bits=4), QuantLIF(membrane_bits=8))
        >>> sorted(layer.integer_params())[:3]
        ['accumulator_shift', 'decay', 'input_scale']
    """

    def __init__(self, synapse: nn.Module, neuron: QuantLIF):
        super().__init__()
        for attr in ("output_unit", "int_weight", "weight_scale"):
            if not hasattr(synapse, attr):
                raise TypeError(f"synapse={type(synapse).__name__} has no {attr}(); expected a quantized or "
                                f"binary synapse layer")
        bias = getattr(synapse, "bias", None)
        if bias is None and hasattr(synapse, "layer"):
            bias = synapse.layer.bias
        if bias is not None:
            raise ValueError("synapse has a bias; integer spiking layers need bias=False")
        if not isinstance(neuron, QuantLIF):
            raise TypeError(f"neuron={type(neuron).__name__}; expected a QuantLIF")
        self.synapse, self.neuron = synapse, neuron

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.neuron(self.synapse(x), self.synapse.output_unit())

    def integer_params(self) -> dict:
        """Integer parameters for lowering (see the module docstring for their semantics)."""
        unit = self.synapse.output_unit().detach()
        return {"weight": self.synapse.int_weight(), "threshold": self.neuron.int_threshold(unit),
                "decay": self.neuron.decay, "membrane_bits": self.neuron.membrane_bits,
                "accumulator_shift": self.neuron.accumulator_shift(unit),
                "input_shift": self.neuron.input_shift, "input_scale": self.synapse.input_scale,
                "weight_scale": self.synapse.weight_scale()}
