"""``nk.from_snntorch``: an snnTorch ``nn.Sequential`` model -> the equivalent time-major neurokit model.

snnTorch runs one step at a time on ``[B, ...]`` with hidden state in the neurons (``init_hidden=True``); the
converted model takes the whole sequence ``[T, B, ...]`` and starts at rest on every call, spiking exactly as the
snnTorch model does after ``snntorch.utils.reset(net)``. Mapping (snnTorch 1.0, ``snntorch/_neurons/leaky.py``,
``synaptic.py``; the neuron equivalences are tested in ``tests/neurokit/test_parity_peers.py``):

* ``Leaky(beta, threshold)`` with the default ``reset_mechanism="subtract"`` (``reset_delay=True``):
  ``nk.LIF(tau=1/(1-beta), decay_input=False, v_threshold=threshold, v_reset=None, reset_after_decay=True,
  detach_reset=True)``; with ``reset_mechanism="zero"``: ``v_reset=0.0, reset_after_decay=False``; ``beta = 1``:
  ``nk.IF`` with the same reset.
* ``Synaptic(alpha, beta, threshold)``: ``nk.CubaLIF(tau_syn=1/(1-alpha), tau_mem=1/(1-beta),
  reset_after_decay=True, detach_reset=True)``, ``v_reset`` as for ``Leaky``; ``reset_mechanism="zero",
  reset_delay=False``: the same-step reset (``reset_after_decay=False``) Lava runs.
* ``nn.Linear``, ``nn.Dropout``, ``nn.Identity``, activations: themselves (they act on the last dim or
  element-wise); ``nn.Conv1d/Conv2d/BatchNorm1d/BatchNorm2d/MaxPool2d/AvgPool2d``: the time-major ``nk.layers``
  subclass of the same layer with the same weights and buffers; ``nn.Flatten()``: ``nk.layers.Flatten()``
  (:func:`neurokit.layers.time_major.time_major`).

The surrogate gradient follows snnTorch's ``atan`` / ``sigmoid`` / ``fast_sigmoid`` (with their slope); any other
``spike_grad`` keeps the spikes exact and is replaced by ``atan`` with a warning. Refused, with the setting to
change: per-neuron ``beta`` / ``threshold`` that differ, ``reset_mechanism="none"``, ``reset_delay=False`` with
subtraction, ``inhibition``, ``state_quant``, ``graded_spikes_factor != 1``, recurrent ``RLeaky`` / ``RSynaptic``
(export them with ``snntorch.export_to_nir`` and use ``nk.from_nir``), and any module without a time-major form.

Example::

    >>> net = nn.Sequential(nn.Linear(784, 128), snn.Leaky(beta=0.9, init_hidden=True),
    ...                     nn.Linear(128, 10), snn.Leaky(beta=0.9, init_hidden=True, output=True))
    >>> model = nk.from_snntorch(net)          # x [T, B, 784] -> spikes [T, B, 10]
"""
from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from ..layers.time_major import convert_module
from ..neurons import IF, LIF, CubaLIF

#: snnTorch surrogate factory (``spike_grad.__qualname__`` prefix) -> (neurokit name, closure variable -> param).
SURROGATES = {"atan": ("atan", {"alpha": "alpha"}), "sigmoid": ("sigmoid", {"slope": "alpha"}),
              "fast_sigmoid": ("fast_sigmoid", {"slope": "slope"})}


def _one(path: str, what: str, value, setting: str) -> float:
    t = torch.as_tensor(value).detach().double().flatten()
    if t.numel() == 0 or not bool((t == t[0]).all()):
        raise ValueError(f"from_snntorch: module {path!r}: {what} differs across neurons "
                         f"({float(t.min())}..{float(t.max())}); neurokit neurons take one value per layer "
                         f"(set one {setting} for the layer)")
    return float(t[0])


def _surrogate(path: str, m) -> tuple[str, dict]:
    fn = m.spike_grad
    factory = getattr(fn, "__qualname__", "").split(".")[0]
    if factory in SURROGATES and getattr(fn, "__closure__", None):
        name, names = SURROGATES[factory]
        cells = dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__)))
        params = {ours: float(cells[theirs]) for theirs, ours in names.items() if theirs in cells}
        if len(params) == len(names):
            return name, params
    warnings.warn(f"from_snntorch: module {path!r}: spike_grad {getattr(fn, '__qualname__', fn)!r} has no neurokit "
                  "counterpart; the spikes are exact, the surrogate gradient is neurokit's 'atan'", stacklevel=3)
    return "atan", {}


