"""Neuron layers of an imported NIR graph that cannot spike for structural reasons, and the warning that names them.

A graph read with the wrong step (e.g. a Sinabs ``IF`` with ``r = 1`` read at ``dt = 1e-4``: every weight scaled by
``1e-4``) imports without error but never spikes. :func:`silent_layers` bounds, layer by layer, the largest
membrane each neuron layer can reach within :data:`HORIZON` steps from rest when every input satisfies ``|x| <= 1``
(spikes, or inputs normalized to that range), propagating ``max |output|`` through the graph: a synapse's bound is
``max_o sum_j |W[o, j]| * bound_in + |b[o]|`` (a conv's per output channel), a sum pool multiplies by its window,
a neuron layer that can spike outputs at most 1, one that cannot outputs 0. A neuron's membrane bound for a per-step
drive ``a``: IF ``a N``; LIF ``a tau (1 - (1 - 1/tau)^N)`` (``decay_input=True``: divided by ``tau``); CubaLIF
``a f(tau_syn) f(tau_mem)`` with ``f(t) = t (1 - (1 - 1/t)^N)``. A layer whose bound stays at or below its
threshold while its input is not identically zero is reported (layers silenced only by a silent layer before
them are counted, not named).

Example::

    >>> silent_layers(modules, order, pred)      # -> [("1", 3.2e-4, 1.0)]: node, largest membrane, threshold
"""
from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import torch
from torch import nn

from neurokit.layers.delays import DelayedLinear
from neurokit.layers.readout import LeakyIntegrator
from neurokit.layers.recurrent import Recurrent
from neurokit.layers.time_major import AvgPool2d
from neurokit.neurons import IF, CubaLIF, LIF

HORIZON = 1000


_OWN = (str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2] / "neurokit" / "__init__.py"))


def user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the caller of ``nk.from_nir`` (past this package's frames).
    Example: ``warnings.warn(msg, NIRConventionWarning, stacklevel=user_stacklevel())``."""
    level, frame = 1, inspect.currentframe().f_back
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_OWN):
        level, frame = level + 1, frame.f_back
    return level


class NIRConventionWarning(UserWarning):
    """``nk.from_nir`` decided something the graph leaves open (dt, reset mode, IF with ``r = 1``), or imported a
    neuron layer that cannot spike; the message names the nodes and the choice."""


def _charge(t: float) -> float:
    return t * (1.0 - (1.0 - 1.0 / t) ** HORIZON)


def _membrane_bound(m: nn.Module, drive: torch.Tensor) -> float:
    """Largest membrane neuron module ``m`` reaches within :data:`HORIZON` steps for per-step drive ``drive``."""
    a = float(drive.max())
    rest = 0.0 if m.v_reset is None else float(m.v_reset)
    if isinstance(m, CubaLIF):
        return rest + a * _charge(m.tau_syn) * _charge(m.tau_mem)
    if isinstance(m, IF):
        return rest + a * HORIZON
    return rest + a * (_charge(m.tau) / (m.tau if m.decay_input else 1.0))


def _drive(m: nn.Module, bound: float) -> torch.Tensor | None:
    """Per-output-channel bound of a synapse's output for inputs bounded by ``bound``, else None."""
    if not isinstance(m, (nn.Linear, nn.Conv2d, DelayedLinear)):
        return None
    w = m.weight.detach().abs().double()
    out = w.reshape(w.shape[0], -1).sum(1) * bound
    if getattr(m, "bias", None) is not None:
        out = out + m.bias.detach().abs().double()
    return out


def silent_layers(modules: dict[str, nn.Module], order: list[str], pred: dict[str, list[str]]) \
        -> tuple[list[tuple[str, float, float]], int]:
    """``([(node, largest membrane, v_threshold)], n_silenced)``: the neuron layers that cannot spike although
    their input can be non-zero, and how many more are silent only because a layer before them is (module
    docstring). ``modules``: node name -> module (every node but Input / Output); ``order``: topological order
    starting at the Input; ``pred``: node -> the nodes it sums."""
    bound: dict[str, float] = {order[0]: 1.0}
    drives: dict[str, torch.Tensor] = {}
    found, silenced = [], 0
    for name in order[1:]:
        if name not in modules:
            continue
        m, srcs = modules[name], pred[name]
        b_in = sum(bound.get(p, 0.0) for p in srcs)
        drive = _drive(m, b_in)
        if drive is not None:
            drives[name], bound[name] = drive, float(drive.max())
        elif isinstance(m, (LIF, CubaLIF)):
            a = drives[srcs[0]] if len(srcs) == 1 and srcs[0] in drives else torch.tensor([b_in])
            top = _membrane_bound(m, a)
            can = top > m.v_threshold
            bound[name] = 1.0 if can else 0.0
            if not can and b_in > 0:
                found.append((name, top, float(m.v_threshold)))
            elif not can:
                silenced += 1
        elif isinstance(m, LeakyIntegrator):
            bound[name] = b_in * m.tau
        elif isinstance(m, Recurrent):
            bound[name] = 1.0
        elif isinstance(m, AvgPool2d) and m.divisor_override == 1:
            k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size, m.kernel_size)
            bound[name] = b_in * k[0] * k[1]
        else:
            bound[name] = b_in
    return found, silenced


def report_silent(source: str, modules: dict, order: list, pred: dict, specs: dict) -> None:
    """Warn (:class:`NIRConventionWarning`) naming each layer :func:`silent_layers` finds, with its input gain.

    ``specs``: node -> :class:`~hw_targets.nir.conventions.NeuronSpec` (for the gain). Example:
    ``report_silent("g.nir", modules, order, pred, {})`` warns ``g.nir: the imported network cannot spike: ...``."""
    found, silenced = silent_layers(modules, order, pred)
    if not found:
        return
    parts = []
    for name, top, th in found:
        spec = specs.get(name)
        gain = f", input gain {spec.gain:.3g} folded into its weights" if spec is not None and spec.gain != 1 else ""
        parts.append(f"node {name!r}: largest membrane {top:.3g} <= v_threshold {th:g}{gain}")
    more = f"; {silenced} later neuron layer(s) are silent because of it" if silenced else ""
    warnings.warn(f"{source}: the imported network cannot spike: within {HORIZON} steps from rest, with inputs "
                  f"|x| <= 1, " + "; ".join(parts) + more + ". Check the step: pass from_nir(..., dt=<seconds per "
                  "step the exporter used>)", NIRConventionWarning, stacklevel=user_stacklevel())
