"""Loihi energy per inference of a dense ANN, its sigma-delta conversion (SDNN) and a rate-coded SNN of the same
architecture, from one energy model (:mod:`.estimate`'s ``"loihi2"`` table on counts measured from real runs).

Rules of the rows (:func:`compare_sdnn_snn`):

* **SDNN** (``nk.models.ann_to_sdnn(ann, threshold, scale)`` on static frames ``[T, N, ...]``): the events counted
  from its run (:func:`~.counting.count_events`, graded layers by :mod:`.graded`): one spike delivery per nonzero
  message, one synaptic op per message x nonzero weight.
* **dense ANN**: the same network with every unit sending its activation at every step and every message reaching
  every connection (:func:`dense_counts` of the threshold-0 SDNN's counts): the ANN run frame by frame on Loihi with
  graded messages, zero activations included. Its messages equal ``conversion_report``'s ``dense_messages``.
* **SNN** (``nk.models.rate_snn``, binary spikes ``[T_snn, N, ...]``): the events counted from its run, one spike
  delivery per spike, one synaptic op per spike x nonzero weight.

``messages`` of a row: what its neuron rows send per inference, the input layer included and the read-out excluded
(the SDNN's ``nk.neurons.Sigma`` and the SNN's linear read-out send nothing further): the nonzero graded messages of
every ``nk.SigmaDelta``, or the spikes of every spiking neuron. ``energy_j`` is the report's total (dynamic +
static: chips x static power x the modelled time of the run), ``dynamic_j`` the total without the static share.

Example::

    >>> rows = compare_sdnn_snn(ann, images, labels, snn, snn_spikes, thresholds=(0.0, 0.25), T=4)
    >>> [(r["model"], r["messages"], r["energy_j"]) for r in rows]
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torch import nn

from neurokit.models import ann_to_sdnn

from .counting import EnergyError, EventCounts, count_events
from .estimate import estimate
from .report import EnergyReport

__all__ = ["dense_counts", "loihi_summary", "compare_sdnn_snn"]


def dense_counts(counts: EventCounts) -> EventCounts:
    """The events of the graded network behind ``counts`` run densely: every neuron row sends a message from every
    unit at every step (``spikes = active = updates``, payload ``spikes x message_bits``) and every synapse row does
    one op per in-bounds connection (``mac = dense``, ``ac = 0``, every input element nonzero).

    Raises :class:`EnergyError` for a neuron row that is not graded (``message_bits == 0``: a binary spiking layer,
    whose dense counterpart is not defined here).

    Example: ``estimate(dense_counts(count_events(ann_to_sdnn(ann, 0.0), frames)), "loihi2").total_j``.
    """
    layers = []
    for lc in counts.layers:
        if lc.kind in ("synapse", "product"):
            lc = replace(lc, ac=np.zeros_like(lc.ac), mac=lc.dense.copy(), in_nnz=lc.in_numel.copy())
        elif lc.kind == "neuron":
            if not lc.message_bits:
                raise EnergyError(f"dense_counts: layer {lc.name!r} ({lc.op}) sends binary spikes; dense counts are "
                                  "defined for graded (sigma-delta) layers only")
            sent = lc.updates.copy()
            lc = replace(lc, spikes=sent, active=lc.updates.copy(), payload_bits=sent * float(lc.message_bits))
        layers.append(lc)
    return EventCounts(layers, counts.steps, counts.batch, list(counts.notes))


def loihi_summary(report: EnergyReport, readout_ops=("Sigma",)) -> dict:
    """Per-inference figures of a ``"loihi2"`` report: ``messages`` (spikes of its neuron rows whose op is not in
    ``readout_ops``), ``synops``, ``energy_j`` (total) and ``dynamic_j`` (total minus static).

    Example: ``loihi_summary(nk.energy(sdnn, frames, "loihi2"))["messages"]``.
    """
    rows = report.per_layer
    messages = sum(r["spikes"] for r in rows if r["kind"] == "neuron" and r["op"] not in readout_ops)
    static = sum(r["static"] for r in rows)
    return {"messages": float(messages), "synops": float(sum(r["synops"] for r in rows)),
            "energy_j": float(report.total_j), "dynamic_j": float(report.total_j - static)}


def _accuracy(out: torch.Tensor, labels: torch.Tensor) -> float:
    return float((out.argmax(-1) == labels).float().mean())


def _counted(model: nn.Module, x: torch.Tensor) -> tuple[EventCounts, torch.Tensor]:
    """:func:`count_events` of ``model`` on ``x`` and the output of that same run (one forward pass)."""
    out = []
    handle = model.register_forward_hook(lambda _m, _i, y: out.append(y))
    try:
        counts = count_events(model, x)
    finally:
        handle.remove()
    return counts, out[0]


def compare_sdnn_snn(ann: nn.Sequential, images: torch.Tensor, labels: torch.Tensor, snn: nn.Module,
                     snn_spikes: torch.Tensor, thresholds, T: int = 4, scale=None) -> list[dict]:
    """Accuracy, messages, synaptic ops and Loihi energy per inference of the dense ANN, its SDNN at each threshold
    and the rate-coded ``snn`` on the same test images (module docstring for the rules).

    Args:
        ann: the trained ReLU ANN (sample-major); images ``[N, *input shape]``, labels ``[N]``.
        snn: the trained SNN, ``[T_snn, N, ...] -> [T_snn, N, n_out]``, predicting the argmax of its time-mean
            output; snn_spikes: the same images rate-coded, ``[T_snn, N, *input shape]`` binary.
        thresholds: SDNN thresholds; T: steps each image is shown to the ANN / SDNN; scale: SDNN message quantization.

    Returns:
        rows ``{"model": "ANN (dense)" | "SDNN" | "SNN (rate)", "threshold" (None but for SDNN), "T", "accuracy",
        "messages", "synops", "energy_j", "dynamic_j"}``, per inference; the SDNN's accuracy is the argmax of its
        last step.

    Example::

        >>> rows = compare_sdnn_snn(ann, x, y, snn, spikes, thresholds=(0.0, 0.5), T=2)
        >>> rows[0]["model"], rows[-1]["model"]
        ('ANN (dense)', 'SNN (rate)')
    """
    if snn_spikes.shape[1] != images.shape[0] or images.shape[0] != labels.shape[0]:
        raise ValueError(f"images {tuple(images.shape)}, labels {tuple(labels.shape)} and snn_spikes "
                         f"{tuple(snn_spikes.shape)} (dim 1) must hold the same number of samples")
    frames = images.unsqueeze(0).expand(T, *images.shape).contiguous()
    with torch.no_grad():
        ann_acc = _accuracy(ann(images), labels)
        dense = dense_counts(count_events(ann_to_sdnn(ann, 0.0, scale=None), frames))
        rows = [{"model": "ANN (dense)", "threshold": None, "T": T, "accuracy": ann_acc,
                 **loihi_summary(estimate(dense, "loihi2"))}]
        for th in thresholds:
            counts, out = _counted(ann_to_sdnn(ann, th, scale=scale), frames)
            rows.append({"model": "SDNN", "threshold": float(th), "T": T, "accuracy": _accuracy(out[-1], labels),
                         **loihi_summary(estimate(counts, "loihi2"))})
        counts, out = _counted(snn, snn_spikes)
        rows.append({"model": "SNN (rate)", "threshold": None, "T": int(snn_spikes.shape[0]),
                     "accuracy": _accuracy(out.mean(0), labels), **loihi_summary(estimate(counts, "loihi2"))})
    return rows
