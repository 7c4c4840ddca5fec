"""Argument validation shared by the neuron modules (clear errors that name the argument)."""
from __future__ import annotations

import math
import warnings

import torch

_BACKENDS = ("auto", "torch", "triton")


def check_input(x, name: str = "x", who: str = "neuron") -> None:
    """Validate a time-major float input ``[T, B, ...]`` (type, rank, dtype, finiteness).

    Rule for rank 2: ``[T, B]`` is a valid time-major input (one feature per sample), but it is also what a
    sample-major ``[B, F]`` batch looks like, so it is accepted with a ``UserWarning`` naming ``who`` and the
    shape read as ``[T, B]`` (shown once per call site by Python's default warning filter).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [T, B, ...], got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(f"{name} must be time-major [T, B, ...] with at least 2 dims (time and batch); "
                         f"got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor (float32/float16/bfloat16/float64); got {x.dtype}")
    if x.dim() == 2 and not torch.compiler.is_compiling():
        warnings.warn(f"{who}: rank-2 input {name} of shape {tuple(x.shape)} is read as time-major [T={x.shape[0]}, "
                      f"B={x.shape[1]}] with one feature per sample; if it is a sample-major [B, F] batch, add a "
                      "time axis first (x.unsqueeze(0), or nk.encode.rate / nk.encode.direct)", stacklevel=3)
    if x.shape[0] == 0:
        raise ValueError(f"{name} has T=0 time steps (shape {tuple(x.shape)}); expected T >= 1")
    # aminmax propagates NaN and +-inf and is ~15x faster on CPU than isfinite(x).all()
    if (not torch.compiler.is_compiling() and x.numel()
            and not bool(torch.isfinite(torch.stack(torch.aminmax(x.detach()))).all())):
        raise ValueError(f"{name} contains NaN or Inf values (shape {tuple(x.shape)}); expected finite inputs")


def check_positive(value, name: str, minimum: float = 0.0, inclusive: bool = False) -> float:
    """Check a finite number ``> minimum`` (or ``>= minimum`` when ``inclusive``); returns it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    ok = value >= minimum if inclusive else value > minimum
    if not math.isfinite(value) or not ok:
        op = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be a finite number {op} {minimum}, got {value!r}")
    return float(value)


def check_tau(tau, name: str = "tau") -> float:
    """Time constants are in time steps; the decay ``1/tau`` must lie in (0, 1], so ``tau >= 1``."""
    return check_positive(tau, name, minimum=1.0, inclusive=True)


def check_threshold(v_threshold, v_reset) -> tuple[float, "float | None"]:
    """``v_reset`` below ``v_threshold``; with reset by subtraction (``v_reset=None``) ``v_threshold > 0`` (a
    threshold <= 0 would fire at every step from rest and subtracting it would never lower the membrane)."""
    th = float(check_number(v_threshold, "v_threshold"))
    if v_reset is None and not th > 0:
        raise ValueError(f"v_threshold={th}: reset by subtraction (v_reset=None) needs v_threshold > 0, otherwise "
                         "the neuron fires at every step")
    if v_reset is not None:
        v_reset = float(check_number(v_reset, "v_reset"))
        if v_reset >= th:
            raise ValueError(f"v_reset={v_reset} must be below v_threshold={th}")
    return th, v_reset


def check_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_backend(backend: str) -> str:
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    return backend
