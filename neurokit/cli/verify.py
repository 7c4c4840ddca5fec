"""The checks ``neurokit demo`` and ``neurokit compile`` run on a compiled model: accuracy on a test set and the
comparison with the integer reference simulator (integer targets, bit for bit) or with the eager model (``gpu``,
``nir``).

Example::

    >>> x, y = stack_dataset(test_ds)
    >>> check_target(model, nk.compile(model, target="onnx_int", example_input=x[:, :8]), "onnx_int", x, y)
    {'target': 'onnx_int', 'check': 'bit-exact', 'vs': 'integer reference', 'accuracy': 0.961}
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["stack_dataset", "accuracy", "check_target"]


def stack_dataset(ds, limit=None):
    """The data set (its first ``limit`` samples) as one time-major batch ``x [T, N, ...]`` (float), labels ``[N]``.

    Example::

        >>> x, y = stack_dataset(nk.data.digits(T=4)[1], limit=16); x.shape, y.shape
        (torch.Size([4, 16, 64]), torch.Size([16]))
    """
    n = len(ds) if limit is None else min(int(limit), len(ds))
    xs, ys = zip(*(ds[i] for i in range(n)))
    return torch.stack(xs, 1).float(), torch.as_tensor(ys)


def accuracy(scores: torch.Tensor, y: torch.Tensor) -> float:
    """Share of ``argmax(scores [N, C])`` equal to ``y [N]``. Example: ``accuracy(out.sum(0), y)``."""
    return float((scores.argmax(-1) == y).double().mean())


def _integer_scores(cm, y_int: torch.Tensor) -> torch.Tensor:
    unit = torch.as_tensor(np.asarray(cm.graph.scales[cm.graph.output], np.float64))
    return y_int.to(torch.float64).sum(0) * unit


def check_target(model, cm, target: str, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Run the compiled ``cm`` on ``x [T, N, ...]``; returns ``{"target", "check", "vs", "accuracy"}``.

    ``check`` is ``"bit-exact"`` or ``"<k> mismatches"`` for ``onnx_int`` / ``loihi2`` (against
    ``compile.integer_sim``; loihi2 with its one step of synaptic latency per layer), ``"equal"`` or
    ``"max |diff| <d>"`` against the eager ``model`` for the float targets.

    Example::

        >>> check_target(model, cm, "loihi2", x, y)["check"]
        'bit-exact'
    """
    from compile import integer_sim

    out = cm.run(x)
    if target in ("onnx_int", "loihi2"):
        ref = torch.as_tensor(np.asarray(integer_sim.run(cm.graph, x, latency=1 if target == "loihi2" else 0)))
        mismatches = int((out.to(torch.int64) != ref.to(torch.int64)).sum())
        return {"target": target, "check": "bit-exact" if mismatches == 0 else f"{mismatches} mismatches",
                "vs": "integer reference" + (" (+1 step/layer latency)" if target == "loihi2" else ""),
                "accuracy": accuracy(_integer_scores(cm, out), y)}
    with torch.no_grad():
        eager = model(x)
    diff = float((out.float() - eager.float()).abs().max())
    return {"target": target, "check": "equal" if diff == 0 else f"max |diff| {diff:.2e}", "vs": "eager model",
            "accuracy": accuracy(out.float().sum(0), y)}
