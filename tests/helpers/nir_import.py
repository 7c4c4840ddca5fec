"""What the NIR import tests share: random 0/1 spike input and ``nk.from_nir`` with its convention warnings."""
from __future__ import annotations

import warnings

import torch

import neurokit as nk
from hw_targets.nir.silent import NIRConventionWarning


def random_spikes(seed: int, shape, p: float = 0.4) -> torch.Tensor:
    """Bernoulli(``p``) 0/1 float spikes of ``shape``, from generator seed ``seed``."""
    return (torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) < p).float()


def import_recording(graph, **kw):
    """``nk.from_nir(graph, **kw)`` and the :class:`NIRConventionWarning` records it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = nk.from_nir(graph, **kw)
    return model, [w for w in caught if issubclass(w.category, NIRConventionWarning)]


def import_with_messages(graph, **kw):
    """:func:`import_recording` with each warning as its message text."""
    model, caught = import_recording(graph, **kw)
    return model, [str(w.message) for w in caught]
