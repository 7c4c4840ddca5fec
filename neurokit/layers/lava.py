"""Trainable layers whose forward is Lava's bit-accurate fixed-point arithmetic (``Loihi2SimCfg("fixed_pt")``):
the netx blocks of a lava-dl network, as :func:`neurokit.from_netx` builds them.

Integer semantics (lava-nc ``lava/proc/lif/models.py`` ``PyLifModelBitAcc``, ``lava/proc/dense/models.py``,
``lava/proc/conv/models.py``; :mod:`neurokit.integer` implements the neuron step once):

* **Synapse** (:class:`LavaDense`, :class:`LavaConv2d`): integer weights ``clamp(round(weight), -256, 254)`` (the
  float ``weight`` parameter is the trainable shadow; its integers are what netx stores). A step's accumulation
  reaches the neuron one step later (Lava's Dense / Conv send the previous step's buffer), plus the synaptic delay
  ``k`` of :class:`LavaDense`'s ``delay`` (``(out, in)``, 0..62). A conv accumulation wraps at 24 bits.
* **Recurrent block** (:class:`LavaRecurrentBlock`, netx ``dense_rec``, Lava's ``RecurrentDense``): a second Dense
  ``synapse_rec`` ``V [out, out]`` from the population's own spikes, with the same one-step latency:
  ``a_in[t] = W s_in[t - 1] + V s_out[t - 1]`` (``s_out[-1] = 0``). netx encodes ``hstack(W, V)`` with one exponent;
  the applied weights are the stored integers wherever ``LoihiLayer.exact_weights`` holds, which ``nk.from_netx``
  checks.
* **Neuron** (:class:`LavaCubaLIF`): ``u = u * (4096 - i_decay) / 4096 + (a_in << 6)`` (toward zero, 24-bit
  wrap), ``v = v * (4096 - v_decay) / 4096 + u`` (saturating), spike where ``v > vth_mant << 6``, ``v = 0`` after
  a spike (:func:`neurokit.integer.integer_cuba_step`). ``bias`` (``bias_mant``, only with ``i_decay = 4096``)
  adds ``bias`` to ``a_in`` each step (Lava adds ``bias << 6`` to ``v``: the same without current memory).

Training: the forward values are those integers exactly (int64 step); gradients flow through the float64 path
``u * (1 - i_decay/4096) + 64 a``, ``v * (1 - v_decay/4096) + u`` and the rounding of the weights straight through,
with the surrogate on ``(v - vth) / vth`` (``vth = vth_mant << 6``).

Example::

    >>> block = LavaBlock(LavaDense(torch.tensor([[8.0, -8.0]])), LavaCubaLIF(1024, 128, 10))
    >>> block((torch.rand(6, 1, 2) < 0.5).float()).shape          # [T, B, in] -> spikes [T, B, out]
    torch.Size([6, 1, 1])
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import integer
from .. import surrogate as _surrogate

__all__ = ["LavaBlock", "LavaConv2d", "LavaCubaLIF", "LavaDense", "LavaInput", "LavaLatency", "LavaRecurrentBlock"]

#: netx's weight range (``optimize_weight_bits`` clips to it).
WEIGHT_MIN, WEIGHT_MAX = -256, 254
_SHIFT = integer.ACT_SHIFT  # Lava: act_shift = vth_shift = 6


def _int_ste(w: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """``clamp(round(w), lo, hi)`` forward, identity gradient."""
    return w + (torch.clamp(torch.round(w), lo, hi) - w).detach()


def _one_step(x: torch.Tensor) -> torch.Tensor:
    """Lava's one step of synaptic latency over ``[T, B, ...]``: ``y[t] = x[t - 1]``, ``y[0] = 0``."""
    return F.pad(x[:-1], (0, 0) * (x.dim() - 1) + (1, 0))


