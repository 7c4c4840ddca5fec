"""Losses, accuracy, spike-rate recording and evaluation for :func:`neurokit.train`.

Model outputs are either time-major ``[T, B, C]`` (spikes or membrane potentials of the output layer) or already
reduced ``[B, C]``. Built-in losses:

* ``"ce_rate"`` -- cross-entropy on the time-mean output ``out.mean(0)`` (rate decoding; default);
* ``"ce_per_step"`` -- cross-entropy at every time step, averaged over T.

A callable ``loss(out, y) -> scalar`` is accepted too. Predictions are ``argmax`` of the time-mean output.

Spike rate = spikes emitted by every neurokit neuron module / (neurons x time steps x samples), measured with
forward hooks during the run.

Example::

    >>> loss_fn = get_loss("ce_rate")
    >>> loss_fn(torch.randn(8, 4, 10), torch.randint(0, 10, (4,)))
    tensor(...)
"""
from __future__ import annotations

from typing import Callable, Dict, Union

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from ..data.base import collate_time_major
from ..layers.recurrent import Recurrent
from ..neurons.modules import Neuron
from .distributed import DistContext, ShardSampler, all_reduce_sum, setup_distributed

__all__ = ["get_loss", "LOSSES", "predictions", "SpikeRecorder", "evaluate"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check_output(out: torch.Tensor, y: torch.Tensor) -> None:
    if not isinstance(out, torch.Tensor) or out.dim() not in (2, 3) or out.shape[-2] != y.shape[0]:
        raise ValueError(f"model output: expected [T, B, C] or [B, C] with B={y.shape[0]}, got "
                         f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
    if y.dtype.is_floating_point or y.dtype == torch.bool or y.dim() != 1:
        raise ValueError(f"labels: expected integer class labels [B], got dtype {y.dtype} and shape {tuple(y.shape)}")
    classes = out.shape[-1]
    if y.numel() and not 0 <= int(y.min()) <= int(y.max()) < classes:
        bad = int(y.max()) if int(y.max()) >= classes else int(y.min())
        raise ValueError(f"labels: label {bad} is out of range for the model's {classes} output classes; expected "
                         f"labels in [0, {classes}) (check the data set's num_classes against the model's last layer)")


def _time_mean(out: torch.Tensor) -> torch.Tensor:
    return out.mean(0) if out.dim() == 3 else out


def _at_least_float32(out: torch.Tensor) -> torch.Tensor:
    """Losses are computed in float32 under autocast (bf16/fp16 outputs) and in the output's dtype otherwise."""
    return out.float() if out.dtype in (torch.float16, torch.bfloat16) else out


def ce_rate(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on the time-mean output: ``CE(out.mean(0), y)`` for ``out [T, B, C]`` (``CE(out, y)`` for
    ``[B, C]``).

    Example::

        >>> ce_rate(torch.zeros(4, 2, 3), torch.tensor([0, 2]))     # log(3)
        tensor(1.0986)
    """
    _check_output(out, y)
    return F.cross_entropy(_at_least_float32(_time_mean(out)), y)


def ce_per_step(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy at every step, averaged: ``mean_t CE(out[t], y)`` for ``out [T, B, C]``.

    Example::

        >>> ce_per_step(torch.zeros(4, 2, 3), torch.tensor([0, 2]))
        tensor(1.0986)
    """
    _check_output(out, y)
    if out.dim() != 3:
        raise ValueError(f"loss 'ce_per_step': expected a time-major output [T, B, C], got {tuple(out.shape)}")
    T, B, C = out.shape
    return F.cross_entropy(_at_least_float32(out).reshape(T * B, C), y.repeat(T))


LOSSES: Dict[str, LossFn] = {"ce_rate": ce_rate, "ce_per_step": ce_per_step}


def get_loss(loss: Union[str, LossFn]) -> LossFn:
    """Resolve a loss name (``"ce_rate"``, ``"ce_per_step"``) or pass a callable ``loss(out, y) -> scalar`` through.

    Example::

        >>> get_loss("ce_rate") is ce_rate
        True
    """
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"loss: expected one of {sorted(LOSSES)} or a callable(out, y), got {loss!r}")
    return LOSSES[loss]


def predictions(out: torch.Tensor) -> torch.Tensor:
    """Class predictions ``[B]`` = argmax over classes of the time-mean output.

    Example::

        >>> predictions(torch.tensor([[[0., 1.]], [[0., 1.]]])).tolist()
        [1]
    """
    return _time_mean(out).argmax(-1)


class SpikeRecorder:
    """Counts the spikes of every neurokit neuron module (``nk.LIF``, ``nk.IF``, ...) inside ``model``.

    Use as a context manager; ``spikes`` and ``elements`` accumulate (as float tensors on the output device), and
    ``layer_counts`` ``[L, 2]`` (float64) holds ``(spikes, neuron-steps)`` per neuron layer, in the order of
    ``names`` (the module names in ``model.named_modules()``). A layer whose forward never ran has 0 neuron-steps.

    Example::

        >>> with SpikeRecorder(model) as rec:
        ...     model(x)
        >>> rate = float(rec.spikes / rec.elements)
        >>> dict(zip(rec.names, rec.layer_counts[:, 0].tolist()))   # spikes per layer
        {'1': 412.0, '3': 37.0}
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self.spikes = torch.zeros((), dtype=torch.float64)
        self.elements = torch.zeros((), dtype=torch.float64)
        # a Recurrent layer's neuron is stepped inside the layer, so its spikes are the layer's output
        self._layers = [(name, m) for name, m in model.named_modules() if isinstance(m, (Neuron, Recurrent))]
        self.names = [name or type(m).__name__ for name, m in self._layers]
        self.layer_counts = torch.zeros(len(self._layers), 2, dtype=torch.float64)
        self._handles = []

    def _hook(self, index, output):
        spikes = output[0] if isinstance(output, tuple) else output
        spikes = spikes.detach()
        total = spikes.sum(dtype=torch.float64)
        self.spikes = self.spikes.to(spikes.device) + total
        self.elements = self.elements.to(spikes.device) + spikes.numel()
        self.layer_counts = self.layer_counts.to(spikes.device)
        self.layer_counts[index, 0] += total
        self.layer_counts[index, 1] += spikes.numel()

    def __enter__(self) -> "SpikeRecorder":
        self._handles = [m.register_forward_hook(lambda _m, _i, out, k=k: self._hook(k, out))
                         for k, (_, m) in enumerate(self._layers)]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def cast_input(x: torch.Tensor, model: nn.Module, device: torch.device) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    param = next(model.parameters(), None)
    if param is not None and x.is_floating_point() and param.is_floating_point():
        x = x.to(param.dtype)
    return x


@torch.no_grad()
def evaluate(model: nn.Module, data, *, batch_size: int = 64, loss: Union[str, LossFn] = "ce_rate",
             device="auto", ctx: DistContext | None = None, num_workers: int = 0) -> Dict[str, float]:
    """Mean loss, accuracy and spike rate of ``model`` over every sample of ``data`` (in eval mode).

    Under a distributed context each rank evaluates its shard and the sums are all-reduced.

    Returns:
        ``{"loss", "acc", "spike_rate"}`` (spike rate 0.0 when the model has no neurokit neurons).

    Example::

        >>> evaluate(model, test_ds, batch_size=128)["acc"]
        0.93
    """
    ctx = ctx or setup_distributed(False, device)
    loss_fn = get_loss(loss)
    loader = DataLoader(data, batch_size=batch_size, sampler=ShardSampler(len(data), ctx.rank, ctx.world_size),
                        collate_fn=collate_time_major, num_workers=num_workers)
    was_training = model.training
    model.eval()
    sums = torch.zeros(5, dtype=torch.float64, device=ctx.device)      # loss*b, correct, b, spikes, elements
    with SpikeRecorder(model) as rec:
        for x, y in loader:
            x, y = cast_input(x, model, ctx.device), y.to(ctx.device)
            out = model(x)
            batch_loss = loss_fn(out, y)
            sums[0] += batch_loss.double() * y.shape[0]
            sums[1] += (predictions(out) == y).sum()
            sums[2] += y.shape[0]
        sums[3] += rec.spikes.to(sums.device)
        sums[4] += rec.elements.to(sums.device)
    model.train(was_training)
    sums = all_reduce_sum(sums, ctx).tolist()
    n = max(sums[2], 1.0)
    return {"loss": sums[0] / n, "acc": sums[1] / n, "spike_rate": sums[3] / sums[4] if sums[4] else 0.0}
