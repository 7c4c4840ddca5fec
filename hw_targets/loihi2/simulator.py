"""Fast, vectorized, bit-accurate simulation of a :class:`LoihiNetwork` (Lava ``fixed_pt`` semantics).

Per layer and time step ``t`` (lava-nc 0.10, ``lava/proc/lif/models.py`` and ``lava/proc/dense/models.py``; Lava's
``Dense``/``DelayDense``
bit-accurate models)::

    acc_k[t] = (sum_i mantissa[o, i] * s_in[t, i] over synapses with delay k) shifted by weight_exp
    a_in[t]  = sum_k acc_k[t - 1 - k]         # one step of synaptic latency, plus the delay k
    u, v, s  = integer_cuba_step(u, v, a_in[t] (+ bias), neuron)   # neurokit/integer.py

Because the network is feed-forward, each layer's synaptic input for all T steps is one integer
matrix product (exact in float64), and only the neuron recurrence loops over time. The neuron is the
project's single implementation, :func:`neurokit.integer.integer_cuba_step`. A ``dense_rec`` layer adds, per step,
its recurrent Dense on its own spikes of the step before (Lava's ``RecurrentDense``: the same one-step latency as
every Dense, so ``V s[t-1]`` reaches ``a_in`` at step ``t``), shifted by the shared weight exponent::

    a_in[t] += (sum_j mantissa_rec[o, j] * s[t - 1, j]) shifted by weight_exp      (s[-1] = 0)

Lava's Dense applies the weight exponent per delay bucket (``DelayDense``) or to the whole sum
(``Dense``), with NumPy's flooring ``>>``; that is reproduced exactly. A layer bias (netx ``bias``,
added by Lava to ``v`` as ``bias << 6``) is only allowed with ``iDecay = 4096``, where it equals adding
``bias`` to ``a_in``; the run checks that the current ``u`` cannot wrap, where that identity would fail.

A conv layer (netx ``conv`` block, Lava ``Conv`` / ``PyConvModelFixed``) uses its stored weights as they are
(no exponent), wraps the accumulation to 24 bits (``signed_clamp(x, bits=24)``) and has the same one-step
latency (it sends the previous step's buffer). Its bias is per channel. Activations stay in PyTorch's
``(C, H, W)`` order, flattened, which is netx's ``flatten`` order for a dense block after a conv block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from compile.capture_lava import LAVA_CONV_BITS as CONV_BITS  # Lava's Conv: signed_clamp(conv, bits=24)
from neurokit.integer import MAX_UV, IntNeuronParams, integer_cuba_step, wrap

from .network import InputLayer, LoihiLayer, LoihiNetwork

_A_MAX = MAX_UV >> 6  # |a_in| below this keeps a_in << 6 inside the 24-bit current (no wrap)
_A_IN_MAX = (1 << 15) - 1  # Lava LIF a_in: int16


def _as_spikes(spikes, n_in: int, graded: bool = False) -> np.ndarray:
    x = spikes.detach().cpu().numpy() if hasattr(spikes, "detach") else np.asarray(spikes)
    if x.ndim != 3 or x.shape[-1] != n_in:
        raise ValueError(f"spikes: expected [T, B, {n_in}], got shape {x.shape}")
    if graded:  # the a_in of an input neuron: Lava's LIF a_in is int16
        if x.size and (np.any(x != np.round(x)) or np.abs(x).max() > _A_IN_MAX):
            raise ValueError(f"input: an input neuron's drive a_in must be integers in -{_A_IN_MAX}..{_A_IN_MAX} "
                             "(Lava's int16 a_in)")
        return x.astype(np.int64)
    if x.size and not np.all((x == 0) | (x == 1)):
        raise ValueError("spikes: Loihi inputs must be binary spikes (0/1); encode real inputs first "
                         "(nk.encode.rate / latency / delta)")
    return x.astype(np.float64)


def synaptic_input(layer: LoihiLayer, s: np.ndarray) -> np.ndarray:
    """Activation ``a_in`` each neuron receives from its (Delay)Dense synapse, with the latency.

    Args:
        layer: the layer (its :attr:`LoihiLayer.synapse` encoding and optional delays are used).
        s: presynaptic spikes ``[T, B, in]`` (0/1, any real dtype).

    Returns:
        int64 ``[T, B, out]``: ``a_in[t]`` as Lava's LIF receives it at step ``t``.

    Example:
        >>> layer = LoihiLayer(np.array([[4, -2]]), 4096, 0, 1)
        >>> synaptic_input(layer, np.ones((3, 1, 2)))[:, 0, 0].tolist()
        [0, 2, 2]
    """
    if layer.conv is not None:
        a = np.zeros(s.shape[:2] + (layer.n_out,), np.int64)
        a[1:] = _conv_acc(layer, s[:-1])
        return a
    enc = layer.synapse
    T = s.shape[0]
    m = enc.mantissa.astype(np.float64)
    delays = np.zeros_like(enc.mantissa) if layer.delay is None else layer.delay
    a = np.zeros(s.shape[:2] + (layer.n_out,), np.int64)
    for k in np.unique(delays):
        k = int(k)
        if k + 1 >= T:
            continue
        mk = m if layer.delay is None else np.where(delays == k, m, 0.0)
        acc = np.rint(s[: T - 1 - k] @ mk.T).astype(np.int64)
        acc = acc << enc.weight_exp if enc.weight_exp > 0 else acc >> -enc.weight_exp
        a[1 + k:] += acc
    return a


def conv_sum(layer: LoihiLayer, s: np.ndarray) -> np.ndarray:
    """The exact conv accumulation of ``s [T, B, C*H*W]`` (spikes or graded messages) by ``layer``'s kernel -> int64
    ``[T, B, n_out]``, before Lava's 24-bit wrap (what the integer reference computes).

    Example: ``np.abs(conv_sum(layer, msgs)).max() < 2**23`` holds when Lava's ``Conv`` does not wrap.
    """
    g = layer.conv
    if not s.size:
        return np.zeros(s.shape[:2] + (layer.n_out,), np.int64)
    x = torch.from_numpy(np.ascontiguousarray(s, np.float64).reshape(-1, *g.in_shape))
    w = torch.from_numpy(layer.weight.astype(np.float64))
    y = F.conv2d(x, w, stride=g.stride, padding=g.padding, dilation=g.dilation, groups=g.groups)
    return np.rint(y.numpy()).astype(np.int64).reshape(s.shape[0], s.shape[1], -1)  # exact: |acc| << 2**53


def _conv_acc(layer: LoihiLayer, s: np.ndarray) -> np.ndarray:
    """Lava ``Conv`` accumulation of spikes ``s [T, B, C*H*W]`` -> int64 ``[T, B, n_out]`` (24-bit wrap)."""
    return wrap(conv_sum(layer, s), CONV_BITS)


def _neuron(layer: LoihiLayer | InputLayer) -> IntNeuronParams:
    return IntNeuronParams(decay_u=layer.i_decay, decay_v=layer.v_decay,
                           vth=np.array(layer.vth_mant, np.int64), reset="hard")


def _run_neuron(a: np.ndarray, p: IntNeuronParams, trace_v: bool):
    u = np.zeros(a.shape[1:], np.int64)
    v = np.zeros_like(u)
    out = np.empty(a.shape, np.uint8)
    vs = np.empty(a.shape, np.int64) if trace_v else None
    for t in range(a.shape[0]):
        u, v, st = integer_cuba_step(u, v, a[t], p)
        out[t] = st
        if trace_v:
            vs[t] = v
    return (out, vs) if trace_v else out


def run_layer(layer: LoihiLayer, s: np.ndarray, trace_v: bool = False):
    """Output spikes ``[T, B, out]`` (uint8) of one layer for input spikes ``s`` ``[T, B, in]``.

    With ``trace_v=True`` returns ``(spikes, v)`` where ``v`` (int64 ``[T, B, out]``) is the voltage
    after each step (after the reset), as a Lava ``Monitor`` on ``neuron.v`` records it.

    Example:
        >>> layer = LoihiLayer(np.array([[4, -2]]), 4096, 0, 1)
        >>> run_layer(layer, np.ones((3, 1, 2)))[:, 0, 0].tolist()
        [0, 1, 1]
    """
    a = synaptic_input(layer, s)
    if layer.bias is not None:
        a = a + (np.repeat(layer.bias, layer.n_out // layer.bias.size) if layer.conv else layer.bias)
        if np.abs(a).max(initial=0) >= _A_MAX:
            raise OverflowError(f"layer {layer.name!r}: |a_in + bias| reaches {np.abs(a).max()} >= {_A_MAX}; "
                                "the 24-bit current would wrap and a bias cannot be folded exactly")
    p = _neuron(layer)
    if layer.weight_rec is not None:
        return _run_recurrent(layer, a, p, trace_v)
    return _run_neuron(a, p, trace_v)


def _run_recurrent(layer: LoihiLayer, a: np.ndarray, p: IntNeuronParams, trace_v: bool):
    """:func:`run_layer` of a ``dense_rec`` layer: per step, ``a_in[t] = a[t] + (mantissa_rec s[t-1]) shifted by
    weight_exp`` (Lava's recurrent Dense sends the previous step's accumulation; ``s[-1] = 0``), then the neuron."""
    rec = layer.synapse_rec
    u = np.zeros(a.shape[1:], np.int64)
    v, st = np.zeros_like(u), np.zeros_like(u)
    out = np.empty(a.shape, np.uint8)
    vs = np.empty(a.shape, np.int64) if trace_v else None
    for t in range(a.shape[0]):
        a_t = a[t] + _shift(st @ rec.mantissa.T, rec.weight_exp)
        if layer.bias is not None and np.abs(a_t).max(initial=0) >= _A_MAX:
            raise OverflowError(f"layer {layer.name!r}: |a_in + bias| reaches {np.abs(a_t).max()} >= {_A_MAX} "
                                f"at step {t}; the 24-bit current would wrap and a bias cannot be folded exactly")
        u, v, st = integer_cuba_step(u, v, a_t, p)
        out[t] = st
        if trace_v:
            vs[t] = v
    return (out, vs) if trace_v else out


def _shift(acc: np.ndarray, weight_exp: int) -> np.ndarray:
    """Lava Dense's exponent on an accumulation: ``<<`` if positive, NumPy's flooring ``>>`` otherwise."""
    return acc << weight_exp if weight_exp > 0 else acc >> -weight_exp


@dataclass
class SimRecord:
    """Everything one run observed: ``spikes[l]`` uint8 ``[T, B, n_l]`` per Lava block (the input layer's first when
    the network has one, then layers 1..L) and ``v_last``
    (int64 ``[T, B, n_L]``), the last layer's voltage (the readout membrane of a non-spiking output)."""

    spikes: list[np.ndarray]
    v_last: np.ndarray


