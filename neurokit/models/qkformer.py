"""QKFormer, a hierarchical spiking transformer with Q-K attention (Zhou et al., NeurIPS 2024, arXiv 2403.16552;
code ``zhouchenlin2096/QKFormer``: ``cifar10/model.py``, ``imagenet/qkformer.py``).

Three stages, time-major ``[T, B, C, H, W]``, spike residuals (``x = x + f(x)`` with spike-valued branches, as in
Spikformer):

* stage 1 (``dim/4``): stem embedding, then ``blocks[0]`` Q-K token-attention blocks;
* stage 2 (``dim/2``): stage embedding (halves H, W), then ``blocks[1]`` Q-K token-attention blocks;
* stage 3 (``dim``): stage embedding (halves H, W), then ``blocks[2]`` SSA blocks (Spikformer attention);
* head: mean over space, Linear -> ``[T, B, num_classes]``.

Q-K token attention (QKTA): ``q, k = LIF(BN(Conv1x1(x)))``; per head ``a = LIF_0.5(sum_channels q)`` (one spike per
token and head), ``y = a * k`` (a token mask), ``out = LIF(BN(Conv1x1(y)))``. The channel sum of the 0/1 spikes
``q`` is written as the masked sum ``sum(q * q)`` (equal for spikes), so it is the existing ``mask`` IR op.
Embeddings: stem ``Conv3x3-BN-[pool]-LIF -> Conv3x3-BN-[pool]-LIF [-> Conv3x3-BN-LIF]`` plus a 1x1 conv shortcut
(``stem="cifar"``: 2 convs, no pool; ``"imagenet"``: 3 convs, 2 pools); stage ``Conv3x3-BN-MaxPool-LIF ->
Conv3x3-BN-LIF`` plus ``LIF(BN(Conv1x1 stride 2))``.

Parameter counts (`count_parameters`), each the count of the official code for that configuration:
``"imagenet-10-384"`` 16,473,688, ``"imagenet-10-512"`` 29,079,336, ``"imagenet-10-768"`` 64,962,760 (published
16.47M / 29.08M / 64.96M; the last is the ``n_parameters`` of ``imagenet/imagenet_origin_log.txt``; heads 6 / 8 / 12
as in ``imagenet/qkformer.py``, which do not change the count); ``"cifar10-4-384"`` 6,706,234 and
``"cifar100-4-384"`` 6,740,884 (the counts that ``cifar10/cifar10_origin_log.txt`` and
``cifar100/cifar100_origin_log.txt`` print; the paper's 6.74M for HST-4-384 is the 100-class count).
"""

from __future__ import annotations

import torch
from torch import nn

from ..layers.attention import SpikeMask, SpikingSelfAttention
from ..layers.time_major import BatchNorm2d, Conv2d, MaxPool2d
from .common import neuron_factory, static_to_time_major
from .spikformer import image_to_tokens

QKFORMER_PRESETS = {
    "imagenet-10-384": {"num_classes": 1000, "img_size": 224, "dim": 384, "blocks": (1, 2, 7), "heads": 6,
                        "stem": "imagenet"},
    "imagenet-10-512": {"num_classes": 1000, "img_size": 224, "dim": 512, "blocks": (1, 2, 7), "heads": 8,
                        "stem": "imagenet"},
    "imagenet-10-768": {"num_classes": 1000, "img_size": 224, "dim": 768, "blocks": (1, 2, 7), "heads": 12,
                        "stem": "imagenet"},
    "cifar10-4-384": {"num_classes": 10, "img_size": 32, "dim": 384, "blocks": (1, 1, 2), "stem": "cifar"},
    "cifar100-4-384": {"num_classes": 100, "img_size": 32, "dim": 384, "blocks": (1, 1, 2), "stem": "cifar"},
    "tiny": {"num_classes": 10, "in_channels": 1, "img_size": 8, "dim": 32, "blocks": (1, 1, 1), "heads": 2,
             "stem": "cifar"},
}
STEMS = ("cifar", "imagenet")


def _cbn(c_in: int, c_out: int, kernel: int, stride: int = 1, bias: bool = False) -> list[nn.Module]:
    return [Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=bias), BatchNorm2d(c_out)]


