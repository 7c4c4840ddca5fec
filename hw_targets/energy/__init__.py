"""Energy per inference: measured event counts x per-target cost tables.

* :func:`energy` (``nk.energy``): ``energy(model_or_cm, x, target="cmos45"|"loihi2"|"onnx_int"|"gpu")`` ->
  :class:`EnergyReport` (``total_j``, ``per_layer``, ``shares``, ``to_dict``, ``to_markdown``, ``plot``).
* :func:`count_events`: per-layer, per-step synaptic ops (AC/MAC/dense), neuron updates, spikes, from a real run.
* :mod:`.cost_tables`: one table per target; every constant with its source and technology node.
* :func:`compare_snn_qnn`: the SNN vs quantized-ANN break-even firing rate, as a table.
* :func:`energy_table`: the Markdown table of one model on every target (what ``neurokit energy`` prints).

Example::

    >>> import neurokit as nk
    >>> rep = nk.energy(net, x, target="loihi2")
    >>> print(rep.to_markdown()); rep.plot("energy.png")
"""
from .compare import ComparisonTable, compare_snn_qnn
from .cost_tables import TABLES, Cost, CostTable, get_table
from .counting import EnergyError, EventCounts, LayerCounts, count_events
from .estimate import energy, estimate
from .report import EnergyReport
from .summary import energy_table

__all__ = [
           "TABLES",
           "ComparisonTable",
           "Cost",
           "CostTable",
           "EnergyError",
           "EnergyReport",
           "EventCounts",
           "LayerCounts",
           "compare_snn_qnn",
           "count_events",
           "energy",
           "energy_table",
           "estimate",
           "get_table",
]
