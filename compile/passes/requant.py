"""Integer-only requantization of an accumulator that may exceed its width (shared by synapses and attention products).

``acc' = trunc(acc * M / 2**16)`` with ``M = min(2**16, floor(limit * 2**16 / bound))``, so the worst case ``bound``
lands inside ``limit``; one integer unit of ``acc'`` is worth ``2**16 / M`` units of ``acc`` (the scale grows by that
factor, and the next neuron's integer threshold absorbs it). No float arithmetic happens at run time.

Example::

    rq, new_bound, factor = requant_to_fit(np.array([70000]), 32767)
    rq.multiplier, rq.shift       # [30677], 16
    new_bound                     # [32767] (70000 * 30677 >> 16)
"""
from __future__ import annotations

import numpy as np

from compile import ir
from neurokit.integer import REQUANT_SHIFT


def requant_to_fit(bound: np.ndarray, limit: int) -> tuple[ir.Requant, np.ndarray, np.ndarray]:
    """``bound`` (int64, any shape: per channel ``[O]`` or a 0-d array for a whole tensor) -> ``(requant,
    bound after it, scale factor 2**16 / M as float64)``. Call it only when ``bound.max() > limit``."""
    bound = np.asarray(bound, dtype=np.int64)
    mult = np.minimum(2 ** REQUANT_SHIFT, np.floor(limit * 2.0 ** REQUANT_SHIFT / np.maximum(bound, 1)))
    rq = ir.Requant(mult.astype(np.int64), REQUANT_SHIFT)
    return rq, (bound * rq.multiplier) >> REQUANT_SHIFT, 2.0 ** REQUANT_SHIFT / mult


def fit_accumulator(bound: np.ndarray, limit: int, acc_bits: int, what: str,
                    warnings: list) -> tuple[ir.Requant, np.ndarray, np.ndarray]:
    """:func:`requant_to_fit` of ``bound`` into ``limit`` (at most the signed ``acc_bits`` range), plus the warning a
    user reads, appended to ``warnings``: ``"<what> requantized by <lo>..<hi> to fit <acc_bits> bits (LSBs
    dropped)"`` (``what`` names the node, e.g. ``"synapse 'fc': accumulator"``). Call it only when
    ``bound.max() > limit``."""
    rq, new_bound, factor = requant_to_fit(bound, limit)
    mult = rq.multiplier
    warnings.append(f"{what} requantized by {float(mult.min()) / 2 ** rq.shift:.3f}.."
                    f"{float(mult.max()) / 2 ** rq.shift:.3f} to fit {acc_bits} bits (LSBs dropped)")
    return rq, new_bound, factor
