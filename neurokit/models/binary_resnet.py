"""Binary ResNet-18 in the CIFAR-10 configuration of the binary-network papers, as a spiking network.

Configuration (``resnet18_1w1a`` of ReSTE's code, Wu et al., ICCV 2023, ``model/models_cifar/resnet18.py`` of
``DravenALG/ReSTE``; BiPer, Vargas et al., CVPR 2024, reports ResNet-18 / CIFAR-10 against it, with its own
``resnet18_1w1a`` in ``cifar10/models_cifar/resnet2.py`` of ``edmav4/BiPer``, which differs: parameter-free
shortcuts, a 2x2 average pool and zero channel padding, and a learnable per-channel scale; this preset follows
ReSTE's code for every estimator):

* stem: full-precision ``Conv3x3(in_channels, 64)`` + BatchNorm (first layer full precision, the usual convention);
* four stages of two basic blocks, ``width * (1, 2, 4, 8)`` channels (64-128-256-512), strides 1, 2, 2, 2; each
  block has two binary ``Conv3x3`` + BatchNorm; a block that changes the shape has the papers' full-precision
  ``Conv1x1`` (stride 2) + BatchNorm shortcut, the others the identity;
* each binary convolution scales its ``{-1, +1}`` kernel by ``mean(|W|)`` of its latent weights, computed at every
  forward (ReSTE's ``scaler`` in ``model/binary_module/binarized_modules.py``; no parameter, ``scale="mean_abs"``
  of :class:`~neurokit.layers.BinaryConv2d`);
* head: ``AvgPool(4)`` (global at 32x32 input), ``BatchNorm1d(512)`` and a full-precision
  ``Linear(512, num_classes)`` (last layer full precision).

Parameters at ``width=64``: 11,174,986, the count of that code (He et al.'s CIFAR ResNet-18, 11,173,962, plus the
``BatchNorm1d(512)``, 1,024).

Spiking form (so every synapse sees 0/1 spikes and the binary convolutions are integer convolutions): the residual
stream is membrane-level (accumulators, as in Meta-SpikeFormer and Max-Former), and a LIF neuron stands where the
papers binarize activations::

    s = LIF(u);  h = BN(BinConv3x3(s));  u' = BN(BinConv3x3(LIF(h))) + (u  or  BN(Conv1x1(s)))

Differences to the reference code, stated: activations are spikes instead of ``sign``, and the reference's ReLU
between each binary convolution and its BatchNorm is left out (the LIF is the non-linearity). The compilers fold the
head's ``BatchNorm1d`` into the classifier after it (``compile/passes/fold_bn.py``: after spikes and a pool no
synapse precedes it). ``scale="learned"`` gives each binary convolution a learnable per-channel ``alpha`` instead
(BiPer's code, ``cifar10/modules/binarized_modules.py`` of ``edmav4/BiPer``; +3,840 parameters).

Example::

    >>> net = binary_resnet18("biper", width=8, image_size=16)
    >>> net(torch.rand(2, 3, 3, 16, 16)).shape          # [T, B, C, H, W] -> [T, B, classes]
    torch.Size([2, 3, 10])
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..layers.binary import SCALES, BinaryConv2d, check_estimator
from ..layers.time_major import AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Flatten
from ..neurons import LIF

__all__ = ["BinaryResNet18", "binary_resnet18", "RESNET18_STAGES"]

#: Basic blocks per stage and stage strides of ResNet-18 (He et al., CVPR 2016; CIFAR stem with stride 1).
RESNET18_STAGES = ((2, 1), (2, 2), (2, 2), (2, 2))


class BasicBlock(nn.Module):
    """``u' = BN(BinConv3x3(LIF(BN(BinConv3x3(LIF(u)))))) + shortcut`` on membrane-level ``[T, B, C, H, W]``.

    Example::

        >>> BasicBlock(8, 16, 2, lambda: LIF(), "ste", None)(torch.rand(2, 1, 8, 8, 8)).shape
        torch.Size([2, 1, 16, 4, 4])
    """

    def __init__(self, c_in: int, c_out: int, stride: int, neuron, estimator: str, estimator_params,
                 scale: str = "mean_abs"):
        super().__init__()
        self.neuron = neuron()
        self.conv1 = BinaryConv2d(c_in, c_out, 3, stride=stride, padding=1, estimator=estimator,
                                  estimator_params=estimator_params, scale=scale)
        self.bn1 = BatchNorm2d(c_out)
        self.neuron1 = neuron()
        self.conv2 = BinaryConv2d(c_out, c_out, 3, padding=1, estimator=estimator,
                                  estimator_params=estimator_params, scale=scale)
        self.bn2 = BatchNorm2d(c_out)
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(Conv2d(c_in, c_out, 1, stride=stride, bias=False), BatchNorm2d(c_out))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        s = self.neuron(u)
        out = self.bn2(self.conv2(self.neuron1(self.bn1(self.conv1(s)))))
        return out + (u if self.shortcut is None else self.shortcut(s))


class BinaryResNet18(nn.Module):
    """Spiking binary ResNet-18 (module docstring): ``[T, B, in_channels, H, W]`` -> ``[T, B, num_classes]``.

    Args: see :func:`binary_resnet18`.

    Example::

        >>> BinaryResNet18(width=8, image_size=8)(torch.rand(1, 2, 3, 8, 8)).shape
        torch.Size([1, 2, 10])
    """

    def __init__(self, estimator: str = "reste", estimator_params: Optional[dict] = None, num_classes: int = 10,
                 in_channels: int = 3, width: int = 64, image_size: int = 32, tau: float = 2.0,
                 v_threshold: float = 1.0, surrogate: str = "atan", scale: str = "mean_abs"):
        super().__init__()
        check_estimator(estimator, estimator_params)
        if not isinstance(scale, str) or scale not in SCALES:
            raise ValueError(f"scale={scale!r} is not a binary-layer scale; expected one of {SCALES}")
        for arg, value in (("num_classes", num_classes), ("in_channels", in_channels), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{arg}={value!r}: expected a positive int")
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8 or image_size % 8:
            raise ValueError(f"image_size={image_size!r}: expected a positive multiple of 8 (three stride-2 stages)")

        def neuron():
            return LIF(tau=tau, v_threshold=v_threshold, surrogate=surrogate)

        self.stem = nn.Sequential(Conv2d(in_channels, width, 3, padding=1, bias=False), BatchNorm2d(width))
        blocks, c_in = [], width
        for i, (n_blocks, stride) in enumerate(RESNET18_STAGES):
            c_out = width * 2 ** i
            for j in range(n_blocks):
                blocks.append(BasicBlock(c_in, c_out, stride if j == 0 else 1, neuron, estimator,
                                         estimator_params, scale))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head_neuron = neuron()
        self.pool = nn.Sequential(AvgPool2d(image_size // 8), Flatten())
        self.head_bn = BatchNorm1d(c_in)
        self.head = nn.Linear(c_in, num_classes)
        self.in_channels, self.image_size = in_channels, image_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = self.image_size
        if x.dim() != 5 or tuple(x.shape[2:]) != (self.in_channels, size, size):
            raise ValueError(f"BinaryResNet18 input x: expected [T, B, {self.in_channels}, {size}, {size}], got "
                             f"{tuple(x.shape)}")
        return self.head(self.head_bn(self.pool(self.head_neuron(self.blocks(self.stem(x))))))


def binary_resnet18(estimator: str = "reste", estimator_params: Optional[dict] = None, num_classes: int = 10,
                    in_channels: int = 3, width: int = 64, image_size: int = 32, tau: float = 2.0,
                    v_threshold: float = 1.0, surrogate: str = "atan", scale: str = "mean_abs") -> BinaryResNet18:
    """Spiking binary ResNet-18, CIFAR-10 configuration (module docstring; 11,174,986 parameters at ``width=64``).

    Args:
        estimator, estimator_params: binary-weight estimator of the block convolutions (``"ste" | "reste" |
            "biper"``) and its parameters (:class:`~neurokit.layers.BinaryConv2d`).
        num_classes, in_channels: data sizes. width: first-stage channels (64 in the papers; smaller for tests).
        image_size: input height = width, a multiple of 8 (32 for CIFAR-10; the head pools ``image_size / 8``).
        tau, v_threshold, surrogate: LIF parameters.
        scale: binary-conv scale, ``"mean_abs"`` (ReSTE's computed ``mean|W|``, the published configuration) or
            ``"learned"`` (per-channel ``alpha`` parameters, as in BiPer's code).

    Shapes: ``x [T, B, in_channels, image_size, image_size]`` -> ``[T, B, num_classes]`` (logits per
    step; train with ``nk.train``'s ``"ce_rate"`` loss).

    Example::

        >>> binary_resnet18("ste", width=8)(torch.rand(2, 4, 3, 32, 32)).shape
        torch.Size([2, 4, 10])
    """
    return BinaryResNet18(estimator, estimator_params, num_classes, in_channels, width, image_size, tau,
                          v_threshold, surrogate, scale)
