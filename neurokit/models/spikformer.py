"""Spikformer (Zhou et al., ICLR 2023) with an optional spike-driven attention (SDT v1, Yao et al., NeurIPS 2023).

Architecture (Spikformer, Zhou et al., ICLR 2023, arXiv 2209.15425; spike-driven self-attention, Yao et al.,
NeurIPS 2023, arXiv 2307.01694), time-major throughout:

* **SPS** (spiking patch splitting): four Conv3x3(no bias)-BN-neuron stages with ``dim/8, dim/4, dim/2, dim``
  channels; ``log2(patch_size)`` MaxPool(3, stride 2) layers after the last stages; a relative position embedding
  Conv3x3-BN-neuron added to the features. Output tokens ``[T, B, N, dim]``, ``N = (img_size / patch_size)^2``.
* **Blocks** (``depth`` of them), ``attention="ssa"`` (Spikformer): ``x = x + SSA(x); x = x + MLP(x)`` with
  MLP = Linear-BN-neuron-Linear-BN-neuron (the "SEW" residual: sums of spikes, not binary).
  ``attention="sdsa"`` (spike-driven): the residual stream ``u`` is membrane-level and every branch starts with a
  neuron, ``u = u + SDSA(LIF(u)); u = u + MLP(u)`` with MLP = neuron-Linear-BN-neuron-Linear-BN, so every tensor
  that reaches a synapse is binary.
* **Head**: mean over tokens (after a neuron in ``"sdsa"`` mode), Linear. Output ``[T, B, num_classes]``; its
  mean over T is Spikformer's logits.

Parameter counts (trainable, `count_parameters`), against the official code (``ZK-Zhou/spikformer``):

* ``"cifar10-4-384"``: 9,324,730 (published 9.32M). Layout of ``cifar10/model.py`` (Q/K/V ``nn.Linear`` with
  bias), whose count is 9,330,874: the difference, 6,144, is its eight ``LayerNorm`` (``norm1`` / ``norm2`` per
  block), which that code builds but never calls and which neurokit does not build (a deliberate choice: they have
  no effect on any output).
* ``"imagenet-8-384"``: 16,816,024. Layout of ``imagenet/model.py`` (Q/K/V ``Conv1d`` without bias), whose count is
  16,828,312; the difference, 12,288, is again its sixteen unused ``LayerNorm``. The paper's 16.81M is reproduced
  by neither (16.82M here, 16.83M for the released code).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..layers.attention import SpikeDrivenSelfAttention, SpikingSelfAttention, TokenBatchNorm
from ..layers.time_major import BatchNorm2d, Conv2d, MaxPool2d
from .common import neuron_factory, static_to_time_major

ATTENTION_TYPES = ("ssa", "sdsa")

SPIKFORMER_PRESETS = {
    "imagenet-8-384": dict(num_classes=1000, in_channels=3, img_size=224, patch_size=16, dim=384, depth=8, heads=12),
    "cifar10-4-384": dict(num_classes=10, in_channels=3, img_size=32, patch_size=4, dim=384, depth=4, heads=12,
                          qkv_bias=True),
    "tiny": dict(num_classes=10, in_channels=1, img_size=8, patch_size=2, dim=32, depth=1, heads=2),
}


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (``requires_grad``), the convention of the published tables.

    Example:
        >>> count_parameters(nn.Linear(3, 2))
        8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _conv_bn(c_in: int, c_out: int, kernel: int = 3) -> list[nn.Module]:
    return [Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False), BatchNorm2d(c_out)]


def image_to_tokens(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(3).transpose(-1, -2)                      # [T, B, C, H, W] -> [T, B, H*W, C]


class SpikingPatchSplitting(nn.Module):
    """SPS: images ``[T, B, in_channels, H, W]`` -> tokens ``[T, B, (H/patch)*(W/patch), dim]``.

    ``spike_driven=False``: output = spikes + RPE spikes (Spikformer); ``True``: output is membrane-level
    (last stage without neuron, RPE branch ``BN(Conv(LIF(u)))`` added), for a spike-driven residual stream.

    Example:
        >>> import neurokit as nk
        >>> sps = SpikingPatchSplitting(1, 16, 2, nk.LIF)
        >>> sps(torch.rand(2, 3, 1, 8, 8)).shape
        torch.Size([2, 3, 16, 16])
    """

    def __init__(self, in_channels: int, dim: int, patch_size: int, neuron, spike_driven: bool = False):
        super().__init__()
        pools = round(math.log2(patch_size)) if patch_size >= 1 else -1
        if pools < 0 or pools > 4 or 2 ** pools != patch_size:
            raise ValueError(f"patch_size must be one of 1, 2, 4, 8, 16, got {patch_size}")
        if dim % 8:
            raise ValueError(f"dim must be divisible by 8 (SPS widths dim/8 .. dim), got {dim}")
        widths = [in_channels, dim // 8, dim // 4, dim // 2, dim]
        layers: list[nn.Module] = []
        for stage in range(4):
            last = stage == 3
            layers += _conv_bn(widths[stage], widths[stage + 1])
            if not (last and spike_driven):
                layers.append(neuron())
            if stage >= 4 - pools:
                layers.append(MaxPool2d(3, stride=2, padding=1))
        self.stages = nn.Sequential(*layers)
        rpe = _conv_bn(dim, dim)
        self.rpe = nn.Sequential(neuron(), *rpe) if spike_driven else nn.Sequential(*rpe, neuron())
        self.in_channels, self.patch_size = in_channels, patch_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[2] != self.in_channels:
            raise ValueError(f"SpikingPatchSplitting expects x [T, B, {self.in_channels}, H, W], got {tuple(x.shape)}")
        if x.shape[-1] % self.patch_size or x.shape[-2] % self.patch_size:
            raise ValueError(f"image size {tuple(x.shape[-2:])} must be divisible by patch_size {self.patch_size}")
        feat = self.stages(x)
        return image_to_tokens(feat + self.rpe(feat))


class TokenMLP(nn.Module):
    """Two-layer token MLP ``[T, B, N, dim] -> [T, B, N, dim]`` with hidden width ``hidden``.

    ``spike_driven=False``: Linear-BN-neuron-Linear-BN-neuron (spikes out); ``True``: neuron-Linear-BN-neuron-
    Linear-BN (membrane-level out, input may be membrane-level).

    Example:
        >>> import neurokit as nk
        >>> TokenMLP(8, 32, nk.LIF)(torch.rand(2, 1, 4, 8)).shape
        torch.Size([2, 1, 4, 8])
    """

    def __init__(self, dim: int, hidden: int, neuron, spike_driven: bool = False):
        super().__init__()
        fc1 = [nn.Linear(dim, hidden), TokenBatchNorm(hidden)]
        fc2 = [nn.Linear(hidden, dim), TokenBatchNorm(dim)]
        if spike_driven:
            self.net = nn.Sequential(neuron(), *fc1, neuron(), *fc2)
        else:
            self.net = nn.Sequential(*fc1, neuron(), *fc2, neuron())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SpikformerBlock(nn.Module):
    """One encoder block on tokens ``[T, B, N, dim]`` (see the module docstring for both residual styles).

    Example:
        >>> import neurokit as nk
        >>> SpikformerBlock(16, 2, 4.0, nk.LIF, "sdsa")(torch.rand(2, 1, 4, 16)).shape
        torch.Size([2, 1, 4, 16])
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float, neuron, attention: str = "ssa",
                 qkv_bias: bool = False):
        super().__init__()
        if attention == "ssa":
            self.attn = SpikingSelfAttention(dim, heads, neuron, qkv_bias=qkv_bias)
        else:
            self.attn = nn.Sequential(neuron(), SpikeDrivenSelfAttention(dim, neuron, qkv_bias=qkv_bias))
        self.mlp = TokenMLP(dim, int(dim * mlp_ratio), neuron, spike_driven=attention == "sdsa")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x)
        return x + self.mlp(x)


