"""Functional core of the neuron families: parameter containers, single-step updates and reference time loops.

The reference loops (``*_reference``) are **the definition**: every fused kernel and every lowered target is tested
against them. Tensors are time-major: ``x_seq`` is ``[T, B, ...]``; state tensors are ``[B, ...]``.

Per-step semantics (``vr = v_reset if v_reset is not None else 0``; ``S`` = surrogate spike, forward ``h - th > 0``):

* LIF, ``decay_input=True``:  ``h = v + (x - (v - vr)) / tau``;  ``decay_input=False``: ``h = v - (v - vr) / tau + x``
* IF: ``h = v + x``
* CubaLIF: ``i = i * (1 - 1/tau_syn) + x``; ``h = vr + (v - vr) * (1 - 1/tau_mem) + i``
* ALIF: LIF with threshold ``th = v_threshold + beta * b``, ``b = b * (1 - 1/tau_adapt) + s_prev / tau_adapt``
* spike ``s = S(h - th)``; hard reset ``v = h * (1 - s_r) + v_reset * s_r``; soft reset (``v_reset=None``)
  ``v = h - th * s_r``; ``s_r = s.detach()`` if ``detach_reset`` else ``s``.
* ``reset_after_decay=True`` defers the reset of a spike at ``t`` to step ``t+1``, after that step's decay and
  input: soft ``h[t+1] = charge(h[t], x[t+1]) - th * s[t]``, hard ``h[t+1] = charge(h[t], x[t+1]) * (1 - s[t]) +
  v_reset * s[t]``. This is snnTorch's ordering for ``Leaky``/``Synaptic`` subtraction and ``Synaptic`` zero reset
  (``reset_delay=True``, the default).

Example::

    >>> p = LIFParams(tau=2.0)
    >>> s, v_seq = lif_reference(torch.rand(8, 4, 10), p, nk.surrogate.get("atan"))
    >>> s.shape, v_seq.shape
    (torch.Size([8, 4, 10]), torch.Size([8, 4, 10]))
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional

import torch

from ..surrogate import Surrogate

__all__ = [
    "LIFParams", "CubaLIFParams", "ALIFParams",
    "LIFState", "CubaLIFState", "ALIFState",
    "lif_step", "if_step", "cuba_lif_step", "alif_step",
    "lif_reference", "if_reference", "cuba_lif_reference", "alif_reference",
    "STEPS", "initial_state",
]


@dataclass(frozen=True)
class LIFParams:
    """LIF/IF/PLIF parameters. ``tau`` may be a float or a 0-d tensor (PLIF's learnable ``1/tau`` path)."""

    tau: "float | torch.Tensor" = 2.0
    v_threshold: float = 1.0
    v_reset: Optional[float] = 0.0
    decay_input: bool = True
    detach_reset: bool = False
    reset_after_decay: bool = False


@dataclass(frozen=True)
class CubaLIFParams:
    """Current-based LIF: synaptic current with ``tau_syn``, membrane with ``tau_mem`` (both in time steps)."""

    tau_syn: float = 2.0
    tau_mem: float = 2.0
    v_threshold: float = 1.0
    v_reset: Optional[float] = 0.0
    detach_reset: bool = False
    reset_after_decay: bool = False


@dataclass(frozen=True)
class ALIFParams:
    """Adaptive LIF: LIF params plus adaptation time constant and strength ``beta``."""

    tau: float = 2.0
    tau_adapt: float = 20.0
    beta: float = 1.8
    v_threshold: float = 1.0
    v_reset: Optional[float] = 0.0
    decay_input: bool = True
    detach_reset: bool = False


class LIFState(NamedTuple):
    v: torch.Tensor          # membrane after reset (before it, with reset_after_decay), [B, ...]
    pending: torch.Tensor    # spikes whose reset is deferred to the next step (reset_after_decay) or 0-d zero


class CubaLIFState(NamedTuple):
    i: torch.Tensor
    v: torch.Tensor
    pending: torch.Tensor


class ALIFState(NamedTuple):
    v: torch.Tensor
    b: torch.Tensor          # adaptation variable
    s: torch.Tensor          # previous spikes


def _rest(v_reset: Optional[float]) -> float:
    return 0.0 if v_reset is None else float(v_reset)


def _charge(v, x, inv_tau, v_reset, decay_input):
    vr = _rest(v_reset)
    if decay_input:
        return v + (x - (v - vr)) * inv_tau
    return v - (v - vr) * inv_tau + x


def _fire_and_reset(h, threshold, v_reset, detach_reset, reset_after_decay, surrogate):
    s = surrogate.spike(h - threshold)
    s_r = s.detach() if detach_reset else s
    if reset_after_decay:
        return s, h, s_r
    if v_reset is not None:
        v = h * (1.0 - s_r) + v_reset * s_r
    else:
        v = h - threshold * s_r
    return s, v, torch.zeros((), dtype=h.dtype, device=h.device)


def _apply_pending(h, pending, threshold, v_reset):
    """Apply a reset deferred from the previous step (``reset_after_decay``); ``pending`` = previous spikes."""
    if v_reset is None:
        return h - threshold * pending
    return h * (1.0 - pending) + v_reset * pending


def lif_step(x: torch.Tensor, state: LIFState, p: LIFParams, surrogate: Surrogate):
    """One LIF step. ``x``: ``[B, ...]``. Returns ``(spike, h, new_state)`` (``h`` = pre-spike membrane)."""
    h = _charge(state.v, x, 1.0 / p.tau, p.v_reset, p.decay_input)
    h = _apply_pending(h, state.pending, p.v_threshold, p.v_reset)
    s, v, pending = _fire_and_reset(h, p.v_threshold, p.v_reset, p.detach_reset, p.reset_after_decay, surrogate)
    return s, h, LIFState(v, pending)


def if_step(x: torch.Tensor, state: LIFState, p: LIFParams, surrogate: Surrogate):
    """One IF step (``h = v + x``; ``p.tau`` and ``p.decay_input`` are ignored)."""
    h = _apply_pending(state.v + x, state.pending, p.v_threshold, p.v_reset)
    s, v, pending = _fire_and_reset(h, p.v_threshold, p.v_reset, p.detach_reset, p.reset_after_decay, surrogate)
    return s, h, LIFState(v, pending)


def cuba_lif_step(x: torch.Tensor, state: CubaLIFState, p: CubaLIFParams, surrogate: Surrogate):
    """One CUBA-LIF step: current decays with ``tau_syn`` then drives the membrane. Returns ``(s, h, state)``."""
    i = state.i * (1.0 - 1.0 / p.tau_syn) + x
    vr = _rest(p.v_reset)
    h = vr + (state.v - vr) * (1.0 - 1.0 / p.tau_mem) + i
    h = _apply_pending(h, state.pending, p.v_threshold, p.v_reset)
    s, v, pending = _fire_and_reset(h, p.v_threshold, p.v_reset, p.detach_reset, p.reset_after_decay, surrogate)
    return s, h, CubaLIFState(i, v, pending)


def alif_step(x: torch.Tensor, state: ALIFState, p: ALIFParams, surrogate: Surrogate):
    """One adaptive-threshold LIF step. Returns ``(s, h, state)``."""
    rho = 1.0 - 1.0 / p.tau_adapt
    b = state.b * rho + state.s * (1.0 - rho)
    threshold = p.v_threshold + p.beta * b
    h = _charge(state.v, x, 1.0 / p.tau, p.v_reset, p.decay_input)
    s = surrogate.spike(h - threshold)
    s_r = s.detach() if p.detach_reset else s
    if p.v_reset is not None:
        v = h * (1.0 - s_r) + p.v_reset * s_r
    else:
        v = h - threshold * s_r
    return s, h, ALIFState(v, b, s)


def _initial(x_seq, v_reset):
    return torch.full_like(x_seq[0], _rest(v_reset))


def _zero_pending(x_seq):
    return torch.zeros((), dtype=x_seq.dtype, device=x_seq.device)


def _loop(step, x_seq, state, p, surrogate):
    spikes, v_seq = [], []
    for t in range(x_seq.shape[0]):
        s, _, state = step(x_seq[t], state, p, surrogate)
        spikes.append(s)
        v_seq.append(state.v)
    return torch.stack(spikes), torch.stack(v_seq), state


def lif_reference(x_seq, p: LIFParams, surrogate: Surrogate, state: Optional[LIFState] = None):
    """Plain PyTorch LIF time loop. ``x_seq``: ``[T, B, ...]`` -> ``(spikes, v_seq, final_state)``, same shapes.

    ``v_seq[t]`` is the membrane after the reset of step ``t``. The state starts at rest (``v = v_reset`` or 0).
    """
    state = state or LIFState(_initial(x_seq, p.v_reset), _zero_pending(x_seq))
    return _loop(lif_step, x_seq, state, p, surrogate)


def if_reference(x_seq, p: LIFParams, surrogate: Surrogate, state: Optional[LIFState] = None):
    """Plain PyTorch IF time loop; same contract as :func:`lif_reference`."""
    state = state or LIFState(_initial(x_seq, p.v_reset), _zero_pending(x_seq))
    return _loop(if_step, x_seq, state, p, surrogate)


def cuba_lif_reference(x_seq, p: CubaLIFParams, surrogate: Surrogate, state: Optional[CubaLIFState] = None):
    """Plain PyTorch CUBA-LIF time loop; same contract as :func:`lif_reference` (``v_seq`` is the membrane)."""
    state = state or CubaLIFState(torch.zeros_like(x_seq[0]), _initial(x_seq, p.v_reset), _zero_pending(x_seq))
    return _loop(cuba_lif_step, x_seq, state, p, surrogate)


def alif_reference(x_seq, p: ALIFParams, surrogate: Surrogate, state: Optional[ALIFState] = None):
    """Plain PyTorch adaptive-LIF time loop; same contract as :func:`lif_reference`."""
    zeros = torch.zeros_like(x_seq[0])
    state = state or ALIFState(_initial(x_seq, p.v_reset), zeros, zeros)
    return _loop(alif_step, x_seq, state, p, surrogate)


STEPS = {"lif": lif_step, "plif": lif_step, "if": if_step, "cuba_lif": cuba_lif_step, "alif": alif_step}
"""The single-step update of each neuron family (``Neuron.family`` -> step function)."""


def initial_state(family: str, like: torch.Tensor, p):
    """The rest state of ``family`` for a ``[B, ...]`` input shaped like ``like`` (what the reference loops start
    from).

    Example::

        >>> initial_state("cuba_lif", torch.zeros(2, 3), CubaLIFParams()).i.shape
        torch.Size([2, 3])
    """
    if family not in STEPS:
        raise ValueError(f"family must be one of {sorted(STEPS)}, got {family!r}")
    rest = torch.full_like(like, _rest(p.v_reset))
    zero = torch.zeros((), dtype=like.dtype, device=like.device)
    if family == "cuba_lif":
        return CubaLIFState(torch.zeros_like(like), rest, zero)
    if family == "alif":
        return ALIFState(rest, torch.zeros_like(like), torch.zeros_like(like))
    return LIFState(rest, zero)
