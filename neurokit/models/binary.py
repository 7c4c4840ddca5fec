"""Binary and quantized model builders (time-major ``[T, B, ...]`` in, ``[T, B, classes]`` out).

* :func:`binary_mlp` / :func:`binary_cnn` -- binary weights (sign, per-channel scale, estimator by name) with spike
  activations (LIF, or the integer-membrane :class:`~neurokit.layers.QuantLIF` when ``membrane_bits`` is given),
  or sign activations (``spiking=False``, a static BNN).
* :func:`quant_mlp` -- quantization-aware ANN: k-bit per-channel weights and k-bit activations (Brevitas).
* :func:`quant_snn` -- integer SNN: k-bit weights, ``membrane_bits`` saturating integer membranes; exactly what the
  integer targets run (see ``docs/quantized.md``).

Outputs are the real-valued readout currents per step ``[T, B, classes]``; logits are their time mean
(``nk.train``'s ``"ce_rate"`` loss).

Example::

    >>> model = binary_mlp(64, hidden=(128,), estimator="reste")
    >>> model(torch.rand(4, 2, 64)).shape
    torch.Size([4, 2, 10])
"""
from __future__ import annotations

from typing import Optional, Sequence

from torch import nn

from ..layers.binary import BinaryConv2d, BinaryLinear, check_estimator
from ..layers.quant import IntegerSpikingLayer, QuantConv2d, QuantLIF, QuantLinear, check_bits
from ..layers.time_major import BatchNorm1d, BatchNorm2d, Flatten, MaxPool2d
from ..neurons import LIF

__all__ = ["binary_mlp", "binary_cnn", "quant_mlp", "quant_snn", "CNN_PRESETS"]

#: Channel widths of the three VGG-small stages (two convs each, 2x2 max-pool after each stage).
CNN_PRESETS = {"vgg_small": (128, 256, 512), "small": (16, 32, 64), "tiny": (8, 16, 32)}


def _check_sizes(hidden, arg="hidden"):
    hidden = tuple(hidden)
    if not hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
        raise ValueError(f"{arg}={hidden!r}: expected a non-empty sequence of positive ints")
    return hidden


def _spiking_neuron(tau, v_threshold, surrogate, membrane_bits):
    if membrane_bits is None:
        return LIF(tau=tau, v_threshold=v_threshold, surrogate=surrogate)
    return QuantLIF(tau=tau, v_threshold=v_threshold, membrane_bits=membrane_bits, surrogate=surrogate)


def binary_mlp(in_features: int = 64, hidden: Sequence[int] = (128,), num_classes: int = 10,
               estimator: str = "reste", estimator_params: Optional[dict] = None, spiking: bool = True,
               tau: float = 2.0, v_threshold: float = 1.0, surrogate: str = "atan",
               membrane_bits: Optional[int] = None, input_bits: Optional[int] = None,
               batch_norm: bool = False) -> nn.Sequential:
    """Binary-weight MLP: ``BinaryLinear`` layers (all binary, per-channel scale) with spiking or sign activations.

    Args:
        in_features, hidden, num_classes: layer sizes.
        estimator, estimator_params: weight binarizer (``"ste" | "reste" | "biper"``) and its parameters.
        spiking: LIF activations (True) or sign activations binarized by the next layer (False, static BNN).
        tau, v_threshold, surrogate: spiking neuron parameters.
        membrane_bits: use :class:`~neurokit.layers.QuantLIF` with this membrane width (integer-exact blocks,
            :class:`~neurokit.layers.IntegerSpikingLayer`) instead of the float LIF.
        input_bits: the first layer quantizes its input (in [0, 1]) to this many unsigned bits (needed for an
            integer-exact model unless the input is spikes).
        batch_norm: time-major BatchNorm1d after each hidden layer (not with ``membrane_bits``).

    Shapes: ``x [T, B, in_features]`` -> ``[T, B, num_classes]``.

    Example::

        >>> binary_mlp(64, (32,), estimator="biper", spiking=False)(torch.rand(1, 5, 64)).shape
        torch.Size([1, 5, 10])
    """
    check_estimator(estimator, estimator_params)
    hidden = _check_sizes(hidden)
    _check_sizes((in_features,), "in_features")
    _check_sizes((num_classes,), "num_classes")
    if membrane_bits is not None and (batch_norm or not spiking):
        raise ValueError(f"membrane_bits={membrane_bits!r} needs spiking=True and batch_norm=False")
    sizes = (in_features, *hidden)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        fc = BinaryLinear(n_in, n_out, estimator, estimator_params, binarize_input=not spiking and i > 0,
                          input_bits=input_bits if i == 0 else None)
        if membrane_bits is not None:
            layers.append(IntegerSpikingLayer(fc, _spiking_neuron(tau, v_threshold, surrogate, membrane_bits)))
            continue
        layers.append(fc)
        if batch_norm:
            layers.append(BatchNorm1d(n_out))
        if spiking:
            layers.append(_spiking_neuron(tau, v_threshold, surrogate, None))
    layers.append(BinaryLinear(sizes[-1], num_classes, estimator, estimator_params, binarize_input=not spiking))
    return nn.Sequential(*layers)


