"""The honest comparison: an SNN against a quantized ANN of equal accuracy on the same task.

Both networks are counted on real runs (:func:`count_events`) and costed with the same table. By default that is
event-driven 45 nm CMOS with **integer** arithmetic at ``bits`` (Horowitz 2014): an SNN synaptic event is an INT32
accumulate of a ``bits``-wide weight (0.1 pJ), a QNN synaptic op an integer MAC (0.3 pJ at 8 bits), plus neuron
updates and SRAM bits (cf. Yan et al., arXiv 2409.08290, loihi_nir.md §3.4). ``bits=None`` keeps the table's own
constants (cmos45: the FP32 0.9 / 4.6 pJ paper convention).

The SNN's energy as a function of firing rate is obtained by scaling its *measured* spike-driven counts (ACs,
input spikes, emitted spikes, active updates) by ``rate / measured_rate``, keeping their measured distribution over
layers and steps; the break-even rate is where it equals the QNN's measured energy.

Example::

    >>> tab = compare_snn_qnn(snn, x_spikes, qnn, x_static, snn_accuracy=0.91, qnn_accuracy=0.91)
    >>> tab.break_even_rate, print(tab.to_markdown())
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .cost_tables import INT32_ADD, INT32_MULT, Cost, CostTable, get_table, int_mac_cost
from .counting import EnergyError, EventCounts, count_events
from .estimate import estimate

__all__ = ["ComparisonTable", "compare_snn_qnn", "integer_table", "scale_activity"]


@dataclass
class ComparisonTable:
    """Rows ``{"firing_rate", "snn_j", "qnn_j", "snn_over_qnn"}``; ``break_even_rate`` (None: see ``verdict``)."""

    table: str
    accounting: str
    measured_rate: float
    snn_j: float
    qnn_j: float
    break_even_rate: float | None
    verdict: str
    rows: list[dict]
    snn_accuracy: float | None = None
    qnn_accuracy: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    def to_markdown(self) -> str:
        """Markdown table: energy per inference of the SNN at each firing rate vs the QNN.

        Example::

            >>> print(tab.to_markdown().splitlines()[0])
        """
        acc = ""
        if self.snn_accuracy is not None or self.qnn_accuracy is not None:
            acc = f" (accuracy: SNN {self.snn_accuracy}, QNN {self.qnn_accuracy})"
        lines = [f"### SNN vs quantized ANN on `{self.table}` ({self.accounting}){acc}", "",
                 f"Measured SNN firing rate {100 * self.measured_rate:.2f} %: SNN {self.snn_j * 1e6:.4g} µJ, "
                 f"QNN {self.qnn_j * 1e6:.4g} µJ per inference. {self.verdict}", "",
                 "| firing rate | SNN µJ | QNN µJ | SNN / QNN |", "|---:|---:|---:|---:|"]
        for r in self.rows:
            tag = " (measured)" if r.get("measured") else ""
            lines.append(f"| {100 * r['firing_rate']:.2f} %{tag} | {r['snn_j'] * 1e6:.4g} | {r['qnn_j'] * 1e6:.4g} | "
                         f"{r['snn_over_qnn']:.3g} |")
        lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)


def integer_table(base: CostTable, bits: int) -> CostTable:
    """``base`` with integer op costs at ``bits``: AC = INT32 add, MAC = integer MAC, neuron = INT32 mult + 3 adds.

    Example::

        >>> integer_table(get_table("cmos45"), 8)["mac"].value
        3e-13
    """
    costs = dict(base.costs)
    costs["ac"] = Cost(INT32_ADD.value, f"J per accumulate of an INT{bits} weight into INT32", INT32_ADD.source,
                       INT32_ADD.node)
    costs["mac"] = int_mac_cost(bits)
    costs["neuron_update"] = Cost(INT32_MULT.value + 3 * INT32_ADD.value, "J per integer neuron state update",
                                  INT32_MULT.source + ": INT32 mult + 3 INT32 adds", INT32_MULT.node)
    return dataclasses.replace(base, name=f"{base.name}", costs=MappingProxyType(costs),
                               description=base.description + f"; integer ops at {bits} bits")


def _with_bits(counts: EventCounts, bits: int) -> EventCounts:
    out = copy.deepcopy(counts)
    for lc in out.layers:
        if lc.kind in ("synapse", "product"):
            lc.weight_bits = bits if lc.kind == "synapse" else 0
            lc.act_bits = bits
        elif lc.kind == "neuron":
            lc.state_bits = 32
    return out


def scale_activity(counts: EventCounts, factor: float) -> EventCounts:
    """A copy of ``counts`` with every spike-driven count scaled by ``factor`` (ACs and input events of spike-fed
    layers, emitted spikes, active updates capped at the update count). MACs and dense counts do not change.

    Example::

        >>> scale_activity(counts, 2.0).per_sample("spikes") == 2 * counts.per_sample("spikes")
        True
    """
    out = copy.deepcopy(counts)
    for lc in out.layers:
        if lc.kind in ("synapse", "product"):
            spk = lc.spiking_input
            lc.ac = lc.ac * factor
            lc.in_nnz = np.where(spk, np.minimum(lc.in_nnz * factor, lc.in_numel), lc.in_nnz)
        elif lc.kind == "neuron":
            lc.spikes = np.minimum(lc.spikes * factor, lc.updates)
            lc.active = np.minimum(lc.active * factor, lc.updates)
    return out


def compare_snn_qnn(snn, x_snn, qnn, x_qnn, target: str = "cmos45", accounting: str | None = "event",
                    bits: int | None = 8, rates: Sequence[float] = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
                    snn_accuracy: float | None = None, qnn_accuracy: float | None = None,
                    accuracy_tolerance: float = 0.01) -> ComparisonTable:
    """At what firing rate does the SNN stop paying against a quantized ANN of equal accuracy?

    Args:
        snn, x_snn: the spiking model and its time-major input ``[T, B, ...]``.
        qnn, x_qnn: the quantized (or float, costed at ``bits``) ANN and its input ``[1, B, ...]`` (one step).
        target, accounting: the cost table both are costed with (default event-driven cmos45).
        bits: integer width of weights/activations for both (None: the table's own constants).
        rates: firing rates to tabulate besides the measured one.
        snn_accuracy, qnn_accuracy: stated in the table; a gap above ``accuracy_tolerance`` is flagged.

    Returns: :class:`ComparisonTable`. Raises :class:`EnergyError` if the SNN has no neuron layer or no spikes.

    Example::

        >>> tab = compare_snn_qnn(snn, x, qnn, x[:1])
        >>> tab.break_even_rate                          # e.g. 0.043: the SNN pays below 4.3 % firing
    """
    table = get_table(target)
    snn_counts, qnn_counts = count_events(snn, x_snn), count_events(qnn, x_qnn)
    rate = snn_counts.firing_rate()
    if not snn_counts.of_kind("neuron"):
        raise EnergyError("compare_snn_qnn: the SNN has no spiking neuron layer")
    if rate == 0.0:
        raise EnergyError("compare_snn_qnn: the SNN emitted no spikes on x_snn; the rate curve cannot be scaled "
                          "from a run without activity")
    if bits is not None:
        table = integer_table(table, bits)
        snn_counts, qnn_counts = _with_bits(snn_counts, bits), _with_bits(qnn_counts, bits)

    def cost(counts):
        return estimate(counts, table, accounting).total_j

    qnn_j = cost(qnn_counts)
    snn_at = lambda r: cost(scale_activity(snn_counts, r / rate))
    snn_j = cost(snn_counts)
    rows = [{"firing_rate": r, "snn_j": snn_at(r), "qnn_j": qnn_j, "measured": False} for r in rates]
    rows.append({"firing_rate": rate, "snn_j": snn_j, "qnn_j": qnn_j, "measured": True})
    rows.sort(key=lambda r: r["firing_rate"])
    for r in rows:
        r["snn_over_qnn"] = r["snn_j"] / qnn_j if qnn_j else float("inf")
    lo, hi = 0.0, 1.0
    if snn_at(lo) >= qnn_j:
        be, verdict = None, "The SNN costs more than the QNN even with no spikes at all (fixed costs dominate)."
    elif snn_at(hi) <= qnn_j:
        be, verdict = None, "The SNN costs less than the QNN even if every neuron fires at every step."
    else:
        for _ in range(50):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if snn_at(mid) < qnn_j else (lo, mid)
        be = (lo + hi) / 2
        verdict = (f"The SNN pays below a firing rate of {100 * be:.2f} % "
                   f"({'it does at the measured rate' if rate < be else 'it does not at the measured rate'}).")
    notes = [f"SNN T={snn_counts.steps}; both costed per inference with {table.name} ({accounting}"
             + (f", integer ops at {bits} bits" if bits else "") + ")",
             "rates other than the measured one scale the measured spike-driven counts linearly"]
    if snn_accuracy is not None and qnn_accuracy is not None and abs(snn_accuracy - qnn_accuracy) > accuracy_tolerance:
        notes.append(f"WARNING: accuracies differ by {abs(snn_accuracy - qnn_accuracy):.3f} (> {accuracy_tolerance});"
                     " the comparison assumes equal accuracy")
    return ComparisonTable(table.name, accounting or table.accounting, rate, snn_j, qnn_j, be, verdict, rows,
                           snn_accuracy, qnn_accuracy, notes)
