"""Sigma-delta networks (SDNN): a small PilotNet-like conv preset, conversion of a trained ReLU ANN, message counts.

An SDNN runs an ANN on a stream (``[T, B, ...]`` frames): a delta encoder sends the change of each input, every
layer integrates the incoming deltas (sigma), adds its bias, applies ReLU and sends the change of its activation
only when it reaches the threshold (:class:`neurokit.SigmaDelta`); a final :class:`neurokit.neurons.Sigma` integrates
the last layer's deltas into the output. Synapses carry no bias (a bias on deltas would accumulate): it sits in the
neuron after the sigma, as in lava-dl's slayer SDNN blocks. With ``threshold=0`` and no quantization the SDNN's
output equals the ANN's on every frame (tested); a larger threshold sends fewer messages.

Example::

    >>> ann = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    >>> sdnn = ann_to_sdnn(ann, threshold=0.05)
    >>> frames = torch.rand(2, 1, 8, 8).expand(6, 2, 1, 8, 8)      # [T, B, C, H, W]
    >>> sdnn(frames).shape                                          # [T, B, 3]: the ANN output, integrated
    torch.Size([6, 2, 3])
    >>> message_stats(sdnn, frames)[0]["saved"] >= 1 - 1 / 6         # static frames: each input sent once at most
    True
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..layers.time_major import Conv2d, Flatten
from ..neurons.modules import IF, LIF
from ..neurons.sigma_delta import Sigma, SigmaDelta

__all__ = ["sdnn_cnn", "ann_to_sdnn", "rate_snn", "message_stats", "conversion_report"]


def _check_threshold_arg(threshold) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold >= 0:
        raise ValueError(f"threshold must be a number >= 0, got threshold={threshold!r}")
    return float(threshold)


def _synapse(m: nn.Module) -> nn.Module:
    """A bias-free, time-major copy of ``m`` (``nn.Conv2d`` / ``nn.Linear``) with the same weights."""
    if isinstance(m, nn.Conv2d):
        s = Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                   bias=False, padding_mode=m.padding_mode)
    else:
        s = nn.Linear(m.in_features, m.out_features, bias=False)
    s.weight = nn.Parameter(m.weight.detach().clone())
    return s


def ann_to_sdnn(ann: nn.Sequential, threshold: float, input_threshold: Optional[float] = None,
                scale: Optional[int] = None) -> nn.Sequential:
    """Convert a trained ReLU ANN (``nn.Sequential`` of ``nn.Conv2d`` / ``nn.Linear`` / ``nn.ReLU`` / ``nn.Flatten``,
    sample-major ``[B, ...]``) into a time-major SDNN with the same weights (module docstring).

    Args:
        ann: the ANN; a synapse followed by ``nn.ReLU`` becomes a :class:`~neurokit.SigmaDelta` with the synapse's
            bias, the last synapse (no ReLU after it) a :class:`~neurokit.neurons.Sigma` read-out.
        threshold: the sigma-delta threshold of every hidden layer (``>= 0``).
        input_threshold: the input delta encoder's threshold (default: ``threshold``).
        scale: message quantization of the sigma-delta units (:class:`~neurokit.SigmaDelta`; None: float).

    Returns:
        ``nn.Sequential``: frames ``[T, B, *input shape]`` -> the integrated output ``[T, B, n_out]``.

    Example: ``ann_to_sdnn(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), threshold=0.1)``.
    """
    th = _check_threshold_arg(threshold)
    th_in = th if input_threshold is None else _check_threshold_arg(input_threshold)
    if not isinstance(ann, nn.Sequential) or not len(ann):
        raise TypeError(f"ann must be a non-empty nn.Sequential, got {type(ann).__name__}")
    mods = list(ann)
    out: list[nn.Module] = [SigmaDelta(th_in, activation="identity", scale=scale, sigma=False)]
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            relu = i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU)
            bias = None if m.bias is None else m.bias.detach()
            out.append(_synapse(m))
            if relu:
                out.append(SigmaDelta(th, activation="relu", scale=scale, bias=bias))
                i += 2
                continue
            if i != len(mods) - 1:
                raise ValueError(f"ann[{i}] ({type(m).__name__}): only the last synapse may lack a ReLU after it")
            out.append(Sigma(bias))
        elif isinstance(m, nn.Flatten):
            if m.start_dim != 1 or m.end_dim != -1:
                raise ValueError(f"ann[{i}]: Flatten(start_dim={m.start_dim}, end_dim={m.end_dim}); expected (1, -1)")
            out.append(Flatten())
        else:
            raise ValueError(f"ann[{i}]: {type(m).__name__} has no sigma-delta conversion (expected Conv2d, Linear, "
                             "ReLU after a synapse, Flatten)")
        i += 1
    if not isinstance(out[-1], Sigma):
        raise ValueError("ann: the last module must be a Conv2d / Linear read-out (no ReLU after it)")
    return nn.Sequential(*out)


def rate_snn(ann: nn.Sequential, tau: float = 2.0, seed: int = 0) -> nn.Sequential:
    """A rate-coded SNN of the same architecture as the ReLU ``ann`` (for training from scratch, e.g. with
    ``nk.train``): every ``nn.Conv2d`` / ``nn.Linear`` becomes a freshly initialised time-major layer of the same shape
    (with bias), every ``nn.ReLU`` an ``nk.LIF(tau)``, ``nn.Flatten`` the time-major ``Flatten``; the read-out stays
    linear (decode with the time-mean, ``ce_rate``). The binary input spikes enter through an ``nk.IF(v_threshold=0.5)``
    relay, which repeats its ``{0, 1}`` input exactly (tested): the input layer of the network, as the SDNN's input
    delta encoder is, so both count and cost their input messages as a neuron layer.

    Shapes: spikes ``[T, B, *input shape]`` -> ``[T, B, n_out]``. ``seed`` seeds the initialisation.

    Example:
        >>> ann = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
        >>> rate_snn(ann)((torch.rand(8, 2, 1, 8, 8) < 0.3).float()).shape
        torch.Size([8, 2, 3])
    """
    if not isinstance(ann, nn.Sequential) or not len(ann):
        raise TypeError(f"ann must be a non-empty nn.Sequential, got {type(ann).__name__}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        out: list[nn.Module] = [IF(v_threshold=0.5)]
        for i, m in enumerate(ann):
            if isinstance(m, nn.Conv2d):
                out.append(Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation,
                                  m.groups, bias=m.bias is not None, padding_mode=m.padding_mode))
            elif isinstance(m, nn.Linear):
                out.append(nn.Linear(m.in_features, m.out_features, bias=m.bias is not None))
            elif isinstance(m, nn.ReLU):
                out.append(LIF(tau=tau))
            elif isinstance(m, nn.Flatten) and m.start_dim == 1 and m.end_dim == -1:
                out.append(Flatten())
            else:
                raise ValueError(f"ann[{i}]: {type(m).__name__} has no rate-coded SNN counterpart (expected Conv2d, "
                                 "Linear, ReLU, Flatten(1, -1))")
    return nn.Sequential(*out)


def sdnn_cnn(in_channels: int = 1, n_out: int = 10, in_hw: tuple[int, int] = (8, 8),
             channels: tuple[int, ...] = (8, 16), hidden: int = 32, threshold: float = 0.05,
             scale: Optional[int] = None) -> nn.Sequential:
    """A small PilotNet-like SDNN: 3x3 stride-2 convs (``channels``), a hidden dense layer and a linear read-out,
    every neuron a ReLU :class:`~neurokit.SigmaDelta`; built as the ANN of that shape converted by
    :func:`ann_to_sdnn` (fresh PyTorch initialisation).

    Shapes: frames ``[T, B, in_channels, *in_hw]`` -> ``[T, B, n_out]``.

    Example:
        >>> sdnn_cnn(in_channels=1, n_out=10)(torch.rand(4, 2, 1, 8, 8)).shape
        torch.Size([4, 2, 10])
    """
    layers: list[nn.Module] = []
    c, hw = in_channels, tuple(in_hw)
    for co in channels:
        layers += [nn.Conv2d(c, co, 3, stride=2, padding=1), nn.ReLU()]
        c, hw = co, tuple((h + 1) // 2 for h in hw)
    layers += [nn.Flatten(), nn.Linear(c * hw[0] * hw[1], hidden), nn.ReLU(), nn.Linear(hidden, n_out)]
    return ann_to_sdnn(nn.Sequential(*layers), threshold, scale=scale)


def message_stats(sdnn: nn.Sequential, x: torch.Tensor) -> list[dict]:
    """Messages each sigma-delta unit of ``sdnn`` sends on ``x [T, B, ...]``, against the dense ANN run frame by
    frame (which sends every activation at every step).

    Returns:
        one dict per :class:`~neurokit.SigmaDelta` (input encoder first): ``index`` (position in ``sdnn``),
        ``messages`` (nonzero graded messages), ``dense`` (activations the ANN sends: all ``T * B * n``), ``saved``
        (``1 - messages / dense``).

    Example: ``message_stats(sdnn_cnn(), torch.rand(8, 2, 1, 8, 8))[1]["saved"]``.
    """
    stats, hooks = [], []
    for k, m in enumerate(sdnn):
        if isinstance(m, SigmaDelta):
            def hook(_mod, _inp, y, k=k):
                n = int((y != 0).sum())
                stats.append({"index": k, "messages": n, "dense": y.numel(), "saved": 1.0 - n / y.numel()})
            hooks.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            sdnn(x)
    finally:
        for h in hooks:
            h.remove()
    return stats


def conversion_report(ann: nn.Sequential, images: torch.Tensor, labels: torch.Tensor, thresholds, T: int = 8,
                      scale: Optional[int] = None) -> dict:
    """Accuracy and messages of ``ann`` converted at each threshold, on static frames (each image shown ``T`` steps).

    Args:
        ann: the trained ReLU ANN (:func:`ann_to_sdnn`'s input), sample-major.
        images: ``[N, *input shape]``; labels: ``[N]`` class indices.
        thresholds: the sigma-delta thresholds to convert at.
        T: steps per image; the SDNN's prediction is the argmax of its last step.

    Returns:
        ``{"ann_accuracy": float, "dense_messages": activations the ANN sends per inference (every hidden
        activation and input, every step), "sdnn": [{"threshold", "accuracy", "messages" (per inference),
        "saved" (1 - messages / dense_messages), "layers": message_stats per layer}, ...]}``.

    Example: ``conversion_report(ann, x_test, y_test, thresholds=(0.0, 0.05, 0.1))["sdnn"][1]["saved"]``.
    """
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be an int >= 1, got T={T!r}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"images has {images.shape[0]} samples but labels has {labels.shape[0]}")
    n = images.shape[0]
    frames = images.unsqueeze(0).expand(T, *images.shape)
    with torch.no_grad():
        ann_acc = float((ann(images).argmax(-1) == labels).float().mean())
    rows, dense = [], None
    for th in thresholds:
        sdnn = ann_to_sdnn(ann, th, scale=scale)
        with torch.no_grad():
            acc = float((sdnn(frames)[-1].argmax(-1) == labels).float().mean())
        layers = message_stats(sdnn, frames)
        dense = sum(s["dense"] for s in layers) / n
        msgs = sum(s["messages"] for s in layers) / n
        rows.append({"threshold": float(th), "accuracy": acc, "messages": msgs, "saved": 1.0 - msgs / dense,
                     "layers": layers})
    return {"ann_accuracy": ann_acc, "dense_messages": dense, "sdnn": rows}