class LavaDense(nn.Module):
    """netx ``dense`` synapse: ``weight [out, in]`` (float shadow of the integers), optional integer ``delay``
    ``[out, in]`` (a buffer). ``forward(s [T, B, in]) -> a_in [T, B, out]`` with one step of latency plus the delay.

    Example:
        >>> LavaDense(torch.tensor([[4.0, -2.0]]))(torch.ones(3, 1, 2))[:, 0, 0].tolist()
        [0.0, 2.0, 2.0]
    """

    def __init__(self, weight: torch.Tensor, delay: torch.Tensor | None = None):
        super().__init__()
        self.weight = nn.Parameter(torch.as_tensor(weight, dtype=torch.float64).clone())
        if self.weight.dim() != 2:
            raise ValueError(f"LavaDense: weight must be [out, in], got shape {tuple(self.weight.shape)}")
        if delay is not None:
            delay = torch.as_tensor(delay, dtype=torch.long)
            if delay.shape != self.weight.shape or delay.min() < 0 or delay.max() > 62:
                raise ValueError(f"LavaDense: delay must be integers 0..62 of shape {tuple(self.weight.shape)}, got "
                                 f"shape {tuple(delay.shape)}")
        self.register_buffer("delay", delay)

    def int_weight(self) -> torch.Tensor:
        """The integers netx stores (int64 ``[out, in]``)."""
        return torch.clamp(torch.round(self.weight.detach()), WEIGHT_MIN, WEIGHT_MAX).long()

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        w = _int_ste(self.weight, WEIGHT_MIN, WEIGHT_MAX)
        s = s.to(w.dtype)
        out = s.new_zeros(s.shape[:-1] + (w.shape[0],))
        steps = s.shape[0]
        delays = [0] if self.delay is None else torch.unique(self.delay).tolist()
        for k in delays:
            if k + 1 >= steps:
                continue
            wk = w if self.delay is None else torch.where(self.delay == k, w, torch.zeros_like(w))
            out = out + F.pad(s[: steps - 1 - k] @ wk.T, (0, 0, 0, 0, 1 + k, 0))
        return out


class LavaConv2d(nn.Module):
    """netx ``conv`` synapse: PyTorch's kernel ``weight [C_out, C_in / groups, kH, kW]`` (float shadow of the
    integers), geometry ``(h, w)`` pairs. ``forward(s [T, B, C, H, W]) -> a_in [T, B, C_out, H', W']``: one step of
    latency, 24-bit wrap (Lava's ``Conv``).

    Example:
        >>> LavaConv2d(torch.ones(1, 1, 2, 2))(torch.ones(2, 1, 1, 3, 3)).shape
        torch.Size([2, 1, 1, 2, 2])
    """

    def __init__(self, weight: torch.Tensor, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups: int = 1):
        super().__init__()
        self.weight = nn.Parameter(torch.as_tensor(weight, dtype=torch.float64).clone())
        if self.weight.dim() != 4:
            raise ValueError(f"LavaConv2d: weight must be [C_out, C_in / groups, kH, kW], got "
                             f"shape {tuple(self.weight.shape)}")
        self.stride, self.padding, self.dilation = (tuple(int(v) for v in p) for p in (stride, padding, dilation))
        self.groups = int(groups)

    def int_weight(self) -> torch.Tensor:
        """The integers netx stores (int64, the kernel's shape)."""
        return torch.clamp(torch.round(self.weight.detach()), WEIGHT_MIN, WEIGHT_MAX).long()

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        w = _int_ste(self.weight, WEIGHT_MIN, WEIGHT_MAX)
        steps, batch = s.shape[:2]
        y = F.conv2d(s.reshape(-1, *s.shape[2:]).to(w.dtype), w, stride=self.stride, padding=self.padding,
                     dilation=self.dilation, groups=self.groups)
        y = y + (integer.wrap(y.detach(), 24) - y.detach())  # Lava's 24-bit conv wrap, identity gradient
        return _one_step(y.reshape(steps, batch, *y.shape[1:]))


