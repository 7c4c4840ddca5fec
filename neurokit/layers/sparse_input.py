"""`SparseInputLinear`: an ``nn.Linear`` that gathers the weights of the non-zero inputs when its input is sparse.

The first layer of a spiking network sees 0/1 spikes that are often a few percent dense (SHD: about 5 %). Then
``x @ W.T`` is a sum of a few weight columns per row, and the weight gradient a sum of a few gradient rows per
input: :func:`neurokit.kernels.sparse_linear.sparse_input_linear` computes both by index gathering, at ``density``
times the GEMM's work. The layer takes that path on CPU float32 when the input's density is at most
``max_density`` and falls back to ``torch.nn.functional.linear`` otherwise (other devices and dtypes, dense input,
``max_density=0``), so it is a drop-in ``nn.Linear`` (the compile targets see an ``nn.Linear``; ``state_dict`` is
the same). Both paths agree to fp32 rounding (exactly when every partial sum is representable; tested).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..kernels.sparse_linear import sparse_input_linear

__all__ = ["SparseInputLinear"]


class SparseInputLinear(nn.Linear):
    """``nn.Linear`` with an index-gathering path for sparse input: ``[..., in] -> [..., out]``.

    Args:
        in_features, out_features, bias, device, dtype: as ``nn.Linear``.
        max_density: take the gathering path when ``count_nonzero(x) / x.numel() <= max_density`` (default 0.1;
            below that the gathering does less than a tenth of the GEMM's multiply-adds, enough to pay for its
            scattered memory accesses). ``0`` always uses the dense GEMM.

    Example:
        >>> layer = SparseInputLinear(700, 256)
        >>> x = (torch.rand(100, 32, 700) < 0.05).float()
        >>> torch.allclose(layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias), atol=1e-5)
        True
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None,
                 max_density: float = 0.1):
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        if not 0 <= max_density <= 1:
            raise ValueError(f"SparseInputLinear: max_density must be in [0, 1], got {max_density}")
        self.max_density = float(max_density)

    def uses_gather(self, x: torch.Tensor) -> bool:
        """True when ``forward(x)`` takes the index-gathering path (CPU float32, density <= ``max_density``)."""
        return self._gather_possible(x) and int(torch.count_nonzero(x)) <= self.max_density * x.numel()

    def _gather_possible(self, x: torch.Tensor) -> bool:
        return self.max_density > 0 and x.device.type == "cpu" and x.dtype == torch.float32 and (
            self.weight.dtype == torch.float32 and x.numel() > 0 and x.shape[-1] == self.in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [..., in] -> [..., out]``, ``x @ weight.T + bias``."""
        if self._gather_possible(x):   # the density is measured while gathering the indices (one pass over x)
            return sparse_input_linear(x, self.weight, self.bias, self.max_density)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, max_density={self.max_density}"
