"""EnergyReport: joules per inference, per-layer breakdown, compute / memory / static shares, assumptions.

Components of every layer row (J per inference): ``synaptic`` and ``neuron`` (compute), ``memory`` and ``traffic``
(memory and spike movement), ``static`` (leakage x time; a separate ``(static)`` row).

Example::

    >>> rep = nk.energy(net, x, target="loihi2")
    >>> rep.total_j, rep.shares                         # {'compute': ..., 'memory': ..., 'static': ...}
    >>> print(rep.to_markdown()); rep.plot("energy.png")
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .cost_tables import CostTable

__all__ = ["COMPONENTS", "SHARE_GROUPS", "EnergyReport"]

COMPONENTS = ("synaptic", "neuron", "memory", "traffic", "static")
SHARE_GROUPS = {"compute": ("synaptic", "neuron"), "memory": ("memory", "traffic"), "static": ("static",)}


@dataclass
class EnergyReport:
    """Energy per inference of one model on one target.

    ``per_layer``: list of rows ``{"name", "op", "kind", <component>: J, "total": J, "synops", "spikes"}``;
    counts in a row are per inference. ``table``: the :class:`CostTable` applied; ``measured``: True only when the
    total comes from a power measurement (NVML) rather than a model.
    """

    target: str
    total_j: float
    per_layer: list[dict]
    assumptions: list[str]
    table: CostTable
    accounting: str
    steps: int
    batch: int
    measured: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def shares(self) -> dict[str, float]:
        """Fractions of the total that are compute, memory (incl. spike traffic) and static (sum to 1)."""
        sums = {g: sum(row[c] for row in self.per_layer for c in comps) for g, comps in SHARE_GROUPS.items()}
        total = sum(sums.values())
        return {g: (v / total if total else 0.0) for g, v in sums.items()}

    def component_totals(self) -> dict[str, float]:
        """J per inference of each component, summed over layers."""
        return {c: sum(row[c] for row in self.per_layer) for c in COMPONENTS}

    def to_dict(self) -> dict:
        """JSON-ready dict: totals, shares, per-layer rows, assumptions and every constant with its source.

        Example::

            >>> json.dumps(rep.to_dict())
        """
        return {"target": self.target, "total_j": self.total_j, "accounting": self.accounting,
                "measured": self.measured, "steps": self.steps, "batch": self.batch, "shares": self.shares,
                "components_j": self.component_totals(), "per_layer": [dict(r) for r in self.per_layer],
                "assumptions": list(self.assumptions), "cost_table": self.table.to_dict(), **self.extra}

    def to_markdown(self) -> str:
        """A Markdown table (µJ per inference per layer and component) with shares and assumptions.

        Example::

            >>> print(rep.to_markdown().splitlines()[0])
            ### Energy per inference on `loihi2`: 1.234 µJ (estimate)
        """
        kind = "measured" if self.measured else "estimate"
        lines = [f"### Energy per inference on `{self.target}`: {_uj(self.total_j)} µJ ({kind}, "
                 f"{self.accounting} accounting, T={self.steps})", "",
                 "| layer | op | synaptic µJ | neuron µJ | memory µJ | traffic µJ | static µJ | total µJ |",
                 "|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in self.per_layer:
            lines.append(f"| {r['name']} | {r['op']} | " + " | ".join(_uj(r[c]) for c in COMPONENTS)
                         + f" | {_uj(r['total'])} |")
        tot = self.component_totals()
        lines.append("| **total** | | " + " | ".join(_uj(tot[c]) for c in COMPONENTS) + f" | **{_uj(self.total_j)}** |")
        sh = self.shares
        lines += ["", "Shares: " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in sh.items()), "", "Assumptions:"]
        lines += [f"- {a}" for a in self.assumptions]
        return "\n".join(lines)

    def plot(self, path: str | os.PathLike, title: str | None = None) -> Path:
        """Stacked bar per layer (one colour per component; static energy in its own panel), titled with ``title``
        (e.g. the model and data) and the target, written atomically as PNG; returns the path
        (:func:`hw_targets.energy.plots.plot_layers`).

        Example::

            >>> rep.plot("energy.png", title="binary MLP, digits")
            PosixPath('energy.png')
        """
        from .plots import plot_layers

        return plot_layers(self, path, title)


def _uj(j: float) -> str:
    return f"{j * 1e6:.4g}"
