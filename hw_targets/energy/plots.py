"""Energy figures: the per-layer breakdown of one target (static energy in its own panel, so it does not squash the
layer bars) and one side-by-side chart of every target (total per inference on a log axis, and its split into
compute / memory / static).

Example::

    >>> reports = energy_reports(model, x)
    >>> plot_layers(reports["loihi2"], "energy_loihi2.png", title="binary MLP, digits")
    >>> plot_targets(reports, "energy_targets.png", title="binary MLP, digits")
"""
from __future__ import annotations

import os
from pathlib import Path

from neurokit.atomic import atomic_write

from .report import COMPONENTS, SHARE_GROUPS, EnergyReport

__all__ = ["plot_layers", "plot_targets"]

_GROUP_COLOURS = {"compute": "tab:blue", "memory": "tab:orange", "static": "tab:grey"}


def _pyplot():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    plt = _pyplot()
    path = Path(path)
    try:
        atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=120))
    finally:
        plt.close(fig)
    return path


def _kind(rep: EnergyReport) -> str:
    return "measured" if rep.measured else "estimate"


def plot_layers(rep: EnergyReport, path: str | os.PathLike, title: str | None = None) -> Path:
    """Stacked bar per layer (one colour per component, µJ per inference); the static (leakage x time) energy is a
    separate panel on its own scale. Written atomically as PNG; returns the path.

    Example::

        >>> plot_layers(nk.energy(model, x, target="loihi2"), "energy.png", title="delay SNN, delay task")
        PosixPath('energy.png')
    """
    plt = _pyplot()
    layers = [r for r in rep.per_layer if r["kind"] != "static"]
    static_uj = sum(r["static"] for r in rep.per_layer) * 1e6
    names = [f"{r['name']} {r['op']}" for r in layers]
    widths = [max(3.0, 0.6 * len(names) + 1.5), 1.2] if static_uj else [max(3.0, 0.6 * len(names) + 1.5)]
    fig, axes = plt.subplots(1, len(widths), figsize=(sum(widths) + 1.0, 3.8), squeeze=False,
                             gridspec_kw={"width_ratios": widths})
    ax = axes[0, 0]
    bottom = [0.0] * len(names)
    for comp in COMPONENTS:
        vals = [r[comp] * 1e6 for r in layers]
        if any(vals):
            ax.bar(names, vals, bottom=bottom, label=comp)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_ylabel("µJ per inference")
    ax.set_title("per layer", fontsize=8)
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    if names:
        ax.legend(fontsize=7)
    if static_uj:
        side = axes[0, 1]
        side.bar(["static"], [static_uj], color=_GROUP_COLOURS["static"])
        side.set_title("static (own scale)", fontsize=8)
        side.annotate(f"{static_uj:.3g}", (0, static_uj), ha="center", va="bottom", fontsize=7)
        side.tick_params(labelsize=7)
    head = f"{title}: " if title else ""
    fig.suptitle(f"{head}{rep.target}, {rep.total_j * 1e6:.4g} µJ per inference ({_kind(rep)}, T={rep.steps})",
                 fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_targets(reports: dict[str, EnergyReport], path: str | os.PathLike, title: str | None = None) -> Path:
    """One chart of every target side by side: total µJ per inference (log scale, labelled) and the stacked
    compute / memory / static split of each total. Written atomically as PNG; returns the path.

    Example::

        >>> plot_targets(energy_reports(model, x), "energy_targets.png", title="binary MLP, digits")
        PosixPath('energy_targets.png')
    """
    plt = _pyplot()
    names = list(reports)
    totals = [reports[n].total_j * 1e6 for n in names]
    fig, (left, right) = plt.subplots(1, 2, figsize=(4.0 + 1.2 * len(names), 3.6))
    bars = left.bar(names, totals, color="tab:purple")
    left.set_yscale("log")
    left.set_ylabel("µJ per inference (log)")
    left.set_title("total", fontsize=8)
    for bar, value, name in zip(bars, totals, names, strict=True):
        left.annotate(f"{value:.3g}\n({_kind(reports[name])})", (bar.get_x() + bar.get_width() / 2, value),
                      ha="center", va="bottom", fontsize=7)
    left.set_ylim(top=max(totals) * 8 if totals and max(totals) > 0 else None)
    bottom = [0.0] * len(names)
    for group in SHARE_GROUPS:
        vals = [100 * reports[n].shares[group] for n in names]
        right.bar(names, vals, bottom=bottom, label=group, color=_GROUP_COLOURS[group])
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    right.set_ylabel("% of the target's total")
    right.set_ylim(0, 100)
    right.set_title("split", fontsize=8)
    right.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    for ax in (left, right):
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{title + ': ' if title else ''}energy per inference on every target", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)
