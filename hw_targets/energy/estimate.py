"""Apply a target's cost table to measured event counts: ``energy(model_or_cm, x, target)`` -> EnergyReport.

Energy per inference = sum over layers of measured events x cost per event (+ static power x time where the
target has it), divided by the batch size. The accounting rules per table are documented in
:mod:`.cost_tables`; every rule below reads only measured counts (:mod:`.counting`).

Example::

    >>> rep = energy(nn.Sequential(nn.Linear(4, 3), nk.LIF()), (torch.rand(5, 2, 4) > 0.5).float(), "cmos45")
    >>> rep.total_j > 0
    True
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .cost_tables import CostTable, get_table, int_mac_cost
from .counting import EnergyError, EventCounts, LayerCounts, count_events
from .report import COMPONENTS, EnergyReport

__all__ = ["ACCOUNTINGS", "energy", "estimate"]

# Which accountings each table supports (the first is its default).
ACCOUNTINGS = {"cmos45": ("paper", "event"), "loihi2": ("neuromorphic",), "onnx_int": ("dense",),
               "gpu": ("roofline",)}

_EVENT_ASSUMPTIONS = (
    "event-driven 45 nm CMOS: effective synaptic ops (zero inputs and zero weights skipped), FP32 AC 0.9 pJ / "
    "MAC 4.6 pJ, neuron update per state variable = 1 FP32 mult + 2 FP32 adds",
    "SRAM bits (10/64 pJ per bit, 8 KB cache): one weight read per effective synaptic op; the input map read "
    "once per step (1 bit per spike element, the dtype width for real values); membrane state read and written "
    "per update; 1 bit written per neuron output",
)


def _row(lc: LayerCounts, batch: int, **comps: float) -> dict:
    row = {"name": lc.name, "op": lc.op, "kind": lc.kind}
    row.update({c: float(comps.get(c, 0.0)) / batch for c in COMPONENTS})
    row["total"] = sum(row[c] for c in COMPONENTS)
    row["synops"] = float(lc.synops.sum()) / batch
    row["spikes"] = float(lc.spikes.sum()) / batch
    row["payload_bits"] = float(lc.payload_bits.sum()) / batch if lc.payload_bits is not None else 0.0
    return row


def _is_syn(lc: LayerCounts) -> bool:
    return lc.kind in ("synapse", "product")


def _paper(counts: EventCounts, t: CostTable) -> list[dict]:
    """Paper convention: encoder layers (real input, before the first neuron) are MACs = FLOPs; every other
    synaptic layer costs SOP = input non-zero rate x FLOPs accumulates."""
    first_neuron = min((lc.first_call for lc in counts.of_kind("neuron")), default=math.inf)
    rows = []
    for lc in counts.layers:
        if not _is_syn(lc):
            rows.append(_row(lc, counts.batch))
            continue
        mac_steps = ~lc.spiking_input if lc.first_call < first_neuron else np.zeros_like(lc.spiking_input)
        macs = lc.flops[mac_steps][:1].sum() if lc.repeated_input else lc.flops[mac_steps].sum()
        rate = np.divide(lc.in_nnz, lc.in_numel, out=np.zeros_like(lc.in_nnz), where=lc.in_numel > 0)
        sops = (rate * lc.flops)[~mac_steps].sum()
        rows.append(_row(lc, counts.batch, synaptic=macs * t["mac"].value + sops * t["ac"].value))
    return rows


def _event(counts: EventCounts, t: CostTable) -> list[dict]:
    rows, bit = [], t["mem_bit"].value
    for lc in counts.layers:
        if _is_syn(lc):
            spk = lc.spiking_input
            in_bits = lc.in_numel[spk].sum() * 1 + lc.in_numel[~spk].sum() * lc.act_bits
            mem = lc.synops.sum() * lc.weight_bits + in_bits
            syn = lc.ac.sum() * t["ac"].value + lc.mac.sum() * t["mac"].value
            rows.append(_row(lc, counts.batch, synaptic=syn, memory=mem * bit))
        else:
            upd = lc.updates.sum()
            mem = 2 * upd * lc.state_vars * lc.state_bits + upd
            rows.append(_row(lc, counts.batch, neuron=upd * lc.state_vars * t["neuron_update"].value,
                             memory=mem * bit))
    return rows


def _neuromorphic(counts: EventCounts, t: CostTable, info: dict) -> list[dict]:
    rows = []
    spike_j = t["spike_tile"].value + t["hops_per_spike"].value * t["hop"].value
    work = np.zeros(counts.steps)                                      # seconds of core work per step (batch)
    for lc in counts.layers:
        if _is_syn(lc):
            rows.append(_row(lc, counts.batch, synaptic=lc.synops.sum() * t["synop"].value))
            work += lc.synops * t["t_synop"].value
        else:
            idle = lc.updates - lc.active
            rows.append(_row(lc, counts.batch,
                             neuron=lc.active.sum() * t["neuron_active"].value + idle.sum() * t["neuron_idle"].value,
                             traffic=lc.spikes.sum() * spike_j))
            work += lc.active * t["t_neuron_active"].value + idle * t["t_neuron_idle"].value
    neurons = sum(float(lc.updates.sum()) for lc in counts.of_kind("neuron", "activation"))
    neurons /= counts.steps * counts.batch
    cores = info.get("cores") or max(1, math.ceil(neurons / t["neurons_per_core"].value))
    chips = math.ceil(cores / t["cores_per_chip"].value)
    step_s = t["t_barrier"].value + work / counts.batch / cores
    static = chips * t["static_w"].value * float(step_s.sum())
    info.update(cores=cores, chips=chips, time_per_inference_s=float(step_s.sum()))
    rows.append({"name": "(static)", "op": "static", "kind": "static", **{c: 0.0 for c in COMPONENTS},
                 "static": static, "total": static, "synops": 0.0, "spikes": 0.0, "payload_bits": 0.0})
    return rows


def _dense(counts: EventCounts, t: CostTable, info: dict) -> list[dict]:
    rows, bit = [], t["mem_bit"].value
    act_bits = info.get("act_bits", int(t["act_bits"].value))
    for lc in counts.layers:
        steps_run = float((lc.in_numel > 0).sum() if _is_syn(lc) else (lc.updates > 0).sum())
        if _is_syn(lc):
            wbits = info.get("weight_bits", {}).get(lc.name, 8)
            mac = int_mac_cost(wbits if lc.kind == "synapse" else act_bits).value
            mem = (lc.weight_words * wbits * steps_run * counts.batch
                   + (lc.in_numel.sum() + lc.out_numel.sum()) * act_bits)
            rows.append(_row(lc, counts.batch, synaptic=lc.dense.sum() * mac, memory=mem * bit))
        else:
            upd = lc.updates.sum()
            sbits = info.get("state_bits", 32)
            mem = 2 * upd * lc.state_vars * sbits + 2 * upd * act_bits
            rows.append(_row(lc, counts.batch, neuron=upd * lc.state_vars * t["neuron_update"].value,
                             memory=mem * bit))
    return rows


def _roofline(counts: EventCounts, t: CostTable) -> list[dict]:
    rows = []
    peak, bw, power = t["peak_flops"].value, t["bandwidth"].value, t["board_power"].value
    for lc in counts.layers:
        act_bytes = lc.act_bits / 8
        if _is_syn(lc):
            flops = 2 * lc.dense.sum()
            nbytes = lc.weight_words * lc.weight_bits / 8 * lc.calls + (lc.in_numel.sum()
                                                                        + lc.out_numel.sum()) * act_bytes
        else:
            flops = lc.updates.sum() * max(lc.state_vars, 1) * t["neuron_flops"].value
            nbytes = 2 * lc.updates.sum() * act_bytes
        tc, tm = flops / peak, nbytes / bw
        comp = "synaptic" if _is_syn(lc) else "neuron"
        rows.append(_row(lc, counts.batch, **{comp: power * tc, "memory": power * max(tm - tc, 0.0)}))
    return rows


def estimate(counts: EventCounts, target: str | CostTable = "cmos45", accounting: str | None = None,
             info: dict | None = None) -> EnergyReport:
    """Cost measured ``counts`` with the table of ``target``.

    Args:
        counts: from :func:`count_events` (or a compiled model's run).
        target: ``"cmos45" | "loihi2" | "onnx_int" | "gpu"`` or a :class:`CostTable` (e.g. a derived one).
        accounting: override the table's default (cmos45: ``"paper"`` or ``"event"``).
        info: target facts known from a compiled model (``cores``, ``weight_bits`` per layer, ``act_bits``,
            ``state_bits``); defaults are stated in the assumptions.

    Raises: :class:`EnergyError` for an unknown target/accounting, or a spiking target on a model with no spiking
    neuron layer.

    Example::

        >>> estimate(count_events(net, x), "loihi2").total_j
    """
    table = target if isinstance(target, CostTable) else get_table(target)
    allowed = ACCOUNTINGS.get(table.name, (table.accounting,))
    accounting = accounting or allowed[0]
    if accounting not in allowed:
        raise EnergyError(f"target {table.name!r} supports accounting {allowed}, not {accounting!r}")
    info = dict(info or {})
    has_neurons = bool(counts.of_kind("neuron"))
    if table.spiking and not has_neurons:
        raise EnergyError(f"target {table.name!r} costs spikes and neuron updates, but the model has no spiking neuron "
                          f"layer (found: {sorted({lc.op for lc in counts.layers})}); use target 'cmos45', "
                          "'onnx_int' or 'gpu' for a non-spiking network")
    assumptions = list(table.assumptions if accounting == table.accounting else _EVENT_ASSUMPTIONS)
    if not has_neurons:
        assumptions.append("no spiking neuron layer found: costed as a non-spiking network (real-valued "
                           "synaptic inputs are MACs)")
    if accounting == "paper":
        rows = _paper(counts, table)
    elif accounting == "event":
        rows = _event(counts, table)
    elif accounting == "neuromorphic":
        rows = _neuromorphic(counts, table, info)
    elif accounting == "dense":
        rows = _dense(counts, table, info)
    else:
        rows = _roofline(counts, table)
    total = sum(r["total"] for r in rows)
    if total == 0.0:
        assumptions.append("WARNING: the run produced no costed events (no input spikes reached a synapse); "
                           "the zero is measured, not a default")
    if accounting == "paper":
        assumptions += counts.notes
    extra = {"counts": {"synops": counts.synops(), "activation_sparsity": counts.activation_sparsity(),
                        "firing_rate": counts.firing_rate()}, "target_info": info}
    return EnergyReport(table.name, total, rows, assumptions, table, accounting, counts.steps, counts.batch,
                        extra=extra)


def energy(model_or_cm, x: torch.Tensor, target: str = "cmos45", *, accounting: str | None = None,
           stepwise: bool = False, measure: bool | None = None) -> EnergyReport:
    """Energy per inference of an eager model or a compiled model on input ``x [T, B, ...]``.

    Counts events from a real run on ``x`` (:func:`count_events`) and applies the cost table of ``target``.
    ``target="gpu"``: with ``measure=None`` it measures with NVML when CUDA and ``pynvml`` are present and otherwise
    returns the roofline estimate (labelled so); ``measure=True`` insists on a measurement, ``False`` on the estimate.

    Args: model_or_cm (``nn.Module``, ``compile.CompiledModel``, or a sigma-delta
    :class:`~hw_targets.loihi2.LoihiNetwork` with its integer input: counted from the Loihi simulator's messages,
    :func:`hw_targets.energy.graded.network_counts`), x, target, accounting (see :func:`estimate`), stepwise (drive a
    step-wise snnTorch net, see :func:`count_events`), measure.

    Returns: :class:`EnergyReport` (``total_j``, ``per_layer``, ``shares``, ``to_dict``, ``to_markdown``,
    ``plot``).

    Example::

        >>> rep = nk.energy(net, x, target="loihi2")
        >>> print(rep.to_markdown())
    """
    get_table(target)
    from .compiled import compiled_counts, is_compiled
    from hw_targets.loihi2.network import LoihiNetwork

    from .graded import network_counts
    if isinstance(model_or_cm, LoihiNetwork):   # a sigma-delta network: the Loihi simulator's messages
        counts, info = network_counts(model_or_cm, x), {}
    elif is_compiled(model_or_cm):
        counts, info = compiled_counts(model_or_cm, x)
    else:
        counts, info = count_events(model_or_cm, x, stepwise=stepwise), {}
    report = estimate(counts, target, accounting, info)
    if target == "gpu":
        from .gpu_measure import maybe_measure
        report = maybe_measure(report, model_or_cm, x, measure)
    return report