class LavaCubaLIF(nn.Module):
    """Lava's CUBA LIF (module docstring) on integer input ``a_in [T, B, ...]``: ``i_decay``, ``v_decay``
    (0..4096), ``vth_mant`` (the spike condition is ``v > vth_mant << 6``; values above 131071 never fire),
    optional trainable ``bias`` (per neuron, or per channel ``[C]`` for a conv map; needs ``i_decay = 4096``).
    ``forward(a) -> spikes`` (0/1, like ``a``); ``self.v`` keeps the last run's voltage after each step.
    ``forward(a, weight_rec)``: each step also receives ``weight_rec [out, out]`` (integer-valued) times the
    population's spikes of the step before (:class:`LavaRecurrentBlock`; gradients flow through those spikes).

    Example:
        >>> LavaCubaLIF(4096, 0, 1)(torch.tensor([[[0.0]], [[2.0]], [[2.0]]]))[:, 0, 0].tolist()
        [0.0, 1.0, 1.0]
    """

    def __init__(self, i_decay: int, v_decay: int, vth_mant: int, bias: torch.Tensor | None = None,
                 surrogate: str = "atan"):
        super().__init__()
        self.i_decay, self.v_decay, self.vth_mant = int(i_decay), int(v_decay), int(vth_mant)
        integer.IntNeuronParams(self.i_decay, self.v_decay, np.array(self.vth_mant))  # validates the ranges
        if bias is not None and self.i_decay != integer.DECAY_UNITY:
            raise ValueError(f"LavaCubaLIF: a bias needs i_decay = 4096 (got {self.i_decay}): Lava adds it to v")
        self.bias = None if bias is None else nn.Parameter(torch.as_tensor(bias, dtype=torch.float64).clone())
        self.surrogate = _surrogate.get(surrogate)
        self.v: torch.Tensor | None = None

    def params(self) -> integer.IntNeuronParams:
        """The integer neuron (:class:`neurokit.integer.IntNeuronParams`, Lava's format ``(6, 6, 24)``)."""
        return integer.IntNeuronParams(self.i_decay, self.v_decay, np.array(self.vth_mant, np.int64), "hard")

    def int_bias(self) -> torch.Tensor | None:
        """The integer ``bias_mant`` (int64) or None."""
        return None if self.bias is None else torch.round(self.bias.detach()).long()

    def forward(self, a: torch.Tensor, weight_rec: torch.Tensor | None = None) -> torch.Tensor:
        a = a.to(torch.float64)
        if self.bias is not None:
            b = _int_ste(self.bias, -4096, 4095)
            a = a + (b.reshape(-1, *[1] * (a.dim() - 3)) if a.dim() > 3 else b)
        p, th = self.params(), float(self.vth_mant << _SHIFT)
        ku, kv = 1.0 - self.i_decay / 4096.0, 1.0 - self.v_decay / 4096.0
        u_i = v_i = torch.zeros(a.shape[1:], dtype=torch.long, device=a.device)
        u_f = v_f = torch.zeros(a.shape[1:], dtype=torch.float64, device=a.device)
        spikes, vs = [], []
        for t in range(a.shape[0]):
            a_t = a[t] if weight_rec is None or not t else a[t] + spikes[-1] @ weight_rec.T  # exact integers
            u_i, v_i_pre = integer.integer_cuba_charge(u_i, v_i, a_t.detach().round().long(), p)
            v_i, s_i = integer.integer_cuba_fire(v_i_pre, p)
            u_f = u_f * ku + a_t * 2.0 ** _SHIFT
            u_f = u_f + (u_i.to(u_f.dtype) - u_f).detach()
            v_f = v_f * kv + u_f
            v_f = v_f + (v_i_pre.to(v_f.dtype) - v_f).detach()
            sg = self.surrogate.spike((v_f - th) / max(th, 1.0))
            s = sg + (s_i.to(sg.dtype) - sg).detach()
            v_f = v_f * (1.0 - s.detach())
            spikes.append(s)
            vs.append(v_i)
        self.v = torch.stack(vs)
        return torch.stack(spikes)


