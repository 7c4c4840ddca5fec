"""Rich tables of energy reports for the terminal (what ``neurokit energy`` prints): one summary row per target,
optionally the per-layer table of each target, and each target's assumptions as one line per item.

Example::

    >>> print_reports(energy_reports(model, x), per_layer=True)
"""
from __future__ import annotations

from .report import COMPONENTS, EnergyReport

__all__ = ["summary_table", "layer_table", "print_reports"]


def _uj(j: float) -> str:
    return f"{j * 1e6:.4g}"


def summary_table(reports: dict[str, EnergyReport], title: str | None = None):
    """A ``rich.table.Table``: target, accounting, µJ per inference, compute / memory / static shares, basis.

    Example::

        >>> rich.print(summary_table(energy_reports(model, x)))
    """
    from rich.table import Table

    table = Table(title=title or "energy per inference (µJ)", title_justify="left")
    for col, justify in (("target", "left"), ("accounting", "left"), ("µJ", "right"),
                         ("compute", "right"), ("memory", "right"), ("static", "right"), ("basis", "left")):
        table.add_column(col, justify=justify)
    for name, rep in reports.items():
        sh = rep.shares
        table.add_row(f"[bold]{name}[/bold]", rep.accounting, _uj(rep.total_j), f"{100 * sh['compute']:.1f} %",
                      f"{100 * sh['memory']:.1f} %", f"{100 * sh['static']:.1f} %",
                      "measured" if rep.measured else "estimate")
    return table


def layer_table(rep: EnergyReport):
    """A ``rich.table.Table`` of one report: µJ per inference per layer and component, with a total row.

    Example::

        >>> rich.print(layer_table(nk.energy(model, x, target="loihi2")))
    """
    from rich.table import Table

    table = Table(title=f"{rep.target}: {_uj(rep.total_j)} µJ per inference ({rep.accounting} accounting, "
                        f"T={rep.steps}, {'measured' if rep.measured else 'estimate'})", title_justify="left")
    table.add_column("layer")
    table.add_column("op")
    for comp in (*COMPONENTS, "total"):
        table.add_column(f"{comp} µJ", justify="right")
    for row in rep.per_layer:
        table.add_row(row["name"], row["op"], *(_uj(row[c]) for c in COMPONENTS), _uj(row["total"]))
    totals = rep.component_totals()
    table.add_row("[bold]total[/bold]", "", *(_uj(totals[c]) for c in COMPONENTS), f"[bold]{_uj(rep.total_j)}[/bold]",
                  end_section=True)
    return table


def print_reports(reports: dict[str, EnergyReport], per_layer: bool = False, title: str | None = None,
                  console=None, assumptions: bool = True) -> None:
    """Print the summary table (several targets) or the per-layer table (one target, or ``per_layer``), then the
    assumptions of each target, on ``console`` (default: a stdout console that never breaks a line mid-item).

    Example::

        >>> print_reports({"loihi2": nk.energy(model, x, target="loihi2")})
    """
    from rich.console import Console

    console = console or Console(highlight=False, soft_wrap=True)
    if len(reports) > 1:
        console.print(summary_table(reports, title))
    if per_layer or len(reports) == 1:
        for rep in reports.values():
            console.print(layer_table(rep))
    if assumptions:
        for name, rep in reports.items():
            console.print(f"[bold]{name}[/bold] assumptions:")
            for item in rep.assumptions:
                console.print(f"  - {item}")
