"""Synapse weight encoding: what netx and Lava's bit-accurate ``Dense`` store for a block's integer weights.

:func:`encode_weights` reproduces what the hardware actually stores: netx's ``optimize_weight_bits`` (mantissa,
exponent, weight bits; ``lava.lib.dl.netx.utils``) followed by Lava's own sign-mode detection, clipping and
truncation of the mantissa (``lava.utils.weightutils``). The simulator uses that encoding, so rounding corners (e.g. an
inhibitory matrix clipped to -255) are the hardware's, not an idealisation. A conv block's weights go to Lava's
``Conv`` unchanged (netx passes no exponent, ``PyConvModelFixed`` applies none).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: netx ``optimize_weight_bits`` clips mixed-sign weights to this range.
WEIGHT_MIN, WEIGHT_MAX = -256, 254

SIGN_MIXED, SIGN_EXCITATORY, SIGN_INHIBITORY = 1, 2, 3


@dataclass(frozen=True)
class SynapseEncoding:
    """The synapse as Lava's bit-accurate Dense stores and applies it.

    ``mantissa`` (int64, ``(out, in)``) is summed over spiking inputs and the sum is shifted by
    ``weight_exp`` (``<<`` if positive, arithmetic ``>>`` otherwise). ``num_weight_bits`` and
    ``sign_mode`` (1 mixed, 2 excitatory, 3 inhibitory) are what the hardware is configured with.
    """

    mantissa: np.ndarray
    weight_exp: int
    num_weight_bits: int
    sign_mode: int


def lava_sign_mode(w: np.ndarray) -> int:
    """Lava's sign mode of a weight matrix (1 mixed, 2 excitatory, 3 inhibitory).

    Example:
        >>> lava_sign_mode(np.array([[1, 0]]))
        2
    """
    # lava.utils.weightutils.determine_sign_mode (what Dense uses when no sign_mode is passed,
    # which is the case for netx blocks).
    if w.min() >= 0:
        return SIGN_EXCITATORY
    if w.max() <= 0:
        return SIGN_INHIBITORY
    return SIGN_MIXED


def _netx_optimize(w: np.ndarray) -> tuple[np.ndarray, int, int]:
    """netx ``optimize_weight_bits`` (``lava.lib.dl.netx.utils``) of integer weights -> ``(w << scale_bits,
    weight_exp, num_weight_bits)``."""
    w_max, w_min = int(w.max()), int(w.min())
    if w_max == 0 and w_min == 0:
        raise ValueError("weight: all-zero matrix cannot be encoded (netx divides by the max weight)")
    if w_max < 0:
        is_signed, scale = 0, -256 / w_min
    elif w_min >= 0:
        is_signed, scale = 0, 255 / w_max
    else:
        is_signed = 1
        scale = min(127 / w_max if w_max > 0 else math.inf, -128 / w_min)
    scale_bits = math.floor(math.log2(scale)) + is_signed
    n = 8
    while n > 0 and np.any(w % (1 << n)):
        n -= 1
    n -= is_signed
    return w << scale_bits, -scale_bits, 8 - scale_bits - n  # scale_bits >= 0 for weights in [-256, 254]


def _lava_dense(m: np.ndarray, weight_exp: int, num_weight_bits: int) -> SynapseEncoding:
    """Lava's bit-accurate ``Dense`` on its first time step: its own sign mode, ``clip_weights``, then
    ``truncate_weights`` (``lava.utils.weightutils``)."""
    sign = lava_sign_mode(m)
    mixed = int(sign == SIGN_MIXED)
    neg = sign == SIGN_INHIBITORY
    m = -m if neg else m
    m = np.clip(m, -(1 << 8) * mixed, (1 << 8) - 1)
    t = 8 - num_weight_bits + mixed
    m = (m >> t) << t
    m = -m if neg else m
    return SynapseEncoding(m.astype(np.int64), weight_exp, num_weight_bits, sign)


def encode_weights(weight: np.ndarray) -> SynapseEncoding:
    """Encode integer weights the way netx + Lava's bit-accurate Dense do.

    Args:
        weight: integer-valued array ``(out, in)`` in ``[-256, 254]``, not all zero.

    Returns:
        :class:`SynapseEncoding` with the mantissa Lava's Dense accumulates and the exponent. The
        effective weight is ``mantissa * 2**weight_exp``; it equals ``weight`` except in one corner:
        an all-non-positive matrix with max 0 is "mixed" for netx but "inhibitory" for Lava's Dense,
        which then clips and truncates differently (e.g. ``[[-64, 0]]`` acts as ``[[-32, 0]]``).

    Example:
        >>> enc = encode_weights(np.array([[6, -4], [2, 0]]))
        >>> enc.weight_exp, enc.mantissa.tolist()
        (-5, [[192, -128], [64, 0]])
    """
    w = check_int_array("weight", weight, WEIGHT_MIN, WEIGHT_MAX)
    return _lava_dense(*_netx_optimize(w))


def encode_recurrent_weights(weight: np.ndarray, weight_rec: np.ndarray) -> tuple[SynapseEncoding, SynapseEncoding]:
    """Encode a netx ``dense_rec`` block's two synapses as netx + Lava do: netx optimizes ``hstack(weight,
    weight_rec)`` as ONE matrix (one exponent and weight-bit count, ``lava.lib.dl.netx.hdf5.Network.create_dense``),
    then each part is its own Lava ``Dense`` (``RecurrentDense``: ``synapse`` and ``synapse_rec``), which picks its
    own sign mode, clips and truncates.

    Args:
        weight: ``(out, in)``, weight_rec: ``(out, out)``; integers in ``[-256, 254]``, not both all zero.

    Returns:
        ``(feed-forward encoding, recurrent encoding)``, both with the same ``weight_exp``.

    Example:
        >>> ff, rec = encode_recurrent_weights(np.array([[6], [2]]), np.array([[0, -4], [2, 0]]))
        >>> ff.weight_exp == rec.weight_exp, rec.mantissa.tolist()
        (True, [[0, -128], [64, 0]])
    """
    w = check_int_array("weight", weight, WEIGHT_MIN, WEIGHT_MAX)
    v = check_int_array("weight_rec", weight_rec, WEIGHT_MIN, WEIGHT_MAX)
    m, exp, bits = _netx_optimize(np.hstack([w, v]))
    return _lava_dense(m[:, :w.shape[1]], exp, bits), _lava_dense(m[:, w.shape[1]:], exp, bits)


def check_int_array(name: str, a: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``a`` as int64, or a ``ValueError`` naming ``name``: non-integer values, a non-numeric dtype, or a value
    outside ``lo..hi``.

    Example:
        >>> check_int_array("weight", np.array([1.0, -2.0]), -256, 254).tolist()
        [1, -2]
    """
    a = np.asarray(a)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError(f"{name}: expected integer values, got non-integer floats")
    elif a.dtype.kind not in "iub":
        raise ValueError(f"{name}: expected an integer array, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.size and (a.min() < lo or a.max() > hi):
        bad = a.max() if a.max() > hi else a.min()
        raise ValueError(f"{name}: value {bad} out of range, expected {lo}..{hi}")
    return a
