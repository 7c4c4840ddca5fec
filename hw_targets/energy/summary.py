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
from .plots import plot_targets
from .render import print_reports
from .report import EnergyReport

__all__ = ["demo_model", "energy_reports", "energy_table", "reports_markdown", "run_energy_command",
           "write_plots"]


def energy_reports(model_or_cm, x: torch.Tensor, targets: Sequence[str] | None = None,
                   stepwise: bool = False) -> dict[str, EnergyReport]:
    """``{target: EnergyReport}`` for ``targets`` (default: every cost table), one counting run per target.

    Example::

        >>> sorted(energy_reports(model, x))
        ['cmos45', 'gpu', 'loihi2', 'onnx_int']
    """
    return {t: energy(model_or_cm, x, t, stepwise=stepwise) for t in (targets or sorted(TABLES))}


def write_plots(reports: dict[str, EnergyReport], plot: str | os.PathLike, title: str | None = None) -> list[Path]:
    """Write ``energy_<target>.png`` per target and, for several targets, ``energy_targets.png`` (every target side
    by side) into the folder ``plot``; for one target ``plot`` may be a ``.png`` file name. Returns the paths.

    Example::

        >>> [p.name for p in write_plots(energy_reports(model, x), "energy/", title="conv SNN")]
        ['energy_cmos45.png', 'energy_gpu.png', 'energy_loihi2.png', 'energy_onnx_int.png', 'energy_targets.png']
    """
    plot = Path(plot)
    if len(reports) == 1 and plot.suffix.lower() == ".png":
        (rep,) = reports.values()
        return [rep.plot(plot, title)]
    files = [rep.plot(plot / f"energy_{name}.png", title) for name, rep in reports.items()]
    if len(reports) > 1:
        files.append(plot_targets(reports, plot / "energy_targets.png", title))
    return files


def energy_table(model_or_cm, x: torch.Tensor, targets: Sequence[str] | None = None,
                 plot_dir: str | os.PathLike | None = None, stepwise: bool = False, title: str | None = None) -> str:
    """Markdown: one row per target (µJ per inference, compute / memory / static shares, basis), then the
    assumptions of each target. With ``plot_dir`` also writes the figures of :func:`write_plots` (atomically),
    titled with ``title`` (e.g. the model and data).

    Example::

        >>> print(energy_table(model, x).splitlines()[2])
        | cmos45 | paper | 0.1234 | 100.0 % | 0.0 % | 0.0 % | estimate |
    """
    reports = energy_reports(model_or_cm, x, targets, stepwise)
    if plot_dir is not None:
        write_plots(reports, plot_dir, title)
    return reports_markdown(reports)


def reports_markdown(reports: dict[str, EnergyReport]) -> str:
    """The Markdown of :func:`energy_table` for reports already computed (one row per target, then assumptions).

    Example::

        >>> reports_markdown(energy_reports(model, x)).splitlines()[0]
        '| target | accounting | µJ / inference | compute | memory | static | basis |'
    """
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
                       plot: str | os.PathLike | None = None, per_layer: bool = False, title: str | None = None,
                       console=None) -> list[Path]:
    """What ``neurokit energy MODEL --target T [--plot PATH] [--per-layer]`` does: print rich tables
    (:func:`hw_targets.energy.render.print_reports`) and, with ``plot``, write the figures of :func:`write_plots`
    and name them. ``targets=None`` means every target. Returns the files written.

    Example::

        >>> run_energy_command(*demo_model(), targets=["loihi2"], plot="energy.png")
        [PosixPath('energy.png')]
    """
    from rich.console import Console

    console = console or Console(highlight=False, soft_wrap=True)
    reports = energy_reports(model_or_cm, x, list(targets or sorted(TABLES)))
    print_reports(reports, per_layer=per_layer, title=f"{title}: energy per inference (µJ)" if title else None,
                  console=console)
    files = write_plots(reports, plot, title) if plot is not None else []
    for path in files:
        console.print(f"wrote {path.resolve()}")
    return files
