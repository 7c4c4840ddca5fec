"""Spiking attention: attention products as their own layers, Spikformer SSA and spike-driven SDSA.

Token layout is time-major ``[T, B, N, C]`` (N tokens, C channels). Products between activations are separate
modules (`SpikeMatMul`, `SpikeMask`) so that the compiler captures them as graph nodes (torch.fx leaves).

* `SpikingSelfAttention` (Spikformer SSA, Zhou et al. ICLR 2023, arXiv 2209.15425): spike Q, K, V,
  **no softmax**, a fixed scale (0.125). Computed as ``scale * Q (K^T V)`` (two `SpikeMatMul`), which equals
  ``scale * (Q K^T) V`` exactly in real arithmetic and is linear in the number of tokens.
* `SpikeDrivenSelfAttention` (SDT v1 SDSA, Yao et al. NeurIPS 2023; models.md 1.2): ``kv = sum_n K ∘ V`` (mask and
  add), ``kv = LIF(kv)`` (threshold 0.5), ``out = Q ∘ kv``; only masks and additions of spikes. It returns a
  membrane-level value that the block adds to its residual stream *before* the next neuron, so every tensor that
  reaches a synapse is binary.
"""

from __future__ import annotations

import math

from collections.abc import Callable

import torch
from torch import nn

NeuronFactory = Callable[..., nn.Module]


class SpikeMatMul(nn.Module):
    """Product of two activation tensors: ``out = scale * (a @ b)``.

    Shapes: ``a [..., N, K]``, ``b [..., K, M]`` -> ``[..., N, M]`` (batch dims broadcast as in ``torch.matmul``).
    With spike (0/1) inputs the product is a count of coincident spikes, an integer; ``scale`` is a fixed float.

    Example:
        >>> SpikeMatMul(scale=0.5)(torch.ones(2, 3), torch.ones(3, 4))[0, 0]
        tensor(1.5000)
    """

    def __init__(self, scale: float = 1.0):
        super().__init__()
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
            raise ValueError(f"scale must be a finite number, got {scale!r}")
        self.scale = float(scale)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(f"SpikeMatMul needs a [..., N, K] and b [..., K, M], got a {tuple(a.shape)} "
                             f"and b {tuple(b.shape)}")
        out = a @ b
        return out if self.scale == 1.0 else out * self.scale

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class SpikeMask(nn.Module):
    """Hadamard product of two activation tensors (a mask on spikes), optionally summed over the token axis.

    ``out = a * b`` (broadcasting); with ``sum_tokens=True``: ``out = (a * b).sum(dim=-2, keepdim=True)``.
    Shapes: ``a``, ``b`` broadcastable ``[..., N, C]`` -> ``[..., N, C]`` or ``[..., 1, C]``.

    Example:
        >>> SpikeMask(sum_tokens=True)(torch.ones(1, 3, 2), torch.ones(1, 3, 2))
        tensor([[[3., 3.]]])
    """

    def __init__(self, sum_tokens: bool = False):
        super().__init__()
        self.sum_tokens = bool(sum_tokens)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        try:
            out = a * b
        except RuntimeError as err:
            raise ValueError(f"SpikeMask needs broadcastable a and b, got {tuple(a.shape)} and "
                             f"{tuple(b.shape)}") from err
        return out.sum(dim=-2, keepdim=True) if self.sum_tokens else out

    def extra_repr(self) -> str:
        return f"sum_tokens={self.sum_tokens}"