def binary_cnn(in_channels: int = 1, num_classes: int = 10, image_size: int = 8, preset: str = "tiny",
               estimator: str = "reste", estimator_params: Optional[dict] = None, spiking: bool = True,
               tau: float = 2.0, v_threshold: float = 1.0, surrogate: str = "atan") -> nn.Sequential:
    """VGG-small-like binary CNN: three stages of two 3x3 ``BinaryConv2d`` + BatchNorm2d + activation, a 2x2
    max-pool after each stage, then a ``BinaryLinear`` classifier.

    ``preset="vgg_small"`` at 3 x 32 x 32, 10 classes: 4,661,898 parameters. The layer shapes are those of
    ``vgg_small_1w1a`` (``model/models_cifar/vgg_small.py`` of ``DravenALG/ReSTE``, 4,660,106); here the first conv
    and the classifier are binary too (every synapse integer), each binary layer has a learned per-channel scale
    (+1,802) and the classifier no bias (-10).

    Args:
        in_channels, num_classes: data sizes. image_size: input height = width, divisible by 8.
        preset: ``"vgg_small"`` (128, 256, 512), ``"small"`` (16, 32, 64) or ``"tiny"`` (8, 16, 32) channels.
        estimator, estimator_params, spiking, tau, v_threshold, surrogate: as in :func:`binary_mlp`.

    Shapes: ``x [T, B, in_channels, S, S]`` -> ``[T, B, num_classes]``.

    Example::

        >>> binary_cnn(1, 10, image_size=8, preset="tiny")(torch.rand(2, 3, 1, 8, 8)).shape
        torch.Size([2, 3, 10])
    """
    check_estimator(estimator, estimator_params)
    _check_sizes((in_channels,), "in_channels")
    _check_sizes((num_classes,), "num_classes")
    if preset not in CNN_PRESETS:
        raise ValueError(f"preset={preset!r} is unknown; expected one of {sorted(CNN_PRESETS)}")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8 or image_size % 8:
        raise ValueError(f"image_size={image_size!r}: expected a positive multiple of 8 (three 2x2 pools)")
    widths = CNN_PRESETS[preset]
    layers: list[nn.Module] = []
    c_in, first = in_channels, True
    for width in widths:
        for conv_index in range(2):
            layers.append(BinaryConv2d(c_in, width, 3, padding=1, estimator=estimator,
                                       estimator_params=estimator_params, binarize_input=not spiking and not first))
            if conv_index == 1:      # second conv of the stage: pool before normalising (VGG-small order)
                layers.append(MaxPool2d(2))
            layers.append(BatchNorm2d(width))
            if spiking:
                layers.append(LIF(tau=tau, v_threshold=v_threshold, surrogate=surrogate))
            c_in, first = width, False
    side = image_size // 8
    layers += [Flatten(), BinaryLinear(widths[-1] * side * side, num_classes, estimator, estimator_params,
                                       binarize_input=not spiking)]
    return nn.Sequential(*layers)