def simulate(net: LoihiNetwork, spikes, record: bool = False) -> np.ndarray | SimRecord:
    """Run ``net`` on input spikes exactly as Lava's ``Loihi2SimCfg(select_tag="fixed_pt")`` does.

    Every layer adds one step of synaptic latency (plus its synaptic delays), so output step ``t``
    reflects input up to step ``t - L``. All samples of the batch start at rest. A network with an input layer
    (:class:`InputLayer`, a netx input block with a neuron) feeds ``spikes`` to that neuron as its ``a_in``
    (integers, no latency), whose spikes drive layer 1.

    Args:
        net: the network.
        spikes: 0/1 input spikes ``[T, B, n_in]`` (NumPy array or torch tensor); a conv-first network's
            ``[T, B, C, H, W]`` flattened in ``(C, H, W)`` order; with an input layer, integers in -32767..32767.
        record: also return every layer's spikes.

    Returns:
        uint8 output spikes ``[T, B, n_L]``; with ``record=True`` a :class:`SimRecord`. A sigma-delta network
        (:mod:`hw_targets.loihi2.sdnn`) takes integer inputs and gives int64 graded messages; its ``v_last`` is the
        last block's ``sigma``.

    Example:
        >>> net = LoihiNetwork(2, [LoihiLayer(np.array([[4, -2]]), 4096, 0, 1)])
        >>> simulate(net, np.ones((3, 1, 2)))[:, 0, 0].tolist()
        [0, 1, 1]
    """
    from .sdnn import is_sdnn

    if is_sdnn(net):
        return _simulate_sdnn(net, spikes, record)
    s = _as_spikes(spikes, net.n_in, graded=net.input_layer is not None)
    outs = []
    if net.input_layer is not None:
        outs.append(_run_neuron(s, _neuron(net.input_layer), False))
        s = outs[-1].astype(np.float64)
    for layer in net.layers[:-1]:
        outs.append(run_layer(layer, s))
        s = outs[-1].astype(np.float64)
    last, v_last = run_layer(net.layers[-1], s, trace_v=True)
    outs.append(last)
    return SimRecord(outs, v_last) if record else last


def _simulate_sdnn(net: LoihiNetwork, x, record: bool) -> np.ndarray | SimRecord:
    from .sdnn import check_sdnn, run_sdnn_input, run_sdnn_layer

    check_sdnn(net)
    x = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    if x.ndim != 3 or x.shape[-1] != net.n_in:
        raise ValueError(f"input: expected [T, B, {net.n_in}], got shape {x.shape}")
    if x.size and np.any(x != np.round(x)):
        raise ValueError("input: a sigma-delta network's input must be integers (graded values)")
    s = x.astype(np.int64)
    outs = []
    if net.input_layer is not None:
        s = run_sdnn_input(net.input_layer, s)
        outs.append(s)
    sigma = None
    for layer in net.layers:
        s, sigma = run_sdnn_layer(layer, s)
        outs.append(s)
    return SimRecord(outs, sigma) if record else s
