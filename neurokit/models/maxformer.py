"""Max-Former (Fang et al., NeurIPS 2025, arXiv 2505.18608): high-frequency operators for spiking
transformers -- an extra max-pool in the patch embedding and depth-wise convolution as the early token mixer.

Layout (the CIFAR model of the paper's code), images time-major ``[T, B, C, H, W]``, membrane-shortcut residuals
(every branch starts with a neuron and ends with BN, so synapses only ever see spikes):

* stage 1 (``dim/4`` channels): stem Conv3x3-BN (analog input, ``log2(patch_size/4)`` extra MaxPools), then
  ``BN(Conv3x3(LIF(u))) + BN(Conv1x1(LIF(u)))``;
* stages 2, 3 (``dim/2``, ``dim``): max embedding, halving H and W:
  ``s = LIF(u)``; ``main = BN(Conv3x3(LIF(MaxPool(BN(Conv3x3(s))))))``; ``short = MaxPool(BN(Conv1x1(s)))``;
* each stage then runs ``depths[i]`` blocks ``u = u + mixer(u); u = u + MLP(u)`` with mixer ``"none"`` (identity,
  no residual), ``"dwc<k>"`` (``BN(DepthwiseConv_kxk(LIF(u)))``) or ``"ssa"`` (spiking self-attention without
  softmax, `SpikingSelfAttention` with a membrane-level output), and MLP ``BN(Conv1x1(LIF(BN(Conv1x1(LIF(u))))))``;
* head: neuron, mean over space, Linear -> ``[T, B, num_classes]``.

Parameters of ``maxformer("cifar10")``: 6,568,282, exactly the count of ``cifar10-100/max_former.py`` of
``bic-L/MaxFormer`` at 384 channels and 10 classes (its layers in ``embedding_hub.py`` and ``mixer_hub.py``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..layers.attention import SpikingSelfAttention
from ..layers.time_major import BatchNorm2d, Conv2d, MaxPool2d
from .common import neuron_factory, static_to_time_major
from .spikformer import image_to_tokens

MAXFORMER_PRESETS = {
    "cifar10": dict(num_classes=10, in_channels=3, img_size=32, dim=384, depths=(1, 1, 2), heads=8,
                    mixers=("none", "dwc3", "ssa")),
    "tiny": dict(num_classes=10, in_channels=1, img_size=8, dim=32, depths=(1, 1, 1), heads=2,
                 mixers=("dwc3", "dwc3", "ssa")),
}


def _conv_bn(c_in: int, c_out: int, kernel: int, groups: int = 1, bias: bool = False) -> list[nn.Module]:
    return [Conv2d(c_in, c_out, kernel, padding=kernel // 2, groups=groups, bias=bias), BatchNorm2d(c_out)]


def _pool() -> MaxPool2d:
    return MaxPool2d(3, stride=2, padding=1)


class StemEmbedding(nn.Module):
    """Stage-1 embedding ``[T, B, C_in, H, W] -> [T, B, dim, H/2^p, W/2^p]`` (membrane-level), ``p = extra_pools``.

    Example:
        >>> import neurokit as nk
        >>> StemEmbedding(1, 8, nk.LIF)(torch.rand(2, 1, 1, 8, 8)).shape
        torch.Size([2, 1, 8, 8, 8])
    """

    def __init__(self, in_channels: int, dim: int, neuron, extra_pools: int = 0):
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn(in_channels, dim // 2, 3), *[_pool() for _ in range(extra_pools)])
        self.neuron = neuron()
        self.main = nn.Sequential(*_conv_bn(dim // 2, dim, 3))
        self.shortcut = nn.Sequential(*_conv_bn(dim // 2, dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.neuron(self.stem(x))
        return self.main(s) + self.shortcut(s)


class MaxEmbedding(nn.Module):
    """Down-sampling embedding with the extra max-pool: ``[T, B, C_in, H, W] -> [T, B, dim, H/2, W/2]``.

    Example:
        >>> import neurokit as nk
        >>> MaxEmbedding(8, 16, nk.LIF)(torch.rand(2, 1, 8, 8, 8)).shape
        torch.Size([2, 1, 16, 4, 4])
    """

    def __init__(self, in_channels: int, dim: int, neuron):
        super().__init__()
        self.neuron = neuron()
        self.main = nn.Sequential(*_conv_bn(in_channels, dim, 3), _pool(), neuron(), *_conv_bn(dim, dim, 3))
        self.shortcut = nn.Sequential(*_conv_bn(in_channels, dim, 1), _pool())

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        s = self.neuron(u)
        return self.main(s) + self.shortcut(s)


class ImageSelfAttention(nn.Module):
    """`SpikingSelfAttention` on images: ``LIF(u) [T, B, C, H, W]`` as ``H*W`` tokens; membrane-level output."""

    def __init__(self, dim: int, heads: int, neuron):
        super().__init__()
        self.neuron = neuron()
        self.attn = SpikingSelfAttention(dim, heads, neuron, output_spikes=False)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        tokens = self.attn(image_to_tokens(self.neuron(u)))          # [T, B, H*W, C]
        return tokens.transpose(-1, -2).reshape(u.shape)


def _mixer(kind: str, dim: int, heads: int, neuron) -> nn.Module | None:
    if kind == "none":
        return None
    if kind == "ssa":
        return ImageSelfAttention(dim, heads, neuron)
    if kind.startswith("dwc") and kind[3:].isdigit() and int(kind[3:]) % 2 == 1:
        return nn.Sequential(neuron(), *_conv_bn(dim, dim, int(kind[3:]), groups=dim, bias=True))
    raise ValueError(f"mixer must be 'none', 'ssa' or 'dwc<odd k>' (e.g. 'dwc3'), got {kind!r}")


class MaxFormerBlock(nn.Module):
    """``u = u + mixer(u); u = u + MLP(u)`` on membrane-level images ``[T, B, dim, H, W]``.

    Example:
        >>> import neurokit as nk
        >>> MaxFormerBlock(8, "dwc3", 2, 4.0, nk.LIF)(torch.rand(2, 1, 8, 4, 4)).shape
        torch.Size([2, 1, 8, 4, 4])
    """

    def __init__(self, dim: int, mixer: str, heads: int, mlp_ratio: float, neuron):
        super().__init__()
        self.mixer = _mixer(mixer, dim, heads, neuron)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(neuron(), *_conv_bn(dim, hidden, 1, bias=True),
                                 neuron(), *_conv_bn(hidden, dim, 1, bias=True))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        if self.mixer is not None:
            u = u + self.mixer(u)
        return u + self.mlp(u)


class MaxFormer(nn.Module):
    """Max-Former: images ``[T, B, C, H, W]`` (or static ``[B, C, H, W]``, repeated ``T`` times) -> per-step
    logits ``[T, B, num_classes]``. Args: see `maxformer`.

    Example:
        >>> net = MaxFormer(num_classes=10, in_channels=1, img_size=8, dim=32, heads=2)
        >>> net(torch.rand(4, 2, 1, 8, 8)).shape
        torch.Size([4, 2, 10])
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, img_size: int = 32, patch_size: int = 4,
                 dim: int = 384, depths: tuple = (1, 1, 2), mixers: tuple = ("none", "dwc3", "ssa"),
                 heads: int = 8, mlp_ratio: float = 4.0, T: int = 4, neuron: str = "lif", tau: float = 2.0,
                 surrogate: str = "atan"):
        super().__init__()
        extra = round(math.log2(patch_size / 4)) if patch_size >= 4 else -1
        if extra < 0 or 4 * 2 ** extra != patch_size:
            raise ValueError(f"patch_size must be 4, 8, 16, ... (two max embeddings give 4), got {patch_size}")
        if img_size % patch_size:
            raise ValueError(f"img_size ({img_size}) must be divisible by patch_size ({patch_size})")
        if len(depths) != 3 or len(mixers) != 3 or min(depths) < 0:
            raise ValueError(f"depths and mixers must have one entry per stage (3), got {depths} and {mixers}")
        if dim % 8 or heads < 1 or dim % heads:
            raise ValueError(f"dim must be divisible by 8 and by heads, got dim={dim}, heads={heads}")
        if T < 1:
            raise ValueError(f"T must be >= 1, got {T}")
        make = neuron_factory(neuron, tau=tau, detach_reset=True, surrogate=surrogate)
        widths = (dim // 4, dim // 2, dim)
        stages = []
        for i, (width, depth, mixer) in enumerate(zip(widths, depths, mixers)):
            embed = StemEmbedding(in_channels, width, make, extra) if i == 0 else MaxEmbedding(widths[i - 1],
                                                                                               width, make)
            blocks = [MaxFormerBlock(width, mixer, heads, mlp_ratio, make) for _ in range(depth)]
            stages.append(nn.Sequential(embed, *blocks))
        self.stages = nn.Sequential(*stages)
        self.head_neuron = make()
        self.head = nn.Linear(dim, num_classes)
        self.T = T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = static_to_time_major(x, self.T, "MaxFormer input x", 4)
        return self.head(self.head_neuron(self.stages(x)).mean(dim=(-2, -1)))


def maxformer(preset: str | None = None, **kwargs) -> MaxFormer:
    """Build a Max-Former; ``preset`` (``"cifar10"`` or ``"tiny"``) picks a configuration, ``kwargs`` override it.

    Args (all keyword): num_classes, in_channels, img_size, patch_size (4, 8, 16: total down-sampling), dim (last
    stage width; stages use dim/4, dim/2, dim), depths (blocks per stage), mixers (per stage: ``"none"``,
    ``"dwc<k>"``, ``"ssa"``), heads, mlp_ratio, T, neuron (``"lif" | "if" | "plif"``), tau, surrogate.

    Shapes: ``[T, B, C, H, W]`` or static ``[B, C, H, W]`` -> ``[T, B, num_classes]``.

    Example:
        >>> maxformer("tiny")(torch.rand(3, 1, 8, 8)).shape
        torch.Size([4, 3, 10])
    """
    if preset is not None and preset not in MAXFORMER_PRESETS:
        raise ValueError(f"preset must be one of {sorted(MAXFORMER_PRESETS)} or None, got {preset!r}")
    return MaxFormer(**{**MAXFORMER_PRESETS.get(preset, {}), **kwargs})
