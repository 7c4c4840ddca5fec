"""Time-major wrappers of the torch layers that need ``[N, C, ...]`` input.

Each wrapper folds time into batch (``[T, B, ...] -> [T*B, ...]``), applies the torch layer, and unfolds again, so
the weights, ``state_dict`` keys and numerics are exactly the wrapped torch layer's. They subclass the torch layer,
so ``isinstance(m, nn.Conv2d)`` holds and the compiler/energy hooks see a standard layer. ``nn.Linear`` needs no
wrapper (it already acts on the last dim of ``[T, B, F]``). :func:`time_major` (``nk.time_major``) converts the plain
torch layers of a whole model to these wrappers in place; ``nk.compile`` does the same on its copy.

Example::

    >>> conv = nk.layers.Conv2d(2, 8, 3, padding=1)
    >>> conv(torch.rand(4, 3, 2, 16, 16)).shape        # [T, B, C, H, W]
    torch.Size([4, 3, 8, 16, 16])
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["Conv2d", "Conv1d", "BatchNorm1d", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "Flatten", "fold_time",
           "time_major", "convert_module"]


def fold_time(module_forward, x: torch.Tensor, min_rank: int, name: str, channels: int | None = None) -> torch.Tensor:
    """Apply ``module_forward`` to ``x [T, B, *rest]`` as ``[T*B, *rest]`` and restore ``[T, B, ...]``.

    ``channels``: the number of channels ``x.shape[2]`` must have (``ValueError`` naming ``name`` otherwise)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: input must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != min_rank:
        raise ValueError(f"{name}: expected a time-major input of rank {min_rank} ([T, B, ...]); "
                         f"got shape {tuple(x.shape)}")
    if channels is not None and x.shape[2] != channels:
        raise ValueError(f"{name}: expected {channels} input channels at dim 2 of [T, B, C, ...], got "
                         f"{x.shape[2]} (input shape {tuple(x.shape)})")
    T, B = x.shape[:2]
    y = module_forward(x.reshape(T * B, *x.shape[2:]))
    return y.reshape(T, B, *y.shape[1:])


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` over ``[T, B, C, H, W]``."""

    def forward(self, x):
        return fold_time(super().forward, x, 5, "Conv2d", self.in_channels)


class Conv1d(nn.Conv1d):
    """``nn.Conv1d`` over ``[T, B, C, L]``."""

    def forward(self, x):
        return fold_time(super().forward, x, 4, "Conv1d", self.in_channels)


BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
"""The torch batch-norm classes every neurokit batch norm derives from (``isinstance(m, BATCH_NORMS)``)."""


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` over ``[T, B, C, H, W]`` (statistics over time, batch and space)."""

    def forward(self, x):
        return fold_time(super().forward, x, 5, "BatchNorm2d", self.num_features)


class BatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` over ``[T, B, C]`` (statistics over time and batch) or ``[T, B, C, L]``."""

    def forward(self, x):
        if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"BatchNorm1d: expected [T, B, C] or [T, B, C, L], got {shape}")
        return fold_time(super().forward, x, x.dim(), "BatchNorm1d", self.num_features)


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` over ``[T, B, C, H, W]``."""

    def forward(self, x):
        return fold_time(super().forward, x, 5, "MaxPool2d")


class AvgPool2d(nn.AvgPool2d):
    """``nn.AvgPool2d`` over ``[T, B, C, H, W]``."""

    def forward(self, x):
        return fold_time(super().forward, x, 5, "AvgPool2d")


class Flatten(nn.Flatten):
    """Flatten all dims after ``[T, B]``: ``[T, B, C, H, W] -> [T, B, C*H*W]``."""

    def __init__(self):
        super().__init__(start_dim=2, end_dim=-1)

    def forward(self, x):
        if not isinstance(x, torch.Tensor) or x.dim() < 3:
            raise ValueError(f"Flatten: expected [T, B, ...] with rank >= 3, got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        return super().forward(x)


#: Plain torch layer -> its time-major subclass above (same parameters and buffers; only ``forward`` folds time).
SWAPS = {nn.Conv2d: Conv2d, nn.Conv1d: Conv1d, nn.BatchNorm2d: BatchNorm2d, nn.BatchNorm1d: BatchNorm1d,
         nn.MaxPool2d: MaxPool2d, nn.AvgPool2d: AvgPool2d}
#: Torch layers that already work on ``[T, B, ...]``: they act on the last dim(s) or element-wise.
AS_IS = (nn.Linear, nn.Identity, nn.Dropout, nn.AlphaDropout, nn.LayerNorm, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU,
         nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.Softplus)
#: Torch containers: their children are visited.
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.ParameterList, nn.ParameterDict)
#: Torch layers with no time-major form here, and what to use instead.
INSTEAD = {
    nn.Dropout2d: "nn.Dropout (Dropout2d zeroes whole channels of one [N, C, H, W] sample; on [T, B, C, H, W] it would "
                  "zero other slices)",
    nn.Dropout1d: "nn.Dropout", nn.Conv3d: "nk.layers.Conv2d (per frame) or fold the extra dim into the channels",
    nn.AdaptiveAvgPool2d: "nk.layers.AvgPool2d with kernel_size = stride = input size // output size",
    nn.AdaptiveMaxPool2d: "nk.layers.MaxPool2d with kernel_size = stride = input size // output size",
    nn.Upsample: "a strided nk.layers.Conv2d design (no upsampling layer lowers to the targets)",
    nn.RNNBase: "nk.layers.Recurrent with a spiking neuron",
    nn.MultiheadAttention: "nk.layers.SpikingSelfAttention",
}


def _unsupported(m: nn.Module, path: str, who: str) -> str:
    for cls, use in INSTEAD.items():
        if isinstance(m, cls):
            return f"{who}: module {path!r} ({type(m).__name__}) has no time-major form; use {use}"
    return (f"{who}: module {path!r} ({type(m).__name__}) has no time-major form; supported torch layers: "
            f"{sorted(c.__name__ for c in (*SWAPS, nn.Flatten, *AS_IS))} (or write the layer with nk.layers.fold_time)")


def convert_module(m: nn.Module, path: str = "", who: str = "time_major") -> nn.Module:
    """``m`` made time-major (:func:`time_major`'s rules), in place where possible; returns the module to use.

    ``ValueError`` naming ``who``, the module path and what to use instead for a torch layer with no time-major form.
    Example: ``convert_module(nn.Conv2d(2, 4, 3))`` is the same object, now an ``nk.layers.Conv2d``.
    """
    if type(m) in SWAPS:
        m.__class__ = SWAPS[type(m)]
        return m
    if type(m) is nn.Flatten:
        if (m.start_dim, m.end_dim) == (1, -1):
            return Flatten()
        if m.start_dim >= 2 or m.start_dim < -1:
            return m
        raise ValueError(f"{who}: module {path!r} (Flatten(start_dim={m.start_dim}, end_dim={m.end_dim})) has no "
                         "time-major form; use nn.Flatten() (flatten every dim of a sample: nk.layers.Flatten)")
    if isinstance(m, AS_IS) or type(m).__module__.startswith("neurokit") or \
            (isinstance(m, (nn.Softmax, nn.LogSoftmax)) and m.dim == -1):
        return m
    if type(m).__module__.startswith("torch.nn") and not isinstance(m, CONTAINERS):
        raise ValueError(_unsupported(m, path, who))
    for name, child in list(m.named_children()):
        new = convert_module(child, f"{path}.{name}" if path else name, who)
        if new is not child:
            setattr(m, name, new)
    return m


def time_major(model: nn.Module) -> nn.Module:
    """Make the plain torch layers of ``model`` work on time-major ``[T, B, ...]`` tensors, in place.

    ``nn.Conv1d/Conv2d/BatchNorm1d/BatchNorm2d/MaxPool2d/AvgPool2d`` become the ``nk.layers`` subclass of the same
    layer (weights, buffers and ``state_dict`` keys unchanged; ``[T, B, ...]`` is folded to ``[T*B, ...]`` around the
    torch op), ``nn.Flatten()`` becomes ``nk.layers.Flatten()``, ``nn.Linear``/``nn.Dropout``/activations stay (they
    already act on the last dim or element-wise); neurokit modules and the children of user modules are visited.
    ``nk.compile`` applies the same to its copy of the model. A torch layer with no time-major form raises
    ``ValueError`` naming its path and what to use instead (e.g. ``Dropout2d`` -> ``nn.Dropout``).

    Returns ``model`` (or its replacement if ``model`` itself is an ``nn.Flatten``).

    Example::

        >>> net = nk.time_major(nn.Sequential(nn.Conv2d(2, 8, 3), nk.LIF(), nn.Flatten(), nn.Linear(8 * 14 * 14, 10)))
        >>> net(torch.rand(4, 3, 2, 16, 16)).shape                       # [T, B, C, H, W] -> [T, B, 10]
        torch.Size([4, 3, 10])
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"time_major: expected a torch.nn.Module, got {type(model).__name__}")
    return convert_module(model)
