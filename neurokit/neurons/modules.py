"""Multi-step neuron modules: thin ``nn.Module`` wrappers over :mod:`neurokit.neurons.functional`.

Every module takes a time-major float tensor ``x`` of shape ``[T, B, ...]`` and returns spikes of the same shape and
dtype. The state starts at rest on every call. ``forward(x, return_state=True)`` also returns the final state
(a NamedTuple); ``store_v_seq=True`` keeps the membrane sequence ``[T, B, ...]`` in ``module.v_seq``.

``backend``: ``"torch"`` runs the reference loop; ``"auto"`` picks the Triton kernel for CUDA tensors and the fastest
CPU path otherwise; ``"triton"`` forces the Triton kernel (interpreted on CPU under ``TRITON_INTERPRET=1``). Neuron
configurations a fused kernel does not cover run the reference loop.

Example::

    >>> lif = nk.LIF(tau=2.0, v_threshold=1.0, surrogate="atan")
    >>> spikes = lif(torch.rand(16, 8, 100))     # [T, B, N] -> [T, B, N]
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from .. import surrogate as _surrogate
from . import functional as F
from .checks import check_backend, check_input, check_positive, check_tau, check_threshold

__all__ = ["Neuron", "LIF", "IF", "CubaLIF", "ALIF", "PLIF"]


def _fused(family: str, module: nn.Module, x: torch.Tensor, params):
    """Run a fused kernel when one applies; ``None`` means: use the reference loop."""
    if module.backend == "torch":
        return None
    try:
        from ..kernels import dispatch
    except ImportError:
        if module.backend == "triton":
            raise
        return None
    return dispatch.run_neuron(family, x, params, module.surrogate, module.backend,
                               store_v_seq=module.store_v_seq)


class Neuron(nn.Module):
    """Base class of every spiking neuron module (``LIF``, ``IF``, ``CubaLIF``, ``ALIF``, ``PLIF``): time-major
    ``x [T, B, ...] -> spikes [T, B, ...]``, state at rest on every call. Subclasses set ``family`` and implement the
    step; ``isinstance(m, nk.neurons.Neuron)`` is how other packages (energy counting, compile) recognise a neuron.

    Example::

        >>> isinstance(nk.LIF(tau=2.0), nk.neurons.Neuron)
        True
    """

    family = ""

    def __init__(self, v_threshold, v_reset, surrogate, detach_reset, backend, store_v_seq, surrogate_params=None):
        super().__init__()
        self.v_threshold, self.v_reset = check_threshold(v_threshold, v_reset)
        self.surrogate = _surrogate.get(surrogate, **(surrogate_params or {}))
        self.detach_reset = bool(detach_reset)
        self.backend = check_backend(backend)
        self.store_v_seq = bool(store_v_seq)
        self.v_seq: Optional[torch.Tensor] = None

    def params(self):
        raise NotImplementedError

    def _reference(self, x, params):
        raise NotImplementedError

    def forward(self, x: torch.Tensor, return_state: bool = False):
        check_input(x, who=type(self).__name__)
        params = self.params()
        out = _fused(self.family, self, x, params)
        if out is None:
            spikes, v_seq, state = self._reference(x, params)
        else:
            spikes, v_seq, state = out
        self.v_seq = v_seq if self.store_v_seq else None
        return (spikes, state) if return_state else spikes

    def extra_repr(self) -> str:
        return (f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, surrogate={self.surrogate.name}, "
                f"detach_reset={self.detach_reset}, backend={self.backend!r}")


class LIF(Neuron):
    """Leaky integrate-and-fire neuron (SpikingJelly ``LIFNode`` semantics, multi-step).

    Args:
        tau: membrane time constant in steps (``>= 1``); decay ``1/tau``.
        v_threshold: firing threshold (spike when ``h - v_threshold > 0``).
        v_reset: hard-reset value, or ``None`` for reset by subtraction.
        decay_input: ``h = v + (x - (v - v_reset)) / tau`` if True, else ``h = v - (v - v_reset) / tau + x``.
        surrogate: name for :func:`neurokit.surrogate.get`; ``surrogate_params`` overrides its defaults.
        detach_reset: detach the spike in the reset path.
        reset_after_decay: defer the reset of a spike to the next step, after its decay and input (snnTorch order).
        backend: ``"auto" | "torch" | "triton"``. store_v_seq: keep ``self.v_seq``.

    Peer mapping (tested in ``tests/neurokit/test_parity_peers.py``):

    * SpikingJelly ``LIFNode(tau, decay_input, v_threshold, v_reset)`` == ``LIF`` with the same arguments.
    * snnTorch ``Leaky(beta, threshold, reset_mechanism="zero")`` == ``LIF(tau=1/(1-beta), decay_input=False,
      v_reset=0.0)``; ``reset_mechanism="subtract"`` (default ``reset_delay=True``, the one-step-late subtraction)
      == ``LIF(tau=1/(1-beta), decay_input=False, v_reset=None, reset_after_decay=True)``; snnTorch detaches its
      reset signal, so ``detach_reset=True`` gives the same gradients. (snnTorch's ``reset_delay=False`` with
      subtraction fires on a membrane that already holds the previous step's delayed subtraction and then adds it
      back; it has no neurokit counterpart.)

    Shapes: ``x [T, B, ...]`` -> spikes ``[T, B, ...]``.
    """

    family = "lif"

    def __init__(self, tau: float = 2.0, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 decay_input: bool = True, surrogate: str = "atan", detach_reset: bool = False,
                 backend: str = "auto", store_v_seq: bool = False, reset_after_decay: bool = False,
                 surrogate_params: Optional[dict] = None):
        super().__init__(v_threshold, v_reset, surrogate, detach_reset, backend, store_v_seq, surrogate_params)
        self.tau = check_tau(tau)
        self.decay_input = bool(decay_input)
        self.reset_after_decay = bool(reset_after_decay)

    def params(self) -> F.LIFParams:
        return F.LIFParams(self.tau, self.v_threshold, self.v_reset, self.decay_input, self.detach_reset,
                           self.reset_after_decay)

    def _reference(self, x, params):
        return F.lif_reference(x, params, self.surrogate)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, decay_input={self.decay_input}, " + super().extra_repr()


class IF(LIF):
    """Integrate-and-fire neuron: ``h = v + x`` (SpikingJelly ``IFNode``). Same arguments as :class:`LIF` minus tau."""

    family = "if"

    def __init__(self, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0, surrogate: str = "atan",
                 detach_reset: bool = False, backend: str = "auto", store_v_seq: bool = False,
                 reset_after_decay: bool = False, surrogate_params: Optional[dict] = None):
        super().__init__(1.0, v_threshold, v_reset, False, surrogate, detach_reset, backend, store_v_seq,
                         reset_after_decay, surrogate_params)

    def _reference(self, x, params):
        return F.if_reference(x, params, self.surrogate)

    def extra_repr(self) -> str:
        return Neuron.extra_repr(self)


class PLIF(LIF):
    """Parametric LIF with a learnable time constant: ``1/tau = sigmoid(w)``, ``w`` initialised from ``init_tau``.

    Matches SpikingJelly ``ParametricLIFNode(init_tau)``. ``init_tau`` must be ``> 1``. ``self.tau`` is the current
    value (read-only float); the parameter is ``self.w``.
    """

    family = "plif"

    def __init__(self, init_tau: float = 2.0, v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 decay_input: bool = True, surrogate: str = "atan", detach_reset: bool = False,
                 backend: str = "auto", store_v_seq: bool = False, surrogate_params: Optional[dict] = None):
        init_tau = check_positive(init_tau, "init_tau", minimum=1.0)
        Neuron.__init__(self, v_threshold, v_reset, surrogate, detach_reset, backend, store_v_seq,
                         surrogate_params)
        self.decay_input = bool(decay_input)
        self.reset_after_decay = False
        self.w = nn.Parameter(torch.tensor(-math.log(init_tau - 1.0)))

    @property
    def tau(self) -> float:
        return float(1.0 / torch.sigmoid(self.w.detach()))

    def params(self) -> F.LIFParams:
        return F.LIFParams(1.0 / torch.sigmoid(self.w), self.v_threshold, self.v_reset, self.decay_input,
                           self.detach_reset, False)


class CubaLIF(Neuron):
    """Current-based LIF: ``i = i (1 - 1/tau_syn) + x``; ``h = v - (v - v_reset)/tau_mem + i``.

    This is Loihi's CUBA neuron in float (``du = 1/tau_syn``, ``dv = 1/tau_mem``, hard reset to 0) and snnTorch's
    ``Synaptic(alpha, beta)`` with ``tau_syn = 1/(1-alpha)``, ``tau_mem = 1/(1-beta)``, ``reset_after_decay=True``,
    ``detach_reset=True`` and ``v_reset=0.0`` (``reset_mechanism="zero"``) or ``None`` (``"subtract"``).
    ``tau_syn``/``tau_mem >= 1``.
    Shapes: ``x [T, B, ...]`` -> spikes ``[T, B, ...]``.
    """

    family = "cuba_lif"

    def __init__(self, tau_syn: float = 2.0, tau_mem: float = 2.0, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, surrogate: str = "atan", detach_reset: bool = False,
                 backend: str = "auto", store_v_seq: bool = False, reset_after_decay: bool = False,
                 surrogate_params: Optional[dict] = None):
        super().__init__(v_threshold, v_reset, surrogate, detach_reset, backend, store_v_seq, surrogate_params)
        self.tau_syn = check_tau(tau_syn, "tau_syn")
        self.tau_mem = check_tau(tau_mem, "tau_mem")
        self.reset_after_decay = bool(reset_after_decay)

    def params(self) -> F.CubaLIFParams:
        return F.CubaLIFParams(self.tau_syn, self.tau_mem, self.v_threshold, self.v_reset, self.detach_reset,
                               self.reset_after_decay)

    def _reference(self, x, params):
        return F.cuba_lif_reference(x, params, self.surrogate)

    def extra_repr(self) -> str:
        return f"tau_syn={self.tau_syn}, tau_mem={self.tau_mem}, " + super().extra_repr()


class ALIF(Neuron):
    """Adaptive-threshold LIF (LSNN-style): threshold ``v_threshold + beta * b`` with
    ``b = b (1 - 1/tau_adapt) + s_prev / tau_adapt``. ``tau``, ``tau_adapt >= 1``; ``beta >= 0``.
    Shapes: ``x [T, B, ...]`` -> spikes ``[T, B, ...]``.
    """

    family = "alif"

    def __init__(self, tau: float = 2.0, tau_adapt: float = 20.0, beta: float = 1.8, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, decay_input: bool = True, surrogate: str = "atan",
                 detach_reset: bool = False, backend: str = "auto", store_v_seq: bool = False,
                 surrogate_params: Optional[dict] = None):
        super().__init__(v_threshold, v_reset, surrogate, detach_reset, backend, store_v_seq, surrogate_params)
        self.tau = check_tau(tau)
        self.tau_adapt = check_tau(tau_adapt, "tau_adapt")
        self.beta = check_positive(beta, "beta", minimum=0.0, inclusive=True)
        self.decay_input = bool(decay_input)

    def params(self) -> F.ALIFParams:
        return F.ALIFParams(self.tau, self.tau_adapt, self.beta, self.v_threshold, self.v_reset,
                            self.decay_input, self.detach_reset)

    def _reference(self, x, params):
        return F.alif_reference(x, params, self.surrogate)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, tau_adapt={self.tau_adapt}, beta={self.beta}, " + super().extra_repr()