class LavaBlock(nn.Module):
    """One netx block: ``synapse`` (:class:`LavaDense` / :class:`LavaConv2d`) feeding ``neuron``
    (:class:`LavaCubaLIF`). ``netx``: the datasets of the block it was read from, ``network``: the file's own
    (``simulation/*``, the input block; on the first block), written back by the ``loihi2`` target where they still
    hold. ``forward(s [T, B, ...]) -> spikes``.

    Example in the module docstring.
    """

    def __init__(self, synapse: nn.Module, neuron: LavaCubaLIF, netx: dict | None = None,
                 network: dict | None = None):
        super().__init__()
        self.synapse, self.neuron = synapse, neuron
        self.netx, self.network = dict(netx or {}), dict(network or {})

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.neuron(self.synapse(s))


class LavaRecurrentBlock(LavaBlock):
    """One netx ``dense_rec`` block (Lava's ``RecurrentDense``): ``synapse`` (:class:`LavaDense` ``W [out, in]``, no
    delays) and ``synapse_rec`` (:class:`LavaDense` ``V [out, out]``, the float shadow of the stored ``weight_rec``)
    feeding ``neuron``: ``a_in[t] = W s_in[t - 1] + V s_out[t - 1]`` (module docstring). ``netx`` / ``network`` as
    :class:`LavaBlock`. ``forward(s [T, B, in]) -> spikes [T, B, out]``.

    Example:
        >>> block = LavaRecurrentBlock(LavaDense(torch.tensor([[8.0], [0.0]])), LavaDense(torch.tensor([[0.0, 0.0],
        ...                            [8.0, 0.0]])), LavaCubaLIF(4096, 4096, 4))
        >>> block(torch.tensor([[[1.0]], [[0.0]], [[0.0]]]))[:, 0].tolist()    # neuron 1 fires from neuron 0's spike
        [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    """

    def __init__(self, synapse: LavaDense, synapse_rec: LavaDense, neuron: LavaCubaLIF, netx: dict | None = None,
                 network: dict | None = None):
        super().__init__(synapse, neuron, netx, network)
        out = synapse.weight.shape[0]
        if synapse.delay is not None or synapse_rec.delay is not None:
            raise ValueError("LavaRecurrentBlock: a dense_rec block has no synaptic delays")
        if tuple(synapse_rec.weight.shape) != (out, out):
            raise ValueError(f"LavaRecurrentBlock: synapse_rec weight must be square ({out}, {out}) (out, out), got "
                             f"shape {tuple(synapse_rec.weight.shape)}")
        self.synapse_rec = synapse_rec

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.neuron(self.synapse(s), _int_ste(self.synapse_rec.weight, WEIGHT_MIN, WEIGHT_MAX))


class LavaInput(nn.Module):
    """netx input block with a neuron: :class:`LavaCubaLIF` driven directly by the network input (``a_in``, no
    synapse, no latency). ``forward(a [T, B, ...]) -> spikes``.

    Example:
        >>> LavaInput(LavaCubaLIF(4096, 0, 1))(torch.full((2, 1, 3), 2.0)).sum().item()
        6.0
    """

    def __init__(self, neuron: LavaCubaLIF):
        super().__init__()
        self.neuron = neuron

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.neuron(a)


class LavaLatency(nn.Module):
    """Lava's one step of synaptic latency on its own (a Dense / Conv sends the previous step's accumulation):
    ``y[t] = x[t - 1]``, ``y[0] = 0``, over ``[T, B, ...]``. ``nk.from_netx`` puts it after each synapse of a
    sigma-delta network, whose synapses are plain float layers (:mod:`hw_targets.loihi2.netx_sdnn_model`).

    Example:
        >>> LavaLatency()(torch.tensor([[1.0], [2.0], [3.0]])).flatten().tolist()
        [0.0, 1.0, 2.0]
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() < 2:
            raise ValueError(f"LavaLatency: expected [T, B, ...], got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        return _one_step(x)
