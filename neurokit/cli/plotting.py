"""Figures for the docs: surrogate shapes."""
from __future__ import annotations


import torch

from .. import surrogate as _surrogate
from ..atomic import atomic_savefig


def plot_surrogates(path: str) -> str:
    """Plot every surrogate's primitive and derivative on [-2, 2] into a PNG at ``path``; returns the path.

    Example::

        >>> nk.plotting.plot_surrogates("docs/surrogates.png")
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = torch.linspace(-2, 2, 801, dtype=torch.float64)
    names = _surrogate.names()
    fig, axes = plt.subplots(2, (len(names) + 1) // 2, figsize=(3.2 * ((len(names) + 1) // 2), 6))
    for ax, name in zip(axes.flat, names):
        sg = _surrogate.get(name)
        ax.plot(x, sg.primitive(x), label="primitive")
        ax.plot(x, sg.derivative(x), label="derivative (backward)")
        ax.set_title(f"{name} {sg.params}", fontsize=8)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    out = atomic_savefig(fig, path, dpi=110)
    plt.close(fig)
    return out
