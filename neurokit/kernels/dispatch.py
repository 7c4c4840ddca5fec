"""Entry point the neuron modules call: pick a fused backend and run a family's time loop.

``backend``: ``"auto"`` takes the Triton kernel for CUDA tensors and the Numba CPU loop for CPU tensors;
``"triton"`` forces the Triton kernel (CPU tensors need ``TRITON_INTERPRET=1`` set before Triton is imported);
``"torch"`` means "no fused kernel" (returns ``None`` so the caller runs the reference loop).

Non-contiguous inputs are made contiguous once (one copy of ``x``) before the kernel; the outputs are contiguous.

Example::

    >>> spikes, v_seq, state = run_neuron("lif", torch.rand(8, 2, 5), LIFParams(tau=2.0),
    ...                                   nk.surrogate.get("atan"), "auto")
    >>> spikes.shape, v_seq, state.v.shape
    (torch.Size([8, 2, 5]), None, torch.Size([2, 5]))
"""
from __future__ import annotations

import os
from typing import Optional

import torch

from ..neurons import functional as F
from ..surrogate import Surrogate
from .autograd import fused_loop
from .spec import FAMILIES, build_spec

__all__ = ["run_neuron", "resolve_backend", "fused_covers"]

_FUSED_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def resolve_backend(backend: str, device: torch.device) -> Optional[str]:
    """Map a user backend to a kernel backend: ``"cpu"`` (Numba), ``"triton"``, or ``None`` (reference loop).

    Raises:
        ValueError: unknown backend, or ``"triton"`` on a CPU tensor without ``TRITON_INTERPRET=1``.
    """
    if backend == "torch":
        return None
    if backend == "auto":
        return "triton" if device.type == "cuda" else ("cpu" if device.type == "cpu" else None)
    if backend == "triton":
        if device.type == "cpu" and os.environ.get("TRITON_INTERPRET") != "1":
            raise ValueError("backend='triton' got a CPU tensor but TRITON_INTERPRET is not '1'; set "
                             "TRITON_INTERPRET=1 before importing triton, move the input to CUDA, or use "
                             "backend='auto'")
        if device.type not in ("cpu", "cuda"):
            raise ValueError(f"backend='triton' supports cuda (or cpu under TRITON_INTERPRET=1), got {device}")
        return "triton"
    raise ValueError(f"backend must be one of ('auto', 'torch', 'triton'), got {backend!r}")


def fused_covers(params) -> bool:
    """Whether the fused kernels implement this configuration; a deferred hard reset (``reset_after_decay`` with
    ``v_reset`` set) runs the reference loop.

    Example::

        >>> fused_covers(LIFParams(v_reset=0.0, reset_after_decay=True))
        False
    """
    return not (getattr(params, "reset_after_decay", False) and params.v_reset is not None)


def run_neuron(family: str, x_seq: torch.Tensor, params, surrogate: Surrogate, backend: str = "auto",
               store_v_seq: bool = False):
    """Run one neuron family over a time-major input with a fused kernel.

    Args:
        family: ``"lif" | "if" | "plif" | "cuba_lif" | "alif"``.
        x_seq: ``[T, B, ...]`` float32/bfloat16/float16 (CPU or CUDA).
        params: the family's ``LIFParams`` / ``CubaLIFParams`` / ``ALIFParams`` (PLIF: ``tau`` a 0-d tensor).
        surrogate: a :class:`neurokit.surrogate.Surrogate`.
        backend: ``"auto" | "torch" | "triton"``.
        store_v_seq: also return the membrane after reset, ``[T, B, ...]``.

    Returns:
        ``(spikes [T, B, ...] x.dtype, v_seq or None, final_state)`` with the same state NamedTuple as the reference
        loop (``LIFState``, ``CubaLIFState``, ``ALIFState``), or ``None`` when no fused kernel applies
        (``backend="torch"``, float64 input with ``backend="auto"``, a configuration :func:`fused_covers` rejects).

    Raises:
        ValueError: unknown family/backend, or ``backend="triton"`` with an input it cannot run.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    kernel_backend = resolve_backend(backend, x_seq.device)
    if kernel_backend is None or not fused_covers(params):
        return None
    if x_seq.dtype not in _FUSED_DTYPES:
        if backend == "triton":
            raise ValueError(f"backend='triton': x_seq dtype {x_seq.dtype} is not supported; expected one of "
                             f"{_FUSED_DTYPES}")
        return None
    if x_seq.dim() < 2:
        raise ValueError(f"x_seq must be time-major [T, B, ...], got shape {tuple(x_seq.shape)}")
    spec = build_spec(family, params, surrogate)
    if spec.k_tensor is not None and spec.k_tensor.device != x_seq.device:
        raise ValueError(f"params.tau is on {spec.k_tensor.device} but x_seq is on {x_seq.device}")
    T = x_seq.shape[0]
    flat = x_seq.reshape(T, -1).contiguous()
    spikes, v_seq, v_last, aux = fused_loop(flat, spec, kernel_backend, store_v_seq)
    shape, state_shape, dtype = x_seq.shape, x_seq.shape[1:], x_seq.dtype
    spikes = spikes.reshape(shape)
    v_seq = v_seq.reshape(shape).to(dtype) if store_v_seq else None
    v = v_last.reshape(state_shape).to(dtype)
    if family == "alif":
        return spikes, v_seq, F.ALIFState(v, aux.reshape(state_shape).to(dtype), spikes[-1])
    if getattr(params, "reset_after_decay", False) and params.v_reset is None:
        s_last = spikes[-1].detach() if params.detach_reset else spikes[-1]
        pending = params.v_threshold * s_last
    else:
        pending = torch.zeros((), dtype=dtype, device=x_seq.device)
    if family == "cuba_lif":
        return spikes, v_seq, F.CubaLIFState(aux.reshape(state_shape).to(dtype), v, pending)
    return spikes, v_seq, F.LIFState(v, pending)