def _neuron(path: str, m, snn) -> nn.Module:
    kind = type(m).__name__
    for flag, setting in (("inhibition", "inhibition=False"), ("state_quant", "state_quant=False")):
        if getattr(m, flag, False):
            raise ValueError(f"from_snntorch: module {path!r} ({kind}): {flag} has no neurokit counterpart "
                             f"(set {setting})")
    if _one(path, "graded_spikes_factor", m.graded_spikes_factor, "graded_spikes_factor") != 1.0:
        raise ValueError(f"from_snntorch: module {path!r} ({kind}): graded spikes have no neurokit counterpart "
                         "(set graded_spikes_factor=1.0)")
    mech = list(type(m).reset_dict)[int(m.reset_mechanism_val)]   # snnTorch's public buffer and its key order
    if mech not in ("subtract", "zero"):
        raise ValueError(f"from_snntorch: module {path!r} ({kind}): reset_mechanism={mech!r} (no reset) has no "
                         "neurokit counterpart (set reset_mechanism='subtract' or 'zero')")
    if not m.reset_delay and mech == "subtract":
        raise ValueError(f"from_snntorch: module {path!r} ({kind}): reset_delay=False with reset by subtraction has no "
                         "neurokit counterpart (set reset_delay=True, snnTorch's default)")
    sg, params = _surrogate(path, m)
    beta = _one(path, "beta", m.beta.clamp(0, 1), "beta")
    th = _one(path, "threshold", m.threshold, "threshold")
    common = dict(v_threshold=th, v_reset=0.0 if mech == "zero" else None, surrogate=sg, surrogate_params=params,
                  detach_reset=True)
    if isinstance(m, snn.Synaptic):
        alpha = _one(path, "alpha", m.alpha.clamp(0, 1), "alpha")
        if alpha >= 1.0 or beta >= 1.0:
            raise ValueError(f"from_snntorch: module {path!r} (Synaptic): alpha={alpha}, beta={beta}; a current or "
                             "membrane without decay (1.0) has no CubaLIF counterpart (use values < 1)")
        return CubaLIF(tau_syn=1.0 / (1.0 - alpha), tau_mem=1.0 / (1.0 - beta), reset_after_decay=bool(m.reset_delay),
                       **common)
    late = mech == "subtract"
    if beta >= 1.0:
        return IF(reset_after_decay=late, **common)
    return LIF(tau=1.0 / (1.0 - beta), decay_input=False, reset_after_decay=late, **common)


def from_snntorch(model: nn.Module) -> nn.Sequential:
    """Convert an snnTorch ``nn.Sequential`` (module docstring) to a time-major neurokit ``nn.Sequential``.

    Args:
        model: ``nn.Sequential`` of torch layers and snnTorch ``Leaky`` / ``Synaptic`` neurons (nested
            ``nn.Sequential`` allowed); not modified.
    Returns:
        ``nn.Sequential`` mapping ``x [T, B, ...]`` to the last layer's spikes ``[T, B, ...]`` (snnTorch's ``spk``
        of each step, stacked), ready for ``nk.train`` and ``nk.compile`` (``onnx_int``, ``nir``, ...).

    Example::

        model = nk.from_snntorch(net)
        cm = nk.compile(model, target="onnx_int", example_input=x)     # x [T, B, 784]
    """
    import snntorch as snn

    if not isinstance(model, nn.Sequential):
        raise TypeError(f"from_snntorch: expected an nn.Sequential of layers and snnTorch neurons, got "
                        f"{type(model).__name__}; for a model with its own forward, export it with "
                        "snntorch.export_to_nir(model, sample) and import it with nk.from_nir(graph)")
    return _sequential(model, "", snn)


def _sequential(seq: nn.Sequential, prefix: str, snn) -> nn.Sequential:
    out = []
    for name, m in seq.named_children():
        path = f"{prefix}{name}"
        if isinstance(m, (snn.RLeaky, snn.RSynaptic)):
            raise ValueError(f"from_snntorch: module {path!r} ({type(m).__name__}): recurrent snnTorch neurons are "
                             "converted through NIR: nk.from_nir(snntorch.export_to_nir(model, sample))")
        if isinstance(m, (snn.Leaky, snn.Synaptic)) and type(m) in (snn.Leaky, snn.Synaptic):
            out.append(_neuron(path, m, snn))
        elif isinstance(m, nn.Sequential):
            out.append(_sequential(m, f"{path}.", snn))
        elif isinstance(m, snn.SpikingNeuron):
            raise ValueError(f"from_snntorch: module {path!r} ({type(m).__name__}): only snnTorch Leaky and "
                             "Synaptic neurons are converted (Lapicque, Alpha, ... have no neurokit counterpart); "
                             "use snn.Leaky or snn.Synaptic")
        else:
            out.append(convert_module(copy.deepcopy(m), path, "from_snntorch"))
    return nn.Sequential(*out)
