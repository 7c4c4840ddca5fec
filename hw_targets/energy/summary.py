"""One model on every target: the table ``neurokit energy`` prints, and the demo model of docs/energy.md.

Example::

    >>> model, x = demo_model()
    >>> print(energy_table(model, x, plot_dir="docs/img"))
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from .cost_tables import TABLES
from .estimate import energy
from .report import EnergyReport

__all__ = ["demo_model", "energy_reports", "energy_table", "run_energy_command"]


def energy_reports(model_or_cm, x: torch.Tensor, targets: Sequence[str] | None = None,
                   stepwise: bool = False) -> dict[str, EnergyReport]:
    """``{target: EnergyReport}`` for ``targets`` (default: every cost table), one counting run per target.

    Example::

        >>> sorted(energy_reports(model, x))
        ['cmos45', 'gpu', 'loihi2', 'onnx_int']
    """
    return {t: energy(model_or_cm, x, t, stepwise=stepwise) for t in (targets or sorted(TABLES))}


def energy_table(model_or_cm, x: torch.Tensor, targets: Sequence[str] | None = None,
                 plot_dir: str | os.PathLike | None = None, stepwise: bool = False) -> str:
    """Markdown: one row per target (µJ per inference, compute / memory / static shares, basis), then the
    assumptions of each target. With ``plot_dir`` also writes ``energy_<target>.png`` per target (atomically).

    Example::

        >>> print(energy_table(model, x).splitlines()[2])
        | cmos45 | paper | 0.1234 | 100.0 % | 0.0 % | 0.0 % | estimate |
    """
    reports = energy_reports(model_or_cm, x, targets, stepwise)
    if plot_dir is not None:
        for name, rep in reports.items():
            rep.plot(Path(plot_dir) / f"energy_{name}.png")
    return _table(reports)


def _table(reports: dict[str, EnergyReport]) -> str:
    lines = ["| target | accounting | µJ / inference | compute | memory | static | basis |",
             "|---|---|---:|---:|---:|---:|---|"]
    for name, rep in reports.items():
        sh = rep.shares
        lines.append(f"| {name} | {rep.accounting} | {rep.total_j * 1e6:.4g} | {100 * sh['compute']:.1f} % | "
                     f"{100 * sh['memory']:.1f} % | {100 * sh['static']:.1f} % | "
                     f"{'measured' if rep.measured else 'estimate'} |")
    for name, rep in reports.items():
        lines += ["", f"**{name}** assumptions:"] + [f"- {a}" for a in rep.assumptions]
    return "\n".join(lines)


def demo_model(seed: int = 0, steps: int = 4, batch: int = 2) -> tuple[nn.Module, torch.Tensor]:
    """A small conv SNN (real-valued 2x16x16 frames in, 10 outputs) and a time-major input ``[steps, batch, ...]``.

    The weights are random (seeded) and the input is a fixed random frame repeated over time: the table shows the
    cost structure of the architecture, not a trained model's activity.

    Example::

        >>> model, x = demo_model()
        >>> model(x).shape
        torch.Size([4, 2, 10])
    """
    import neurokit as nk

    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(
        nk.layers.Conv2d(2, 8, 3, padding=1), nk.LIF(v_threshold=0.3), nk.layers.MaxPool2d(2),
        nk.layers.Conv2d(8, 16, 3, padding=1), nk.LIF(v_threshold=0.3), nk.layers.MaxPool2d(2),
        nk.layers.Flatten(), nn.Linear(16 * 4 * 4, 64), nk.LIF(v_threshold=0.3), nn.Linear(64, 10), nk.LIF(),
    ).eval()
    frame = torch.rand(1, batch, 2, 16, 16, generator=g)
    return model, frame.expand(steps, -1, -1, -1, -1).contiguous()


def run_energy_command(model_or_cm, x: torch.Tensor, targets: Sequence[str] | None = None,
                       plot: str | os.PathLike | None = None, per_layer: bool = False) -> str:
    """What ``neurokit energy MODEL --target T [--plot PATH] [--per-layer]`` prints.

    ``targets=None`` means every target; ``plot`` writes one PNG per target (``PATH`` is a directory when several
    targets are given, a file for one target); ``per_layer`` appends each target's per-layer table.

    Example::

        >>> print(run_energy_command(*demo_model(), targets=["loihi2"], plot="energy.png"))
    """
    targets = list(targets or sorted(TABLES))
    reports = energy_reports(model_or_cm, x, targets)
    out = [_table(reports)] if len(targets) > 1 else [reports[targets[0]].to_markdown()]
    if per_layer and len(targets) > 1:
        out += [rep.to_markdown() for rep in reports.values()]
    if plot is not None:
        for name, rep in reports.items():
            rep.plot(Path(plot) / f"energy_{name}.png" if len(targets) > 1 else plot)
    return "\n\n".join(out)
