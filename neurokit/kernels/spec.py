"""One description of a neuron time loop that every fused backend (CPU, Triton) understands.

All neuron families (LIF, IF, PLIF, CubaLIF, ALIF) are one recurrence with switches, per neuron and step ``t``
(``u`` is the input the membrane sees, ``k`` the membrane decay ``1/tau``, ``vr = v_reset`` or 0)::

    u_t  = i_t = i_{t-1} * syn_decay + x_t           if cuba   else  x_t
    b_t  = b_{t-1} * rho + s_{t-1} * one_minus_rho   if alif;  th_t = v_threshold + beta * b_t  (else v_threshold)
    h_t  = v + (u_t - (v - vr)) * k                  if decay_input
         = v - (v - vr) * k + u_t                    otherwise      (IF: k = 0)
    h_t  = h_t - v_threshold * s_{t-1}               if reset_after_decay (soft reset only)
    s_t  = (h_t - th_t > 0)
    v_t  = h_t * (1 - s_t) + vr * s_t   (hard)  |  h_t - th_t * s_t  (soft)  |  h_t  (reset_after_decay)

The operations are in the same order as :mod:`neurokit.neurons.functional` so fp32 spikes are bit-identical.

Example::

    >>> spec = build_spec("lif", LIFParams(tau=2.0), nk.surrogate.get("atan"))
    >>> spec.flags[:3], spec.k
    ((1, 1, 0), 0.5)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch

from ..surrogate import SURROGATE_IDS, Surrogate

__all__ = ["KernelSpec", "build_spec", "FAMILIES", "saved_bytes_per_step"]

FAMILIES = ("lif", "if", "plif", "cuba_lif", "alif")

# positions in KernelSpec.flags
DECAY_INPUT, HARD_RESET, DETACH, RAD, CUBA, ALIF, LEARN_K, SG_ID = range(8)
# positions in KernelSpec.scalars
VTH, VR, SYN_DECAY, RHO, ONE_MINUS_RHO, BETA, P0, P1, P2 = range(9)


@dataclass(frozen=True)
class KernelSpec:
    """Switches (``flags``, ints) and constants (``scalars``) of one neuron configuration.

    Constants are Python floats computed in double exactly as the reference computes its scalar operands; the
    kernels round them to fp32 at launch, as torch does with a scalar operand of a float32 tensor op.

    ``k`` is the membrane decay ``1/tau`` as a float, or ``None`` when it is a learnable tensor (PLIF), passed
    separately as ``k_tensor``.
    """

    flags: tuple
    scalars: tuple
    k: Optional[float]
    k_tensor: Optional[torch.Tensor] = None

    @property
    def learn_k(self) -> bool:
        return bool(self.flags[LEARN_K])


def _surrogate_scalars(sg: Surrogate) -> tuple[int, float, float, float]:
    p = sg.params
    n = sg.name
    if n == "atan":
        return SURROGATE_IDS[n], float(p["alpha"] / 2), float(math.pi / 2 * p["alpha"]), 0.0
    if n == "sigmoid":
        return SURROGATE_IDS[n], float(p["alpha"]), 0.0, 0.0
    if n == "fast_sigmoid":
        return SURROGATE_IDS[n], float(p["slope"]), 0.0, 0.0
    if n in ("triangle", "rectangle"):
        return SURROGATE_IDS[n], float(p["width"]), 0.0, 0.0
    if n == "ste":
        return SURROGATE_IDS[n], math.inf if p["clip"] is None else float(p["clip"]), 0.0, 0.0
    if n == "reste":
        return SURROGATE_IDS[n], float(1.0 / p["o"]), float(p["t"]), float(p["interval"])
    if n == "biper":
        return SURROGATE_IDS[n], float(p["freq"]), 0.0, 0.0
    raise ValueError(f"surrogate: no fused-kernel formula for {n!r}; expected one of {sorted(SURROGATE_IDS)}")


def build_spec(family: str, params, surrogate: Surrogate) -> KernelSpec:
    """Translate a family name + its ``*Params`` dataclass + a surrogate into a :class:`KernelSpec`.

    Args:
        family: one of :data:`FAMILIES`.
        params: ``LIFParams`` (lif/if/plif), ``CubaLIFParams`` or ``ALIFParams``.
        surrogate: a :class:`neurokit.surrogate.Surrogate`.

    Raises:
        ValueError: unknown family, or a parameter combination the kernels do not implement.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    hard = params.v_reset is not None
    vr = float(params.v_reset) if hard else 0.0
    rad = bool(getattr(params, "reset_after_decay", False)) and not hard
    sg_id, p0, p1, p2 = _surrogate_scalars(surrogate)
    syn_decay = rho = one_minus_rho = beta = 0.0
    k_tensor = None
    decay_input = bool(getattr(params, "decay_input", False))
    if family == "if":
        k, decay_input = 0.0, False
    elif family == "cuba_lif":
        k, decay_input = float(1.0 / params.tau_mem), False
        syn_decay = float(1.0 - 1.0 / params.tau_syn)
    elif isinstance(params.tau, torch.Tensor):
        if params.tau.numel() != 1:
            raise ValueError(f"params.tau must be a float or a 0-d tensor, got shape {tuple(params.tau.shape)}")
        k = None
        k_tensor = (1.0 / params.tau).reshape(()).float()
    else:
        k = float(1.0 / params.tau)
    if family == "alif":
        rho_d = 1.0 - 1.0 / params.tau_adapt
        rho, one_minus_rho, beta = float(rho_d), float(1.0 - rho_d), float(params.beta)
    flags = (int(decay_input), int(hard), int(params.detach_reset), int(rad), int(family == "cuba_lif"),
             int(family == "alif"), int(k is None), sg_id)
    scalars = (float(params.v_threshold), vr, syn_decay, rho, one_minus_rho, beta, p0, p1, p2)
    return KernelSpec(flags, scalars, k, k_tensor)


def saved_bytes_per_step(spec: KernelSpec, dtype: torch.dtype) -> int:
    """Bytes kept for backward per neuron-step (the contract the tests measure).

    fp32 input: ``h`` in fp32 (4 B); spikes are recomputed from it exactly. bf16/fp16 input: ``h`` in the input
    precision (2 B) plus the spikes as uint8 (1 B), since spikes cannot be recomputed from a rounded ``h``.
    ALIF adds the threshold ``th_t`` in the same precision as ``h``; PLIF with ``decay_input`` keeps ``x`` (input
    precision) for the gradient of ``tau``.
    """
    d = 4 if dtype == torch.float32 else 2
    total = d if dtype == torch.float32 else d + 1
    if spec.flags[ALIF]:
        total += d
    if spec.learn_k and spec.flags[DECAY_INPUT]:
        total += d
    return total