class TokenBatchNorm(nn.BatchNorm1d):
    """``BatchNorm1d`` over the channel (last) axis of time-major tokens ``[T, B, N, C]`` (statistics over T, B, N).

    Same statistics as Spikformer's ``BatchNorm1d`` on ``[T*B, C, N]``; a plain ``nn.BatchNorm1d`` subclass so BN
    folding treats it like any other BN.

    Example:
        >>> TokenBatchNorm(8)(torch.rand(2, 3, 5, 8)).shape
        torch.Size([2, 3, 5, 8])
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[-1] != self.num_features:
            raise ValueError(f"TokenBatchNorm expects [..., {self.num_features}] tokens, got {tuple(x.shape)}")
        return super().forward(x.reshape(-1, self.num_features)).reshape(x.shape)


def _check_tokens(x: torch.Tensor, dim: int, name: str) -> None:
    if x.dim() != 4 or x.shape[-1] != dim:
        raise ValueError(f"{name} expects tokens x of shape [T, B, N, {dim}], got {tuple(x.shape)}")


def _check_heads(dim: int, heads: int) -> None:
    for name, value in (("dim", dim), ("heads", heads)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if dim % heads:
        raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")


class _SpikeProjection(nn.Sequential):
    """Linear -> TokenBatchNorm -> neuron on tokens ``[T, B, N, C_in] -> [T, B, N, C_out]`` spikes."""

    def __init__(self, dim_in: int, dim_out: int, neuron: NeuronFactory, bias: bool, **neuron_kw):
        super().__init__(nn.Linear(dim_in, dim_out, bias=bias), TokenBatchNorm(dim_out), neuron(**neuron_kw))


def _split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    T, B, N, C = x.shape
    return x.reshape(T, B, N, heads, C // heads).transpose(2, 3)      # [T, B, heads, N, C/heads]


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    T, B, H, N, D = x.shape
    return x.transpose(2, 3).reshape(T, B, N, H * D)


class SpikingSelfAttention(nn.Module):
    """Spikformer spiking self-attention (SSA): spike Q/K/V, no softmax, fixed scale.

    ``q, k, v = LIF(BN(Linear(x)))`` (no bias); ``y = scale * q @ (k^T @ v)`` per head; ``y = LIF_0.5(y)``;
    ``out = LIF(BN(Linear(y)))``. Input ``x`` are spikes ``[T, B, N, dim]``; output spikes ``[T, B, N, dim]``.

    Args: dim, heads (``dim % heads == 0``), scale (0.125), neuron: factory returning a neuron module
    (e.g. ``nk.LIF``; called with ``v_threshold=0.5`` for the attention neuron), qkv_bias (False),
    output_spikes: True (Spikformer) ends with the projection neuron; False returns the membrane-level
    ``BN(Linear(y))`` for a membrane-shortcut residual (Max-Former).

    Example:
        >>> import neurokit as nk
        >>> ssa = SpikingSelfAttention(16, heads=2, neuron=nk.LIF)
        >>> ssa((torch.rand(2, 3, 5, 16) > 0.5).float()).shape
        torch.Size([2, 3, 5, 16])
    """

    def __init__(self, dim: int, heads: int, neuron: NeuronFactory, scale: float = 0.125, qkv_bias: bool = False,
                 output_spikes: bool = True):
        super().__init__()
        _check_heads(dim, heads)
        self.dim, self.heads = dim, heads
        self.q = _SpikeProjection(dim, dim, neuron, qkv_bias)
        self.k = _SpikeProjection(dim, dim, neuron, qkv_bias)
        self.v = _SpikeProjection(dim, dim, neuron, qkv_bias)
        self.kv_matmul = SpikeMatMul(1.0)
        self.qkv_matmul = SpikeMatMul(scale)
        self.attn_neuron = neuron(v_threshold=0.5)
        self.proj = (_SpikeProjection(dim, dim, neuron, True) if output_spikes
                     else nn.Sequential(nn.Linear(dim, dim), TokenBatchNorm(dim)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_tokens(x, self.dim, "SpikingSelfAttention")
        q, k, v = (_split_heads(p(x), self.heads) for p in (self.q, self.k, self.v))
        kv = self.kv_matmul(k.transpose(-2, -1), v)                       # [T, B, H, d, d]
        y = _merge_heads(self.qkv_matmul(q, kv))                          # [T, B, N, dim]
        return self.proj(self.attn_neuron(y))


class SpikeDrivenSelfAttention(nn.Module):
    """Spike-driven self-attention (SDSA): Q/K/V interact only by masks and additions.

    ``q, k, v = LIF(BN(Linear(s)))`` (no bias) on spikes ``s``; ``kv = LIF_0.5(sum_n k ∘ v)`` ``[T, B, 1, dim]``;
    ``out = BN(Linear(q ∘ kv))`` -- a membrane-level value ``[T, B, N, dim]`` to be added to the residual stream
    before the next neuron (the caller owns the residual). Input ``s``: spikes ``[T, B, N, dim]``.

    Example:
        >>> import neurokit as nk
        >>> sdsa = SpikeDrivenSelfAttention(16, neuron=nk.LIF)
        >>> sdsa((torch.rand(2, 3, 5, 16) > 0.5).float()).shape
        torch.Size([2, 3, 5, 16])
    """

    def __init__(self, dim: int, neuron: NeuronFactory, qkv_bias: bool = False):
        super().__init__()
        self.dim = dim
        self.q = _SpikeProjection(dim, dim, neuron, qkv_bias)
        self.k = _SpikeProjection(dim, dim, neuron, qkv_bias)
        self.v = _SpikeProjection(dim, dim, neuron, qkv_bias)
        self.kv_mask_sum = SpikeMask(sum_tokens=True)
        self.kv_neuron = neuron(v_threshold=0.5)
        self.q_mask = SpikeMask()
        self.proj = nn.Sequential(nn.Linear(dim, dim), TokenBatchNorm(dim))

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        _check_tokens(s, self.dim, "SpikeDrivenSelfAttention")
        kv = self.kv_neuron(self.kv_mask_sum(self.k(s), self.v(s)))       # [T, B, 1, dim]
        return self.proj(self.q_mask(self.q(s), kv))
