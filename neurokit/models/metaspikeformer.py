"""Meta-SpikeFormer, the Spike-driven Transformer v2 (Yao et al., ICLR 2024, arXiv 2404.03663; code
``BICLab/Spike-Driven-Transformer-V2:classification/models.py``).

A MetaFormer-style four-stage backbone, time-major ``[T, B, C, H, W]`` throughout, membrane-shortcut residuals
(every branch starts with a neuron, so every synapse sees spikes):

* stage 1: ``Down(7x7, s2) -> ConvBlock(C/2) -> Down(3x3, s2) -> ConvBlock(C)`` (``C = widths[0]``);
* stage 2: ``Down(3x3, s2) -> 2 x ConvBlock(widths[1])``;
* stage 3: ``Down(3x3, s2) -> 6 x TransformerBlock(widths[2])``; stage 4: ``Down(3x3, s1) -> 2 x
  TransformerBlock(widths[3])``;
* ``Down`` = [neuron] Conv(bias) BN (no neuron before the first one: it reads the analog image);
* ``ConvBlock``: ``u += SepConv(u)`` (neuron, pw-conv 2x, BN, neuron, depth-wise 7x7, pw-conv, BN), then
  ``u += BN(Conv3x3(neuron(BN(Conv3x3_4x(neuron(u))))))``;
* ``TransformerBlock``: ``u += Attn(u)``, ``u += MLP(u)``; Attn = neuron, Q/K/V = neuron(BN(RepConv)),
  ``y = 0.125 * Q (K^T V)`` per head (linear in tokens, no softmax), neuron (threshold 0.5), BN(RepConv)
  projection; MLP = neuron, Conv1x1 4x, BN, neuron, Conv1x1, BN;
* head: neuron, mean over space, Linear -> ``[T, B, num_classes]`` (the head reads spike rates; the paper's code
  applies the Linear to the mean membrane value -- same parameters).

``RepConv`` (re-parameterisable conv: Conv1x1, BN with BN-value padding, depth-wise 3x3, Conv1x1, BN) is built as
``Conv1x1(padding=1)`` so that the border of its output is the BN of zero -- exactly the paper's "BN and pad" layer,
with ordinary IR ops.

Parameter counts (`count_parameters`, ImageNet head, 224x224x3): ``"imagenet-15m"`` (widths 64/128/256/360)
15,112,208; ``"imagenet-31m"`` (96/192/384/480, the code's ``metaspikformer_8_384``) 31,333,864;
``"imagenet-55m"`` (128/256/512/640, ``metaspikformer_8_512``) 55,350,248 -- the paper's 15.1M / 31.3M / 55.4M
(the 55M model is the 80.0% top-1 one). Each is exactly the count of the code's ``Spiking_vit_MetaFormer``
(``classification/models.py``) at those widths, without the ``--kd`` distillation head, which the published
figures leave out. The 15M widths are not a ``models.py`` preset; they are the backbone of the repository's
detection config (``detection/configs/sdt_mask_rcnn/mask-rcnn_sdt-t_fpn_1x_coco.py`` at commit ``03cc73e``,
``embed_dim=[64, 128, 256, 360]`` marked "15M").
"""

from __future__ import annotations

import torch
from torch import nn

from ..layers.attention import SpikeMatMul
from ..layers.time_major import BatchNorm2d, Conv2d
from .common import neuron_factory, static_to_time_major

METASPIKEFORMER_PRESETS = {
    "imagenet-15m": {"num_classes": 1000, "in_channels": 3, "img_size": 224, "widths": (64, 128, 256, 360)},
    "imagenet-31m": {"num_classes": 1000, "in_channels": 3, "img_size": 224, "widths": (96, 192, 384, 480)},
    "imagenet-55m": {"num_classes": 1000, "in_channels": 3, "img_size": 224, "widths": (128, 256, 512, 640)},
    "tiny": {"num_classes": 10, "in_channels": 1, "img_size": 8, "widths": (8, 16, 32, 32), "heads": 2,
             "stem_stride": 1, "blocks": (1, 1, 1, 1)},
}


def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1, bias: bool = False,
             padding: int | None = None) -> list[nn.Module]:
    pad = kernel // 2 if padding is None else padding
    return [Conv2d(c_in, c_out, kernel, stride=stride, padding=pad, groups=groups, bias=bias), BatchNorm2d(c_out)]