def _pool() -> MaxPool2d:
    return MaxPool2d(3, stride=2, padding=1)


class StemEmbedding(nn.Module):
    """Stage-1 embedding ``[T, B, C_in, H, W] -> [T, B, dim, H/s, W/s]`` spikes (``s`` 1 for cifar, 4 for imagenet).

    Example:
        >>> import neurokit as nk
        >>> StemEmbedding(1, 8, nk.LIF, "cifar")(torch.rand(2, 1, 1, 8, 8)).shape
        torch.Size([2, 1, 8, 8, 8])
    """

    def __init__(self, in_channels: int, dim: int, neuron, stem: str):
        super().__init__()
        pools = [_pool()] if stem == "imagenet" else []
        self.first = nn.Sequential(*_cbn(in_channels, dim // 2, 3), *pools, neuron())
        main = [*_cbn(dim // 2, dim, 3), *pools, neuron()]
        if stem == "imagenet":
            main += [*_cbn(dim, dim, 3), neuron()]
        self.main = nn.Sequential(*main)
        self.shortcut = nn.Sequential(*_cbn(dim // 2, dim, 1, stride=2 if stem == "imagenet" else 1), neuron())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.first(x)
        return self.main(s) + self.shortcut(s)


class StageEmbedding(nn.Module):
    """Down-sampling embedding ``[T, B, dim/2, H, W] -> [T, B, dim, H/2, W/2]`` (spike input, spike-sum output)."""

    def __init__(self, dim: int, neuron):
        super().__init__()
        self.main = nn.Sequential(*_cbn(dim // 2, dim, 3), _pool(), neuron(), *_cbn(dim, dim, 3), neuron())
        self.shortcut = nn.Sequential(*_cbn(dim // 2, dim, 1, stride=2), neuron())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) + self.shortcut(x)


class QKTokenAttention(nn.Module):
    """Q-K token attention on images ``[T, B, dim, H, W]`` -> spikes of the same shape (module docstring).

    Example:
        >>> import neurokit as nk
        >>> QKTokenAttention(8, 2, nk.LIF)(torch.rand(2, 1, 8, 3, 3)).shape
        torch.Size([2, 1, 8, 3, 3])
    """

    def __init__(self, dim: int, heads: int, neuron):
        super().__init__()
        if heads < 1 or dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.heads = heads
        self.q = nn.Sequential(*_cbn(dim, dim, 1), neuron())
        self.k = nn.Sequential(*_cbn(dim, dim, 1), neuron())
        self.q_sum = SpikeMask(sum_tokens=True)
        self.attn_neuron = neuron(v_threshold=0.5)
        self.k_mask = SpikeMask()
        self.proj = nn.Sequential(*_cbn(dim, dim, 1, bias=True), neuron())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B, C, H, W = x.shape
        q = self.q(x).reshape(T, B, self.heads, C // self.heads, H * W)
        k = self.k(x).reshape(T, B, self.heads, C // self.heads, H * W)
        a = self.attn_neuron(self.q_sum(q, q))                              # [T, B, heads, 1, H*W]
        return self.proj(self.k_mask(a, k).reshape(T, B, C, H, W))


class ImageSSA(nn.Module):
    """Spikformer SSA (`SpikingSelfAttention`) on images ``[T, B, dim, H, W]`` as ``H*W`` tokens (spikes out)."""

    def __init__(self, dim: int, heads: int, neuron):
        super().__init__()
        self.attn = SpikingSelfAttention(dim, heads, neuron)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(image_to_tokens(x)).transpose(-1, -2).reshape(x.shape)


class QKFormerBlock(nn.Module):
    """``x = x + attn(x); x = x + MLP(x)`` on ``[T, B, dim, H, W]``; attn ``"qkta"`` or ``"ssa"``; MLP
    ``LIF(BN(Conv1x1(LIF(BN(Conv1x1_4x(x))))))``.

    Example:
        >>> import neurokit as nk
        >>> QKFormerBlock(8, 2, nk.LIF, "qkta")(torch.rand(2, 1, 8, 3, 3)).shape
        torch.Size([2, 1, 8, 3, 3])
    """

    def __init__(self, dim: int, heads: int, neuron, attention: str, mlp_ratio: int = 4):
        super().__init__()
        self.attn = QKTokenAttention(dim, heads, neuron) if attention == "qkta" else ImageSSA(dim, heads, neuron)
        self.mlp = nn.Sequential(*_cbn(dim, dim * mlp_ratio, 1, bias=True), neuron(),
                                 *_cbn(dim * mlp_ratio, dim, 1, bias=True), neuron())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x)
        return x + self.mlp(x)


class QKFormer(nn.Module):
    """QKFormer: images ``[T, B, C, H, W]`` (or static ``[B, C, H, W]``, repeated ``T`` times) -> per-step logits
    ``[T, B, num_classes]``. Args: see `qkformer`.

    Example:
        >>> net = QKFormer(num_classes=10, in_channels=1, img_size=8, dim=32, blocks=(1, 1, 1), heads=2)
        >>> net(torch.rand(2, 3, 1, 8, 8)).shape
        torch.Size([2, 3, 10])
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, img_size: int = 32, dim: int = 384,
                 blocks: tuple = (1, 1, 2), heads: int = 8, mlp_ratio: int = 4, stem: str = "cifar", T: int = 4,
                 neuron: str = "lif", tau: float = 2.0, surrogate: str = "atan"):
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        if len(blocks) != 3 or min(blocks) < 0 or dim % 8 or (dim // 4) % heads:
            raise ValueError(f"blocks needs 3 entries >= 0 and dim/4 divisible by heads and 2, got blocks={blocks}, "
                             f"dim={dim}, heads={heads}")
        stride = 16 if stem == "imagenet" else 4
        if img_size % stride or T < 1:
            raise ValueError(f"img_size ({img_size}) must be divisible by {stride} and T >= 1 (got T={T})")
        make = neuron_factory(neuron, tau=tau, detach_reset=True, surrogate=surrogate)
        d1, d2 = dim // 4, dim // 2
        self.stages = nn.Sequential(
            StemEmbedding(in_channels, d1, make, stem),
            *[QKFormerBlock(d1, heads, make, "qkta", mlp_ratio) for _ in range(blocks[0])],
            StageEmbedding(d2, make), *[QKFormerBlock(d2, heads, make, "qkta", mlp_ratio) for _ in range(blocks[1])],
            StageEmbedding(dim, make), *[QKFormerBlock(dim, heads, make, "ssa", mlp_ratio) for _ in range(blocks[2])])
        self.head = nn.Linear(dim, num_classes)
        self.T = T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = static_to_time_major(x, self.T, "QKFormer input x", 4)
        return self.head(self.stages(x).mean(dim=(-2, -1)))


def qkformer(preset: str | None = None, **kwargs) -> QKFormer:
    """Build a QKFormer; ``preset`` picks a published / test configuration, ``kwargs`` override it.

    Presets: ``"imagenet-10-384"``, ``"imagenet-10-512"``, ``"imagenet-10-768"`` (HST-10-D, 224x224x3),
    ``"cifar10-4-384"``, ``"cifar100-4-384"`` (HST-4-384, 32x32x3), ``"tiny"`` (8x8x1 digits, CPU tests).

    Args (all keyword): num_classes, in_channels (3), img_size, dim (stage widths dim/4, dim/2, dim), blocks
    (per stage; QKTA, QKTA, SSA), heads (8), mlp_ratio (4), stem (``"cifar" | "imagenet"``), T (4), neuron, tau,
    surrogate.

    Shapes: ``[T, B, C, H, W]`` or static ``[B, C, H, W]`` -> ``[T, B, num_classes]``.

    Example:
        >>> qkformer("tiny")(torch.rand(3, 1, 8, 8)).shape
        torch.Size([4, 3, 10])
    """
    if preset is not None and preset not in QKFORMER_PRESETS:
        raise ValueError(f"preset must be one of {sorted(QKFORMER_PRESETS)} or None, got {preset!r}")
    return QKFormer(**{**QKFORMER_PRESETS.get(preset, {}), **kwargs})
