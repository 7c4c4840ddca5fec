"""Recurrent spiking layer: ``I[t] = W x[t] (+ b) + V s[t-1] (+ b_rec)`` feeding any neuron family, ``s[-1] = 0``.

:func:`recurrent_reference` (a plain PyTorch time loop) is the definition. The feed-forward product ``W x`` is one
GEMM over all steps; the per-step work is the recurrent product and the neuron step. With ``backend="auto"`` (the
neuron's ``backend``), :class:`Recurrent` runs the fused Numba loop of :mod:`neurokit.kernels.recurrent` on fp32 CPU
tensors and the per-step Triton path of :mod:`neurokit.kernels.triton_recurrent` (torch product + Triton neuron step)
on fp32 CUDA tensors; both are tested against the reference (identical spikes, gradients rtol 1e-5).

Peer mapping (tested against the installed packages):

* snnTorch ``RLeaky(beta, linear_features=N, all_to_all=True)`` after ``nn.Linear(in, N, bias=False)`` ==
  ``Recurrent(in, N, LIF(tau=1/(1-beta), decay_input=False, v_reset=0.0 | None, reset_after_decay=True,
  detach_reset=True), recurrent_bias=True)`` with ``V = rleaky.recurrent.weight``, ``b_rec = rleaky.recurrent.bias``
  (``reset_mechanism="zero" | "subtract"``); ``RSynaptic(alpha, beta, ...)`` likewise with ``CubaLIF(tau_syn =
  1/(1-alpha), tau_mem = 1/(1-beta), ...)``.
* SpikingJelly ``LinearRecurrentContainer(LIFNode(...), N, N)`` (its ``rc = nn.Linear(2N, N)`` acts on
  ``cat(x[t], s[t-1])``) == ``Recurrent(N, N, LIF(...), bias=True)`` with ``W = rc.weight[:, :N]``,
  ``V = rc.weight[:, N:]``, ``b = rc.bias``.

Example::

    >>> layer = nk.layers.Recurrent(700, 256, nk.CubaLIF(tau_syn=5.0, tau_mem=10.0))
    >>> spikes = layer(torch.rand(100, 32, 700))          # [T, B, in] -> [T, B, out]
    >>> spikes.shape
    torch.Size([100, 32, 256])
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as tf

from ..neurons import Neuron
from ..neurons import functional as F
from ..surrogate import Surrogate

__all__ = ["Recurrent", "recurrent_reference"]


def recurrent_reference(ff: torch.Tensor, weight_rec: torch.Tensor, bias_rec: torch.Tensor | None, family: str,
                        params, surrogate: Surrogate):
    """Plain time loop of the recurrent layer given the feed-forward currents ``ff = W x (+ b)``.

    Args:
        ff: ``[T, B, N]``; weight_rec: ``V [N, N]`` (``V[n, j]`` weights the spike of neuron ``j`` into neuron ``n``);
        bias_rec: ``[N]`` or ``None``; family / params / surrogate: the neuron's (``Neuron.family``, ``params()``).

    Returns:
        ``(spikes [T, B, N], v_seq [T, B, N])`` (``v_seq``: membrane after the reset of each step).

    Example::

        >>> s, v = recurrent_reference(torch.rand(5, 2, 4), torch.zeros(4, 4), None, "lif", F.LIFParams(),
        ...                            nk.surrogate.get("atan"))
    """
    step = F.STEPS[family]
    state = F.initial_state(family, ff[0], params)
    s = torch.zeros_like(ff[0])
    spikes, v_seq = [], []
    for t in range(ff.shape[0]):
        s, _, state = step(ff[t] + tf.linear(s, weight_rec, bias_rec), state, params, surrogate)
        spikes.append(s)
        v_seq.append(state.v)
    return torch.stack(spikes), torch.stack(v_seq)


def _check_features(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Recurrent: {name} must be a positive int, got {value!r}")
    return value


class Recurrent(nn.Module):
    """Recurrent spiking layer, time-major ``x [T, B, in_features] -> spikes [T, B, out_features]``.

    Args:
        in_features, out_features: sizes of ``x`` and of the neuron population.
        neuron: a neuron instance (``nk.LIF``, ``nk.CubaLIF``, ``nk.ALIF``, ``nk.PLIF``, ``nk.IF``); its ``backend``
            selects the loop (``"auto"``: fused CPU loop for fp32 CPU tensors, per-step Triton path for fp32 CUDA
            tensors, reference otherwise; ``"triton"``: the Triton path, CPU tensors only under
            ``TRITON_INTERPRET=1``, fp32 only; ``"torch"``: reference). With ``store_v_seq=True`` the reference loop
            runs and ``neuron.v_seq`` is set.
        bias: learnable feed-forward bias ``b [out]``; recurrent_bias: learnable recurrent bias ``b_rec [out]``.

    Parameters: ``weight [out, in]``, ``recurrent_weight [out, out]`` (both initialised like ``nn.Linear``),
    ``bias``, ``recurrent_bias`` (``None`` when off).
    """

    def __init__(self, in_features: int, out_features: int, neuron: Neuron, bias: bool = False,
                 recurrent_bias: bool = False):
        super().__init__()
        self.in_features = _check_features(in_features, "in_features")
        self.out_features = _check_features(out_features, "out_features")
        if not isinstance(neuron, Neuron) or neuron.family not in F.STEPS:
            raise TypeError(f"Recurrent: neuron must be an nk.LIF / IF / PLIF / CubaLIF / ALIF instance, got "
                            f"{type(neuron).__name__}")
        self.neuron = neuron
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.recurrent_weight = nn.Parameter(torch.empty(out_features, out_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.recurrent_bias = nn.Parameter(torch.empty(out_features)) if recurrent_bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``nn.Linear``'s initialisation for both weights and biases."""
        for w, b in ((self.weight, self.bias), (self.recurrent_weight, self.recurrent_bias)):
            nn.init.kaiming_uniform_(w, a=math.sqrt(5))
            if b is not None:
                bound = 1.0 / math.sqrt(w.shape[1])
                nn.init.uniform_(b, -bound, bound)

    def _check(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"Recurrent: input must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 3 or x.shape[-1] != self.in_features:
            raise ValueError(f"Recurrent: expected x of shape [T, B, {self.in_features}], got {tuple(x.shape)}")
        n = self.out_features
        expected = {"weight": (n, self.in_features), "recurrent_weight": (n, n), "bias": (n,),
                    "recurrent_bias": (n,)}
        for name, shape in expected.items():
            p = getattr(self, name)
            if p is not None and tuple(p.shape) != shape:
                raise ValueError(f"Recurrent: {name} has shape {tuple(p.shape)}; expected {shape} "
                                 f"(in_features={self.in_features}, out_features={n})")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        ff = tf.linear(x, self.weight, self.bias)
        neuron = self.neuron
        params = neuron.params()
        if not neuron.store_v_seq and neuron.backend != "torch":
            from ..kernels.recurrent import run_recurrent
            spikes = run_recurrent(neuron.family, ff, self.recurrent_weight, self.recurrent_bias, params,
                                   neuron.surrogate, neuron.backend)
            if spikes is not None:
                return spikes
        spikes, v_seq = recurrent_reference(ff, self.recurrent_weight, self.recurrent_bias, neuron.family, params,
                                            neuron.surrogate)
        neuron.v_seq = v_seq if neuron.store_v_seq else None
        return spikes

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, "
                f"recurrent_bias={self.recurrent_bias is not None}")