def rep_conv(dim: int) -> nn.Sequential:
    """RepConv ``[T, B, dim, H, W] -> [T, B, dim, H, W]``: Conv1x1(pad 1) BN, depth-wise 3x3 (pad 0), Conv1x1, BN.

    Example:
        >>> rep_conv(4)(torch.rand(2, 1, 4, 5, 5)).shape
        torch.Size([2, 1, 4, 5, 5])
    """
    return nn.Sequential(*_conv_bn(dim, dim, 1, padding=1), Conv2d(dim, dim, 3, groups=dim, bias=False),
                         *_conv_bn(dim, dim, 1))


class DownSampling(nn.Module):
    """``[neuron] Conv(k, stride, bias) BN``: ``[T, B, C_in, H, W] -> [T, B, C_out, H/stride, W/stride]``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, neuron, first: bool = False):
        super().__init__()
        self.net = nn.Sequential(*([] if first else [neuron()]), *_conv_bn(c_in, c_out, kernel, stride, bias=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvBlock(nn.Module):
    """Meta-SpikeFormer conv block (SepConv token mixer + 3x3 conv MLP) on ``[T, B, dim, H, W]``.

    Example:
        >>> import neurokit as nk
        >>> ConvBlock(4, nk.LIF)(torch.rand(2, 1, 4, 6, 6)).shape
        torch.Size([2, 1, 4, 6, 6])
    """

    def __init__(self, dim: int, neuron, mlp_ratio: int = 4):
        super().__init__()
        med = 2 * dim
        self.sep = nn.Sequential(neuron(), *_conv_bn(dim, med, 1), neuron(), Conv2d(med, med, 7, padding=3,
                                 groups=med, bias=False), *_conv_bn(med, dim, 1))
        self.mlp = nn.Sequential(neuron(), *_conv_bn(dim, dim * mlp_ratio, 3), neuron(),
                                 *_conv_bn(dim * mlp_ratio, dim, 3))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        u = u + self.sep(u)
        return u + self.mlp(u)


class LinearSpikeAttention(nn.Module):
    """Meta-SpikeFormer attention on images ``[T, B, dim, H, W]`` (membrane-level in and out): spike Q/K/V from
    RepConv-BN, ``0.125 * Q (K^T V)`` per head, neuron (0.5), RepConv-BN projection.

    Example:
        >>> import neurokit as nk
        >>> LinearSpikeAttention(8, 2, nk.LIF)(torch.rand(2, 1, 8, 3, 3)).shape
        torch.Size([2, 1, 8, 3, 3])
    """

    def __init__(self, dim: int, heads: int, neuron, scale: float = 0.125):
        super().__init__()
        if heads < 1 or dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.heads = heads
        self.in_neuron = neuron()
        self.q = nn.Sequential(rep_conv(dim), BatchNorm2d(dim), neuron())
        self.k = nn.Sequential(rep_conv(dim), BatchNorm2d(dim), neuron())
        self.v = nn.Sequential(rep_conv(dim), BatchNorm2d(dim), neuron())
        self.kv_matmul = SpikeMatMul(1.0)
        self.qkv_matmul = SpikeMatMul(scale)
        self.attn_neuron = neuron(v_threshold=0.5)
        self.proj = nn.Sequential(rep_conv(dim), BatchNorm2d(dim))

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        T, B, C, H, W = x.shape                                             # -> [T, B, heads, H*W, C/heads]
        return x.reshape(T, B, C, H * W).transpose(2, 3).reshape(T, B, H * W, self.heads, C // self.heads) \
            .permute(0, 1, 3, 2, 4)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        T, B, C, H, W = u.shape
        s = self.in_neuron(u)
        q, k, v = (self._heads(p(s)) for p in (self.q, self.k, self.v))
        kv = self.kv_matmul(k.transpose(-2, -1), v)                         # [T, B, heads, d, d]
        y = self.qkv_matmul(q, kv).permute(0, 1, 3, 2, 4).reshape(T, B, H * W, C).transpose(2, 3)
        return self.proj(self.attn_neuron(y.reshape(T, B, C, H, W)))


class TransformerBlock(nn.Module):
    """``u += Attn(u); u += MLP(u)`` on ``[T, B, dim, H, W]`` (MLP: neuron, Conv1x1 4x, BN, neuron, Conv1x1, BN)."""

    def __init__(self, dim: int, heads: int, neuron, mlp_ratio: int = 4):
        super().__init__()
        self.attn = LinearSpikeAttention(dim, heads, neuron)
        self.mlp = nn.Sequential(neuron(), *_conv_bn(dim, dim * mlp_ratio, 1, bias=True), neuron(),
                                 *_conv_bn(dim * mlp_ratio, dim, 1, bias=True))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        u = u + self.attn(u)
        return u + self.mlp(u)


class MetaSpikeFormer(nn.Module):
    """Meta-SpikeFormer: images ``[T, B, C, H, W]`` (or static ``[B, C, H, W]``, repeated ``T`` times) ->
    per-step logits ``[T, B, num_classes]``. Args: see `metaspikeformer`.

    Example:
        >>> net = MetaSpikeFormer(num_classes=10, in_channels=1, img_size=8, widths=(8, 16, 32, 32), heads=2,
        ...                       stem_stride=1, blocks=(1, 1, 1, 1))
        >>> net(torch.rand(2, 3, 1, 8, 8)).shape
        torch.Size([2, 3, 10])
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, img_size: int = 224,
                 widths: tuple = (128, 256, 512, 640), blocks: tuple = (1, 2, 6, 2), heads: int = 8,
                 mlp_ratio: int = 4, stem_stride: int = 2, T: int = 4, neuron: str = "lif", tau: float = 2.0,
                 surrogate: str = "atan"):
        super().__init__()
        if len(widths) != 4 or len(blocks) != 4 or min(blocks) < 1 or widths[0] % 2:
            raise ValueError(f"widths (4, widths[0] even) and blocks (4, each >= 1) per stage, got {widths}, "
                             f"{blocks}")
        if stem_stride not in (1, 2) or T < 1:
            raise ValueError(f"stem_stride must be 1 or 2 and T >= 1, got {stem_stride}, {T}")
        if img_size % (8 * stem_stride):
            raise ValueError(f"img_size ({img_size}) must be divisible by {8 * stem_stride} (the total stride)")
        make = neuron_factory(neuron, tau=tau, detach_reset=True, surrogate=surrogate)
        c0, c1, c2, c3 = widths
        self.stages = nn.Sequential(
            DownSampling(in_channels, c0 // 2, 7, stem_stride, make, first=True),
            *[ConvBlock(c0 // 2, make, mlp_ratio) for _ in range(blocks[0])],
            DownSampling(c0 // 2, c0, 3, 2, make), *[ConvBlock(c0, make, mlp_ratio) for _ in range(blocks[0])],
            DownSampling(c0, c1, 3, 2, make), *[ConvBlock(c1, make, mlp_ratio) for _ in range(blocks[1])],
            DownSampling(c1, c2, 3, 2, make), *[TransformerBlock(c2, heads, make, mlp_ratio)
                                                for _ in range(blocks[2])],
            DownSampling(c2, c3, 3, 1, make), *[TransformerBlock(c3, heads, make, mlp_ratio)
                                                for _ in range(blocks[3])])
        self.head_neuron = make()
        self.head = nn.Linear(c3, num_classes)
        self.T = T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = static_to_time_major(x, self.T, "MetaSpikeFormer input x", 4)
        return self.head(self.head_neuron(self.stages(x)).mean(dim=(-2, -1)))


def metaspikeformer(preset: str | None = None, **kwargs) -> MetaSpikeFormer:
    """Build a Meta-SpikeFormer; ``preset`` picks a published / test configuration, ``kwargs`` override it.

    Presets: ``"imagenet-15m"``, ``"imagenet-31m"``, ``"imagenet-55m"`` (224x224x3, 1000 classes; the paper's
    15.1M / 31.3M / 55.4M models), ``"tiny"`` (8x8x1 digits, CPU tests).

    Args (all keyword): num_classes, in_channels, img_size, widths (4 stage widths; stage 1 starts at
    widths[0]/2), blocks ((1, 2, 6, 2): conv blocks per stage-1 half, stage-2 conv blocks, stage-3 and stage-4
    transformer blocks), heads (8), mlp_ratio (4), stem_stride (2; 1 for tiny images), T (4), neuron, tau,
    surrogate.

    Shapes: ``[T, B, C, H, W]`` or static ``[B, C, H, W]`` -> ``[T, B, num_classes]``.

    Example:
        >>> metaspikeformer("tiny")(torch.rand(3, 1, 8, 8)).shape
        torch.Size([4, 3, 10])
    """
    if preset is not None and preset not in METASPIKEFORMER_PRESETS:
        raise ValueError(f"preset must be one of {sorted(METASPIKEFORMER_PRESETS)} or None, got {preset!r}")
    return MetaSpikeFormer(**{**METASPIKEFORMER_PRESETS.get(preset, {}), **kwargs})