def quant_mlp(in_features: int = 64, hidden: Sequence[int] = (128,), num_classes: int = 10, bits: int = 8
              ) -> nn.Sequential:
    """Quantization-aware MLP (Brevitas): 8-bit signed input quantizer, then per hidden layer a ``bits``-bit
    per-channel ``QuantLinear`` with an int32 bias and a ``bits``-bit unsigned ``QuantReLU``; ``bits``-bit
    classifier with float output.

    Shapes: ``x [T, B, in_features]`` (T = 1 for a static net) -> ``[T, B, num_classes]``.

    Example::

        >>> quant_mlp(64, (32,), bits=4)(torch.rand(1, 5, 64)).shape
        torch.Size([1, 5, 10])
    """
    check_bits(bits, "bits")
    hidden = _check_sizes(hidden)
    import brevitas.nn as qnn

    layers: list[nn.Module] = [qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)]
    sizes = (in_features, *hidden)
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [QuantLinear(n_in, n_out, weight_bits=bits, bias=True),
                   qnn.QuantReLU(bit_width=bits, return_quant_tensor=True)]
    layers.append(QuantLinear(sizes[-1], num_classes, weight_bits=bits, bias=True))
    return nn.Sequential(*layers)


def quant_snn(in_features: int = 64, hidden: Sequence[int] = (128,), num_classes: int = 10, weight_bits: int = 8,
              membrane_bits: int = 16, input_bits: Optional[int] = 8, tau: float = 2.0, v_threshold: float = 1.0,
              surrogate: str = "atan") -> nn.Sequential:
    """Integer SNN: :class:`~neurokit.layers.IntegerSpikingLayer` blocks (``weight_bits`` per-channel weights,
    ``membrane_bits`` saturating integer membrane, Lava decay) and a ``weight_bits`` ``QuantLinear`` readout.

    Args:
        input_bits: the first layer quantizes its input (in [0, 1]) to this many unsigned bits; ``None`` when the
            input is already spikes.

    Shapes: ``x [T, B, in_features]`` -> ``[T, B, num_classes]`` (readout current per step).

    Example::

        >>> quant_snn(64, (32,), weight_bits=4, membrane_bits=12)(torch.rand(4, 5, 64)).shape
        torch.Size([4, 5, 10])
    """
    hidden = _check_sizes(hidden)
    sizes = (in_features, *hidden)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        fc = QuantLinear(n_in, n_out, weight_bits=weight_bits, input_bits=input_bits if i == 0 else None)
        layers.append(IntegerSpikingLayer(fc, QuantLIF(tau=tau, v_threshold=v_threshold,
                                                       membrane_bits=membrane_bits, surrogate=surrogate)))
    layers.append(QuantLinear(sizes[-1], num_classes, weight_bits=weight_bits))
    return nn.Sequential(*layers)


def quant_cnn(weight_bits: int = 8, membrane_bits: int = 16) -> nn.Sequential:
    """Quantized CNN-SNN for 8x8 digits: two (QuantConv2d + QuantLIF) blocks with max-pools, QuantLinear readout.

    Shapes: ``x [T, B, 1, 8, 8]`` -> ``[T, B, 10]``. Example: ``quant_cnn()(torch.rand(4, 2, 1, 8, 8))``.
    """
    def block(c_in, c_out):
        return IntegerSpikingLayer(QuantConv2d(c_in, c_out, 3, padding=1, weight_bits=weight_bits),
                                   QuantLIF(tau=2.0, membrane_bits=membrane_bits))

    return nn.Sequential(block(1, 8), MaxPool2d(2), block(8, 16), MaxPool2d(2),
                         Flatten(), QuantLinear(16 * 2 * 2, 10, weight_bits=weight_bits))
