"""Figures for the docs: surrogate shapes."""
from __future__ import annotations

import os
import tempfile

import torch

from . import surrogate as _surrogate


def atomic_savefig(fig, path: str, **kwargs) -> str:
    """Save a matplotlib figure to ``path`` via a temporary file and ``os.replace`` (never half-written)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    suffix = os.path.splitext(path)[1] or ".png"
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=suffix)
    os.close(fd)
    try:
        fig.savefig(tmp, **kwargs)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


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