class Spikformer(nn.Module):
    """Spiking vision transformer: images ``[T, B, C, H, W]`` (or static ``[B, C, H, W]``, repeated ``T`` times)
    -> per-step logits ``[T, B, num_classes]``.

    Args: see `spikformer`.

    Example:
        >>> net = Spikformer(num_classes=10, in_channels=1, img_size=8, patch_size=2, dim=32, depth=1, heads=2)
        >>> net(torch.rand(4, 2, 1, 8, 8)).shape
        torch.Size([4, 2, 10])
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, img_size: int = 32, patch_size: int = 4,
                 dim: int = 384, depth: int = 4, heads: int = 12, mlp_ratio: float = 4.0, T: int = 4,
                 neuron: str = "lif", tau: float = 2.0, attention: str = "ssa", surrogate: str = "atan",
                 qkv_bias: bool = False):
        super().__init__()
        if attention not in ATTENTION_TYPES:
            raise ValueError(f"attention must be one of {ATTENTION_TYPES}, got {attention!r}")
        if depth < 1 or T < 1:
            raise ValueError(f"depth and T must be >= 1, got depth={depth}, T={T}")
        if img_size % patch_size:
            raise ValueError(f"img_size ({img_size}) must be divisible by patch_size ({patch_size})")
        if heads < 1 or dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        make = neuron_factory(neuron, tau=tau, detach_reset=True, surrogate=surrogate)
        spike_driven = attention == "sdsa"
        self.patch_embed = SpikingPatchSplitting(in_channels, dim, patch_size, make, spike_driven)
        self.blocks = nn.Sequential(*[SpikformerBlock(dim, heads, mlp_ratio, make, attention, qkv_bias)
                                      for _ in range(depth)])
        self.head_neuron = make() if spike_driven else nn.Identity()
        self.head = nn.Linear(dim, num_classes)
        self.T, self.in_channels, self.img_size = T, in_channels, img_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = static_to_time_major(x, self.T, "Spikformer input x", 4)
        tokens = self.blocks(self.patch_embed(x))
        return self.head(self.head_neuron(tokens).mean(2))


def spikformer(preset: str | None = None, **kwargs) -> Spikformer:
    """Build a Spikformer; ``preset`` picks a published / test configuration, ``kwargs`` override it.

    Presets: ``"cifar10-4-384"`` (32x32x3, patch 4, dim 384, depth 4, 12 heads, Q/K/V with bias as in the CIFAR
    code; 9,324,730 params), ``"imagenet-8-384"`` (224x224x3, patch 16, 1000 classes, Q/K/V without bias;
    16,816,024), ``"tiny"`` (8x8x1 digits, patch 2, dim 32, depth 1, 2 heads; CPU training and tests).

    Args (all keyword): num_classes, in_channels, img_size, patch_size (1/2/4/8/16), dim (divisible by 8 and
    heads), depth, heads, mlp_ratio (4), T (4), neuron (``"lif" | "if" | "plif"``), tau (2.0),
    attention (``"ssa"`` Spikformer | ``"sdsa"`` spike-driven), surrogate (``"atan"``), qkv_bias (False: bias in
    the Q/K/V Linears).

    Shapes: ``[T, B, C, H, W]`` or static ``[B, C, H, W]`` -> ``[T, B, num_classes]``.

    Example:
        >>> spikformer("tiny", attention="sdsa")(torch.rand(3, 1, 8, 8)).shape
        torch.Size([4, 3, 10])
    """
    if preset is not None and preset not in SPIKFORMER_PRESETS:
        raise ValueError(f"preset must be one of {sorted(SPIKFORMER_PRESETS)} or None, got {preset!r}")
    return Spikformer(**{**SPIKFORMER_PRESETS.get(preset, {}), **kwargs})
